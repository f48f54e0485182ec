/**
 * The viewer's HTTP server: 127.0.0.1 only, a random port, and a random token every request must
 * carry (in the query, or in the path for the page's scripts), with a Host header naming this
 * address (against DNS rebinding). Serves the page, the compiled client as files, the trace's
 * metadata, windows of tracks at the detail their pixels show, events on demand and search.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { projectPath } from '../base/project-root.js';
import { gzipSync } from 'node:zlib';
import { toJsonText } from '../analysis/event.js';
import { encodeBlock } from './schema.js';
import { answerWindow, eventByRef, eventNear, search } from './queries.js';
import type { ViewData } from './view-data.js';
import { STYLE, viewerPage } from './page.js';

export interface Viewer {
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'";

function send(res: ServerResponse, status: number, type: string, body: Uint8Array | string, gzip = false): void {
  const data = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const headers: Record<string, string | number> = {
    'content-type': type,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'content-security-policy': CSP,
  };
  if (gzip) headers['content-encoding'] = 'gzip';
  headers['content-length'] = data.length;
  res.writeHead(status, headers);
  res.end(data);
}

/** The compiled client's files (tsc's dist/src/web/client/*.js and the shared schema), read once. */
const WEB_DIR = projectPath('dist/src/web') + '/';
const scripts = new Map<string, Buffer>();
function script(path: string): Buffer | undefined {
  if (!/^(client\/[a-z0-9-]+|schema)\.js$/.test(path)) return undefined;
  let b = scripts.get(path);
  if (!b) {
    try {
      b = readFileSync(WEB_DIR + path);
    } catch {
      return undefined;
    }
    scripts.set(path, b);
  }
  return b;
}

export interface ViewerOptions {
  port?: number;
  /** Makes the side panel's JSON (summary.ts): called at the page's first ask, after its first paint, so its pass does not compete with it. */
  summary?: () => Promise<string>;
}

const num = (v: string | null, dflt: number) => (v === null || v === '' || !Number.isFinite(Number(v)) ? dflt : Number(v));

export async function startViewer(d: ViewData, opts: ViewerOptions = {}): Promise<Viewer> {
  const token = randomBytes(18).toString('base64url');
  const tokenBuf = Buffer.from(token);
  const meta = gzipSync(toJsonText(d.meta, 0), { level: 1 });
  const page = viewerPage(d.meta.title, token);
  let summary: Buffer | undefined;
  let summaryError: string | undefined;
  let summaryStarted = false;
  const summaryWaiters: (() => void)[] = [];
  const startSummary = () => {
    if (summaryStarted) return;
    summaryStarted = true;
    void (opts.summary?.() ?? Promise.resolve('{}'))
      .then(
        (j) => (summary = gzipSync(j, { level: 1 })),
        (e: Error) => (summaryError = e.message),
      )
      .finally(() => summaryWaiters.splice(0).forEach((f) => f()));
  };
  let port = 0;
  const okToken = (given: string | null | undefined) => {
    if (!given) return false;
    const b = Buffer.from(given);
    return b.length === tokenBuf.length && timingSafeEqual(b, tokenBuf);
  };
  const json = (res: ServerResponse, v: unknown) => (v === undefined ? send(res, 404, 'application/json', '{"error":"not found"}') : send(res, 200, 'application/json', toJsonText(v, 0)));
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const host = req.headers.host ?? '';
    if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) return send(res, 403, 'text/plain', 'forbidden host\n');
    if (req.method !== 'GET') return send(res, 405, 'text/plain', 'GET only\n');
    const inPath = /^\/s\/([^/]+)\/(.+)$/.exec(url.pathname);
    if (inPath) {
      if (!okToken(decodeURIComponent(inPath[1]!))) return send(res, 403, 'text/plain', 'missing or wrong token: open the URL lkst printed\n');
      if (inPath[2] === 'style.css') return send(res, 200, 'text/css', STYLE);
      const s = script(inPath[2]!);
      return s ? send(res, 200, 'text/javascript', s) : send(res, 404, 'text/plain', 'not found\n');
    }
    if (!okToken(url.searchParams.get('token'))) return send(res, 403, 'text/plain', 'missing or wrong token: open the URL lkst printed\n');
    const q = url.searchParams;
    switch (url.pathname) {
      case '/':
        return send(res, 200, 'text/html; charset=utf-8', page);
      case '/api/meta':
        return send(res, 200, 'application/json', meta, true);
      case '/api/window': {
        const t0 = num(q.get('t0'), 0);
        const t1 = num(q.get('t1'), d.meta.end);
        if (!(t1 > t0)) return send(res, 400, 'text/plain', 't1 must be after t0\n');
        const w = answerWindow(d, { t0, t1, px: num(q.get('px'), 1000), tracks: (q.get('tracks') ?? '').split(',').filter(Boolean) });
        return send(res, 200, 'application/octet-stream', encodeBlock(w.meta, w.cols));
      }
      case '/api/event': {
        const ref = q.get('ref');
        return json(res, ref ? eventByRef(d, ref) : eventNear(d, q.get('track') ?? '', num(q.get('t'), 0), Math.max(0, num(q.get('tol'), 0))));
      }
      case '/api/search':
        return json(res, search(d, q.get('q') ?? '', num(q.get('t'), -1), q.get('dir') === 'prev' ? -1 : 1));
      case '/api/summary': {
        const reply = () => (summary ? send(res, 200, 'application/json', summary, true) : send(res, 500, 'application/json', toJsonText({ error: summaryError ?? 'no summary' }, 0)));
        if (summary || summaryError) return reply();
        summaryWaiters.push(reply);
        startSummary();
        return;
      }
      default:
        return send(res, 404, 'text/plain', 'not found\n');
    }
  };
  const server: Server = createServer((req, res) => {
    try {
      handle(req, res);
    } catch (err) {
      send(res, 500, 'text/plain', `error: ${(err as Error).message}\n`);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/?token=${token}`,
    port,
    token,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

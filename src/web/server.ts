/**
 * The viewer's HTTP server: 127.0.0.1 only, a random port, and a random token every request must
 * carry (and a Host header naming this address, against DNS rebinding). Serves the page, the
 * timeline blob, the analysis summary, and one event's decoded fields on demand.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { TraceEvent, jsonValue } from '../analysis/event.js';
import { toJsonText } from '../analysis/event.js';
import { encodeTimeline, type Timeline } from './timeline.js';
import { viewerPage } from './page.js';

export interface Viewer {
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, type: string, body: Buffer | string, gzip = false): void {
  const data = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const headers: Record<string, string | number> = {
    'content-type': type,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'content-security-policy': "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:",
  };
  if (gzip) headers['content-encoding'] = 'gzip';
  headers['content-length'] = data.length;
  res.writeHead(status, headers);
  res.end(data);
}

/** One event's details: time, CPU, task, event and decoded fields. */
export function eventDetails(t: Timeline, i: number): Record<string, unknown> | undefined {
  if (!Number.isInteger(i) || i < 0 || i >= t.ev.ts.length) return undefined;
  const ev = new TraceEvent();
  ev.buf = t.arena;
  ev.off = t.ev.recOff[i]!;
  ev.len = t.ev.recLen[i]!;
  ev.fmt = t.formats[t.ev.type[i]!];
  ev.id = ev.fmt?.id ?? -1;
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(ev.fields())) fields[k] = jsonValue(v);
  const pid = t.ev.pid[i]!;
  return {
    index: i,
    ts: t.meta.start + t.ev.ts[i]!,
    rel: t.ev.ts[i],
    cpu: t.ev.cpu[i],
    pid,
    comm: t.meta.tasks.find((x) => x.pid === pid)?.comm ?? (pid === 0 ? 'swapper' : ''),
    event: t.meta.types[t.ev.type[i]!],
    flags: ev.flags,
    fields,
  };
}

export async function startViewer(t: Timeline, opts: { port?: number; title?: string } = {}): Promise<Viewer> {
  const token = randomBytes(18).toString('base64url');
  const tokenBuf = Buffer.from(token);
  const blob = gzipSync(encodeTimeline(t), { level: 1 });
  const summary = gzipSync(
    toJsonText(
      {
        stats: t.stats,
        findings: t.timers.findings,
        timers: { count: t.timers.timers.length, coverage: t.timers.coverage },
        latency: { wakeup: t.latency.wakeup, syscalls: t.latency.syscalls.slice(0, 30), irqs: t.latency.irqs.slice(0, 30), missing: t.latency.missing },
      },
      0,
    ),
  );
  const page = viewerPage(opts.title ?? 'lkst view');
  let port = 0;
  const okToken = (given: string | null) => {
    if (!given) return false;
    const b = Buffer.from(given);
    return b.length === tokenBuf.length && timingSafeEqual(b, tokenBuf);
  };
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const host = req.headers.host ?? '';
    if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) return send(res, 403, 'text/plain', 'forbidden host\n');
    if (req.method !== 'GET') return send(res, 405, 'text/plain', 'GET only\n');
    if (!okToken(url.searchParams.get('token'))) return send(res, 403, 'text/plain', 'missing or wrong token: open the URL lkst printed\n');
    const gz = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    switch (url.pathname) {
      case '/':
        return send(res, 200, 'text/html; charset=utf-8', page);
      case '/api/timeline':
        return gz ? send(res, 200, 'application/octet-stream', blob, true) : send(res, 200, 'application/octet-stream', encodeTimeline(t));
      case '/api/summary':
        return send(res, 200, 'application/json', summary, true);
      case '/api/event': {
        const d = eventDetails(t, Number(url.searchParams.get('i')));
        return d ? send(res, 200, 'application/json', toJsonText(d, 0)) : send(res, 404, 'application/json', '{"error":"no such event"}');
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
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections?.();
      server.close(() => resolve());
    }),
  };
}

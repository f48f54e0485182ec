import type { Command } from 'commander';
import { writeTraceDat } from '../../file/writer.js';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { action, numberOption } from '../run.js';
import { LogDaemon, type LogdStats } from '../../buffers/logd.js';
import { openBufferOrInstance } from '../../buffers/name.js';
import { stateDir } from '../../base/config.js';
import { processStart } from '../../base/owner.js';
import { LkstError, errnoCode } from '../../base/errors.js';

interface LogdCliOptions {
  buffer: string[];
  dir: string;
  maxSize?: number;
  maxAge?: number;
  maxFiles?: number;
  kallsyms: boolean;
  pidFile?: string;
  poll?: number;
  rotate?: boolean;
}

function defaultPidFile(): string {
  return join(stateDir(), 'logd.pid');
}

/**
 * The pid of the logd that wrote pidFile while that same process runs. The file holds "PID START"
 * (its start time): pids are reused (pid_max is 32768 here), and a stale file must never send
 * SIGHUP, which ends most programs, to whoever has the pid now.
 */
function runningPid(pidFile: string): number | undefined {
  let words: string[];
  try {
    words = readFileSync(pidFile, 'utf8').trim().split(/\s+/);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw new LkstError(`cannot read ${pidFile} (${errnoCode(err)})`, 'run as root');
  }
  const pid = Number(words[0]);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  const start = processStart(pid);
  if (start === undefined) return undefined;
  // A file without the start time (written before lkst kept it): the process must at least be a logd.
  if (words[1] !== undefined) return Number(words[1]) === start ? pid : undefined;
  try {
    return /\blogd\b/.test(readFileSync(`/proc/${pid}/cmdline`, 'latin1').replace(/\0/g, ' ')) ? pid : undefined;
  } catch {
    return undefined; // it ended meanwhile
  }
}

/** `lkst logd --rotate`: asks the running daemon to start a new file now. */
function signalRotate(pidFile: string): string {
  const pid = runningPid(pidFile);
  if (!pid) throw new LkstError(`no lkst logd is running (${pidFile})`, 'start one with `lkst logd -b NAME -d DIR`, or give its --pid-file');
  process.kill(pid, 'SIGHUP');
  return `asked lkst logd (pid ${pid}) to rotate`;
}

function summary(st: LogdStats): string {
  return (
    `lkst logd: ${st.filesWritten} files written (${st.files.length} kept), ${st.eventsSaved} events saved` +
    `${st.eventsUnsaved ? `, ${st.eventsUnsaved} NOT SAVED (disk full)` : ''}${st.eventsLostByKernel ? `, ${st.eventsLostByKernel} lost in the kernel buffers (use larger buffers)` : ''}\n`
  );
}

/** The daemon's signals, caught from its first moment: a SIGHUP (rotate) or SIGTERM during setup must not kill it. */
class DaemonSignals {
  private stop: () => void = () => undefined;
  readonly stopped = new Promise<void>((r) => (this.stop = r));
  private rotate: (() => void) | undefined;
  private rotateAsked = false;
  private readonly onHup = (): void => {
    if (this.rotate) this.rotate();
    else this.rotateAsked = true;
  };
  private readonly onStop = (): void => this.stop();

  constructor() {
    process.on('SIGHUP', this.onHup);
    process.on('SIGINT', this.onStop);
    process.on('SIGTERM', this.onStop);
  }

  /** From now on SIGHUP rotates; one that came during setup rotates now. */
  rotateWith(fn: () => void): void {
    this.rotate = fn;
    if (this.rotateAsked) fn();
  }

  requestStop(): void {
    this.stop();
  }

  close(): void {
    process.off('SIGHUP', this.onHup);
    process.off('SIGINT', this.onStop);
    process.off('SIGTERM', this.onStop);
  }
}

async function runDaemon(o: LogdCliOptions): Promise<number> {
  const sig = new DaemonSignals();
  const pidFile = resolve(o.pidFile ?? defaultPidFile());
  let pidWritten = false;
  try {
    const other = runningPid(pidFile);
    if (other && other !== process.pid) throw new LkstError(`lkst logd already runs (pid ${other}, ${pidFile})`, 'stop it first, or give this one another --pid-file');
    if (!o.buffer.length) throw new LkstError('no buffer to log', 'name buffers with -b NAME (see `lkst buffer list`)');
    const buffers = o.buffer.map(openBufferOrInstance);
    let fatal = false;
    const d = new LogDaemon({
      buffers,
      writer: writeTraceDat,
      dir: o.dir,
      ...(o.maxSize ? { maxBytes: o.maxSize * 1048576 } : {}),
      ...(o.maxAge ? { maxAgeSec: o.maxAge } : {}),
      ...(o.maxFiles ? { maxFiles: o.maxFiles } : {}),
      ...(o.poll ? { pollMs: o.poll } : {}),
      kallsyms: o.kallsyms,
      onMessage: (m) => process.stderr.write(m + '\n'),
      onFile: (p, n) => process.stderr.write(`lkst logd: wrote ${p} (${n} events)\n`),
      onFatal: () => {
        fatal = true;
        sig.requestStop();
      },
    });
    try {
      mkdirSync(dirname(pidFile), { recursive: true });
      writeFileSync(pidFile, `${process.pid} ${processStart(process.pid) ?? ''}\n`);
      pidWritten = true;
    } catch (err) {
      throw new LkstError(`cannot write ${pidFile} (${errnoCode(err) ?? err})`, 'run as root or give --pid-file');
    }
    for (const line of await d.recoverLeftovers()) process.stderr.write(`lkst logd: ${line}\n`);
    d.start();
    sig.rotateWith(() => void d.rotate().catch((err) => process.stderr.write(`lkst logd: rotate failed: ${(err as Error).message}\n`)));
    process.stderr.write(`lkst logd: logging ${buffers.map((b) => b.name).join(', ')} into ${d.dir} (pid ${process.pid}; SIGHUP or \`lkst logd --rotate\` starts a new file)\n`);
    await sig.stopped;
    const st = await d.stop();
    process.stderr.write(summary(st));
    return fatal ? 1 : st.eventsUnsaved ? 2 : 0;
  } finally {
    sig.close();
    if (pidWritten && runningPid(pidFile) === process.pid) rmSync(pidFile, { force: true });
  }
}

export function registerLogd(program: Command): void {
  program
    .command('logd')
    .description("stream buffers to disk as rotating trace.dat files (LKST's lkstlogd); runs until SIGINT/SIGTERM")
    .option('-b, --buffer <name>', 'buffer to log (repeatable; the first is the top buffer of each file)', (v: string, p: string[]) => [...p, v], [])
    .option('-d, --dir <dir>', 'directory for the files', '.')
    .option('--max-size <mb>', 'no file grows beyond this many MiB (its kallsyms and formats included): a new file starts before', numberOption('--max-size', 0.01))
    .option('--max-age <seconds>', 'start a new file after this many seconds', numberOption('--max-age', 0.1))
    .option('--max-files <n>', 'keep at most this many files (the oldest are deleted)', numberOption('--max-files', 1))
    .option('--no-kallsyms', 'leave /proc/kallsyms (several MB) out of every file')
    .option('--pid-file <file>', 'where the daemon writes its pid (default: $LKST_STATE_DIR or /run/lkst, logd.pid)')
    .option('--poll <ms>', 'how often the buffers are drained', numberOption('--poll', 1))
    .option('--rotate', 'tell the running daemon to start a new file now, and return')
    .action(
      action(async (o: LogdCliOptions) => {
        if (o.rotate) {
          process.stdout.write(signalRotate(resolve(o.pidFile ?? defaultPidFile())) + '\n');
          return 0;
        }
        return runDaemon(o);
      }),
    );
}

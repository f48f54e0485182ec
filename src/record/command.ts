import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { constants } from 'node:os';
import { LkstError } from '../base/errors.js';

/** The command a recording runs, until it exits. */
export interface RunningCommand {
  readonly pid: number;
  /** Lets a held command go on to exec (no-op when it was not held). */
  release(): void;
  /** Its exit status, as a shell reports it (128 + signal); rejects when it cannot be run. */
  readonly exited: Promise<number | null>;
  kill(): void;
}

/**
 * Held: a shell with the command's pid waits on fd 3 until release(), then execs the command; the
 * recorder scopes to the pid in between, so nothing the command does is missed (trace-cmd -F forks
 * and waits likewise). The wait reads a byte or end of file: if the recorder dies first, the shell
 * exits without running the command.
 */
/** stdio: the command's stdin, stdout and stderr (default: lkst's own). */
export function startCommand(argv: readonly string[], opts: { held?: boolean; stdio?: StdioOptions } = {}): RunningCommand {
  const [cmd, ...args] = argv;
  if (!cmd) throw new LkstError('no command to run', 'give one after --');
  const child: ChildProcess = opts.held
    ? spawn('/bin/sh', ['-c', 'read -r _ <&3 || exit 126; exec 3<&- "$@"', 'lkst', cmd, ...args], { stdio: [...threeStdio(opts.stdio), 'pipe'] })
    : spawn(cmd, args, { stdio: opts.stdio ?? 'inherit' });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', (err) => reject(new LkstError(`cannot run ${cmd} (${(err as NodeJS.ErrnoException).code ?? err})`, 'check the command name and PATH')));
    child.on('exit', (code, sig) => resolve(code ?? (sig ? 128 + constants.signals[sig] : null)));
  });
  exited.catch(() => {});
  const gate = opts.held ? (child.stdio[3] as NodeJS.WritableStream & { destroy?: () => void } | null) : null;
  gate?.on('error', () => {});
  return {
    pid: child.pid ?? 0,
    release: () => {
      gate?.end('go\n');
    },
    exited,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    },
  };
}

type StdioEntry = Exclude<StdioOptions, string>[number];

function threeStdio(stdio: StdioOptions | undefined): StdioEntry[] {
  if (stdio === undefined || typeof stdio === 'string') return [stdio ?? 'inherit', stdio ?? 'inherit', stdio ?? 'inherit'];
  return stdio.slice(0, 3);
}

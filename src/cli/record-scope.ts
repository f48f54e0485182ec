import type { Command } from 'commander';
import { InvalidArgumentError } from './commander.js';

/** The scoping options as commander parses them (record's, and any command that records the same way). */
export interface ScopeCliOptions {
  pid?: number[];
  follow?: boolean;
  commandOnly?: boolean;
}

function collectPids(v: string, prev: number[] | undefined): number[] {
  const pids = v.split(',').map((s) => s.trim());
  for (const p of pids) if (!/^[1-9]\d*$/.test(p)) throw new InvalidArgumentError(`'${p}' is not a process id: give PID[,PID...]`);
  return [...(prev ?? []), ...pids.map(Number)];
}

/** -P, --follow and -F, as trace-cmd has them. */
export function addScopeOptions(cmd: Command): Command {
  return cmd
    .option('-P, --pid <pids>', 'record only these processes (every thread of each): PID[,PID...]; repeatable. Interrupts and softirqs are kept while they interrupt these tasks, dropped otherwise (as trace-cmd -P)', collectPids)
    .option('--follow', 'with -P: also record the children they fork later')
    .option('-F, --command-only', 'record only the command given after -- and its children, from its exec on (as trace-cmd -F; interrupts as with -P)');
}

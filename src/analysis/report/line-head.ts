/** The fixed part of a trace-cmd report line: "<comm>-<pid> [<cpu>] <secs>.<usecs>: <name>: ". */

const SPACES = ' '.repeat(64);

export function padLeft(s: string, width: number): string {
  return s.length >= width ? s : SPACES.slice(0, width - s.length) + s;
}

export function padRight(s: string, width: number): string {
  return s.length >= width ? s : s + SPACES.slice(0, width - s.length);
}

/** "%16s-%-5d" of comm and pid. */
export function taskColumn(comm: string, pid: number): string {
  return padLeft(comm, 16) + '-' + padRight(String(pid), 5);
}

/** " [%03d]" of the CPU. */
export function cpuColumn(cpu: number): string {
  return ' [' + (cpu < 0 ? '-' + String(-cpu).padStart(2, '0') : String(cpu).padStart(3, '0')) + ']';
}

/** The raw clock value (clocks that do not count nanoseconds): "%12llu:". */
export function rawTimeColumn(ts: number): string {
  return padLeft(String(ts), 12) + ':';
}

/** " name: " padded so that names up to 20 characters line up. */
export function nameColumn(name: string): string {
  return ' ' + name + ': ' + (name.length < 20 ? SPACES.slice(0, 20 - name.length) : '');
}

/** Clocks whose values trace-cmd 3.1.6 shows as seconds.microseconds (others, even "boot", raw). */
export function clockInNs(clock: string): boolean {
  return ['local', 'global', 'uptime', 'perf', 'tai', 'tsc2nsec'].includes(clock) || clock.startsWith('mono');
}

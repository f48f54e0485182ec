/** The one error type lkst shows to people: what went wrong and what to do about it, on one line. */
export class LkstError extends Error {
  constructor(
    readonly what: string,
    readonly fix: string,
    readonly exitCode = 1,
  ) {
    super(fix ? `${what}: ${fix}` : what);
    this.name = 'LkstError';
  }
}

export function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

/**
 * EPERM or EACCES on action: for a non-root user a matter of privileges; for root no retry helps,
 * the kernel itself refused (a value it rejects, lockdown, a feature it keeps read-only).
 */
export function refusedError(action: string, target: string, code: string, fixAsRoot = 'see `dmesg` and the tracefs error_log for why'): LkstError {
  if (process.getuid?.() === 0) return new LkstError(`the kernel refused to ${action} ${target} (${code}, even as root)`, fixAsRoot);
  return new LkstError(`permission denied to ${action} ${target}`, 'run lkst as root (sudo)');
}

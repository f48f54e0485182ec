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

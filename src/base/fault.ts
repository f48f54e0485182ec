/**
 * Fault injection for the kill tests: with LKST_FAULT=NAME the process SIGKILLs itself when it
 * reaches the point of that name, as a kill -9 at that moment would.
 */
export function faultPoint(name: string): void {
  if (process.env['LKST_FAULT'] === name) process.kill(process.pid, 'SIGKILL');
}

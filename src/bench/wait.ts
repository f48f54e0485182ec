import { LkstError } from '../base/errors.js';

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls until the predicate holds; LkstError naming `what` after the timeout. */
export async function waitFor(what: string, pred: () => boolean, timeoutMs = 15000, everyMs = 20): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    let ok = false;
    try {
      ok = pred();
    } catch {
      ok = false;
    }
    if (ok) return;
    if (Date.now() > end) throw new LkstError(`timed out waiting for ${what}`, 'check that the recorder starts on this machine (run it by hand)');
    await sleep(everyMs);
  }
}

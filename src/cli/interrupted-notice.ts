import { interruptedRecordings } from '../record/partial.js';

/**
 * One line per recording whose recorder died before writing its trace, so the operator learns of
 * it from the next command (its pages wait beside the output; `reset` or `recover --partial` finish it).
 */
export function interruptedNotice(): string {
  let found;
  try {
    found = interruptedRecordings();
  } catch {
    return '';
  }
  return found
    .map((j) => `lkst: the recording by pid ${j.pid} started ${j.startedAt} into ${j.output} was interrupted; \`lkst recover --partial ${j.workDir}\` writes its trace\n`)
    .join('');
}

import { notedDirs } from '../base/page-files.js';

/**
 * One line per recording whose recorder died before writing its trace, so the operator learns of
 * it from the next command (its pages wait beside the output; `reset` or `recover --partial` finish it).
 */
export async function interruptedNotice(): Promise<string> {
  // Every command starts here: the journal reader (~30 ms of modules) loads only when a recorder left a note.
  if (!notedDirs().length) return '';
  const { interruptedRecordings } = await import('../record/partial.js');
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

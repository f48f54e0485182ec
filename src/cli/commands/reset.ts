import type { Command } from 'commander';
import { action } from '../run.js';
import { LkstError } from '../../base/errors.js';
import { resetLkst } from '../../masksets/reset.js';
import { interruptedRecordings } from '../../record/partial.js';
import { writePartialTrace } from './recover-partial.js';

export function registerReset(program: Command): void {
  program
    .command('reset')
    .description('take down what lkst made that nobody uses any more: the armed trace, instances of killed lkst processes, scratch instances; says what it keeps and why (buffers are never removed)')
    .option('--force', 'also take down instances of running lkst processes and armed traces of other state directories')
    .option('--all', 'the same as --force')
    .action(
      action(async (opts: { force?: boolean; all?: boolean }) => {
        // Recordings whose recorder was killed become traces first: their instance may hold the rest.
        for (const j of interruptedRecordings()) {
          try {
            console.log(await writePartialTrace(j));
          } catch (err) {
            if (!(err instanceof LkstError)) throw err;
            console.log(`kept the interrupted recording by pid ${j.pid} in ${j.workDir}: ${err.what}`);
          }
        }
        const { lines } = await resetLkst({ force: (opts.force ?? false) || (opts.all ?? false) });
        console.log(lines.length ? lines.join('\n') : 'nothing to remove: the kernel has no stale lkst instances');
      }),
    );
}

import type { Command } from 'commander';
import { action } from '../run.js';
import { resetInstances } from '../../tracefs/reset.js';
import { ARMED_INSTANCE, resetArmed } from '../../masksets/session.js';
import { Instance } from '../../tracefs/instance.js';
import { interruptedRecordings } from '../../record/partial.js';
import { writePartialTrace } from './recover-partial.js';

export function registerReset(program: Command): void {
  program
    .command('reset')
    .description('restore a clean kernel state: remove the armed trace and instances left by lkst processes that were killed (with --all: every lkst instance)')
    .option('--all', 'also remove instances of running lkst processes and armed traces')
    .action(
      action(async (opts: { all?: boolean }) => {
        // Recordings whose recorder was killed become traces first: their instance may hold the rest.
        for (const j of interruptedRecordings()) console.log(await writePartialTrace(j));
        let armed = resetArmed();
        // A buffer switch may have moved the armed trace out of its own instance: that one goes too.
        if (Instance.exists(ARMED_INSTANCE)) armed = [armed, resetArmed(ARMED_INSTANCE)].filter(Boolean).join('\n');
        if (armed) console.log(armed);
        const { removed, kept } = resetInstances({ all: opts.all });
        for (const n of removed) console.log(`removed ${n}`);
        for (const n of kept) console.log(`kept ${n} (in use; --all removes it)`);
        if (!removed.length && !armed) console.log('nothing to remove: the kernel has no stale lkst instances');
      }),
    );
}

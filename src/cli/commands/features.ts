import type { Command } from 'commander';
import { action } from '../run.js';
import { detectFeatures, FEATURE_WORDS } from '../../tracefs/features.js';
import { detectBpf, PROGRAM_KINDS } from '../../bpf/features.js';

export function registerFeatures(program: Command): void {
  program
    .command('features')
    .description("what this kernel's tracing offers (instances, filters, triggers, probes, clocks...)")
    .option('--json', 'machine-readable output')
    .action(
      action((opts: { json?: boolean }) => {
        const f = detectFeatures();
        const bpf = detectBpf();
        if (opts.json) {
          console.log(JSON.stringify({ ...f, bpf }));
          return;
        }
        for (const [key, words] of Object.entries(FEATURE_WORDS)) {
          const refused = key === 'subbufSize' && f.subbufRefused ? ': not adjustable here, the kernel refuses writes to buffer_subbuf_size_kb even from root' : '';
          console.log(`${f[key as keyof typeof FEATURE_WORDS] ? 'yes' : 'no '}  ${words}${refused}`);
        }
        const loads = PROGRAM_KINDS.filter((k) => bpf.kinds[k] === true);
        if (bpf.unavailable) console.log(`no   BPF handlers: ${bpf.unavailable.why} (${bpf.unavailable.fix}); count and switch engine=bpf are unavailable, record engine=bpf records on ftrace`);
        else console.log(`yes  BPF handlers (${loads.join(', ')} programs load${loads.length < PROGRAM_KINDS.length ? `; not ${PROGRAM_KINDS.filter((k) => !loads.includes(k)).join(', ')}` : ''})`);
        console.log(`clocks: ${f.clocks.join(' ')}`);
      }),
    );
}

import type { Command } from 'commander';
import { action } from '../run.js';
import { listProbeTargets } from '../../probes/list.js';
import { createProbe, removeProbeGroup } from '../../probes/dynamic.js';
import { isTracerKind, parseProbe, probeGroup } from '../../probes/spec.js';
import { readLiveFormat } from '../../events/live.js';
import { renderEventFields } from '../../events/fields-view.js';
import { grouped } from '../../base/grouped.js';

export function registerProbe(program: Command): void {
  const probe = program.command('probe').description('dynamic probes: what can be probed, and what a probe records');
  probe
    .command('list')
    .description("the functions of a program or library (ELF symbols), or 'kernel' for the kernel's (kallsyms), optionally matching GLOB")
    .argument('<target>', "a path, a library name (libc), or 'kernel'")
    .argument('[glob]', "e.g. 'mall*'")
    .action(
      action((target: string, glob: string | undefined) => {
        const { file, targets } = listProbeTargets(target, glob);
        const lines = targets.map((t) => {
          const where = t.size !== undefined ? `${t.size} bytes` : [t.module ? `[${t.module}]` : '', t.traceable === false ? 'not in available_filter_functions' : ''].filter(Boolean).join(' ');
          return `${t.name}${where ? `  ${where}` : ''}`;
        });
        process.stdout.write(`${lines.join('\n')}${lines.length ? '\n' : ''}`);
        process.stderr.write(`${grouped(targets.length)} functions in ${file}${glob ? ` matching ${glob}` : ''}\n`);
      }),
    );
  probe
    .command('fields')
    .description("what a probe records: its fields and print format, as the kernel defines them (the probe is made and removed)")
    .argument('<spec...>', "e.g. 'uprobe:libc:malloc' 'size=%di:u64', kprobe:SYM, fprobe:SYM[%return], eprobe:SYS/EVENT, function:GLOB")
    .action(
      action((words: string[]) => {
        const [spec, ...args] = words.flatMap((w) => w.trim().split(/\s+/));
        const s = parseProbe(spec!, args);
        const show = (system: string, event: string) => {
          const text = renderEventFields([{ id: `${system}:${event}`, lkst: [], format: readLiveFormat(system, event) }]);
          process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
        };
        // The function tracers record the ftrace system's own events.
        if (isTracerKind(s.kind)) {
          for (const ev of s.kind === 'function' ? ['function'] : ['funcgraph_entry', 'funcgraph_exit']) show('ftrace', ev);
          return;
        }
        const group = probeGroup();
        try {
          const ev = createProbe(s, group);
          show(ev.system, ev.event);
        } finally {
          removeProbeGroup(group);
        }
      }),
    );
}

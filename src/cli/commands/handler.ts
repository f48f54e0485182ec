import type { Command } from 'commander';
import { printText as print, printOutcome } from './print-text.js';
import { action } from '../run.js';
import { LkstError } from '../../base/errors.js';
import { handlerAdd, handlerList } from '../../handlers/commands.js';
import { handlerRemoveUnused } from '../../masksets/commands.js';
import { handlerSet } from '../../masksets/session.js';

/**
 * `lkst handler set` on a recording whose handlers on BPF include this event's: the entry is
 * compiled as a line of the running maskset and its pid set (or a BPF C handler's parameters) written
 * into the map at once, the change marked in the trace.
 * Undefined when the entry is not on BPF or no such recording runs (the armed-trace path then).
 */
async function setOnLiveBpf(event: string, handler: string, params: string[]): Promise<string | undefined> {
  const [{ readState, writeState }, { liveUnits, setLiveMaps }, { liveTable }] = await Promise.all([
    import('../../masksets/state.js'),
    import('../../bpf/live-params.js'),
    import('../../bpf/live-counts.js'),
  ]);
  const s = readState();
  const units = s && !s.stopped ? liveUnits(s.instance) : undefined;
  if (!s || !units) return undefined;
  const [{ loadMasksetEnv }, { compileMaskset }, { parseParamWords }] = await Promise.all([
    import('../../masksets/env.js'),
    import('../../masksets/compile.js'),
    import('../../masksets/parse.js'),
  ]);
  let words: Record<string, string>;
  try {
    words = parseParamWords(params);
  } catch {
    return undefined; // the armed-trace path says what is wrong with them
  }
  const entry = { event, handler, params: words, where: 'lkst handler set' };
  const plan = compileMaskset({ name: s.maskset, description: '', includes: [], entries: [entry], source: 'lkst handler set' }, await loadMasksetEnv());
  if (!plan.bpf?.length) return undefined;
  const index = Math.max(0, liveTable(s.instance)?.masksets.indexOf(s.maskset) ?? 0);
  const from = `lkst handler set ${event} ${handler}`;
  const lines = await setLiveMaps(s.instance, units, plan.bpf.map((b) => ({ ...b, from })), index);
  // lkst status shows the table as it now is.
  writeState({ ...s, entries: [...s.entries.filter((e) => e.event !== event), entry], edited: [...new Set([...s.edited, event])] });
  return lines.join('\n');
}

export function registerHandler(program: Command): void {
  const h = program.command('handler').description('event handlers: what happens when an event fires');
  h.command('list')
    .description('built-in and registered handlers with their parameters')
    .action(action(async () => print(await handlerList())));
  h.command('set')
    .description('set one event\'s handler in the armed trace (or in a maskset file with --maskset); on a recording\'s handlers on BPF, their pid set at once; HANDLER null stops tracing it')
    .argument('<event>', 'LKST event, category or system:event')
    .argument('<handler>', 'record, pid, filter, stack, switch, stop, route, a registered one, or null')
    .argument('[params...]', 'PARAM=VALUE ...')
    .option('-m, --maskset <name>', 'change this maskset file instead of the armed trace')
    .action(
      action(async (event: string, handler: string, params: string[], o: { maskset?: string }) =>
        {
          const live = !o.maskset ? await setOnLiveBpf(event, handler, params) : undefined;
          if (live) print(live);
          else printOutcome(await handlerSet({ event, handler, params, ...(o.maskset ? { maskset: o.maskset } : {}) }));
        },
      ),
    );
  h.command('add')
    .description('register a handler: NAME FILE.bpf.c (BPF C, compiled and checked by the kernel at once), or a module FILE (.ts or .mjs exporting a HandlerDefinition); see docs/handlers.md')
    .argument('<name-or-file>')
    .argument('[file]', 'the .bpf.c source of handler NAME')
    .action(
      action(async (first: string, file?: string) => {
        if (file === undefined) return print(await handlerAdd({ file: first }));
        if (!file.endsWith('.bpf.c')) throw new LkstError(`${file}: a handler in BPF C is a .bpf.c file`, 'lkst handler add NAME FILE.bpf.c, or lkst handler add MODULE.mjs');
        const { addBpfHandler } = await import('../../bpf/user-add.js');
        print(addBpfHandler(first, file));
      }),
    );
  h.command('remove')
    .description('unregister a user handler (refused while a maskset uses it)')
    .argument('<name>')
    .action(action(async (name: string) => print(await handlerRemoveUnused({ name }))));
}

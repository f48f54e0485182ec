import type { Command } from 'commander';
import { printText as print, printOutcome } from './print-text.js';
import { action } from '../run.js';
import { masksetCreate, masksetDelete, masksetEdit, masksetList, masksetShow } from '../../masksets/commands.js';
import { masksetSwitch } from '../../masksets/session.js';

const collect = (v: string, prev: string[]): string[] => [...prev, v];

export function registerMaskset(program: Command): void {
  const m = program.command('maskset').description('masksets: tables of event -> handler, switched as a whole (files in $LKST_CONFIG_DIR/masksets, default /etc/lkst)');
  m.command('list')
    .description('list the masksets (* = active in the armed trace)')
    .action(action(async () => print(await masksetList())));
  m.command('show')
    .description('print a maskset file')
    .argument('<name>')
    .option('-k, --kernel', 'also show what it sets per tracepoint on this kernel')
    .action(action(async (name: string, o: { kernel?: boolean }) => print(await masksetShow({ name, kernel: o.kernel ?? false }))));
  m.command('create')
    .description('create a maskset from lines, another maskset or a file')
    .argument('<name>')
    .option('--from <maskset>', 'start from this maskset (written as `include MASKSET`)')
    .option('--file <path>', 'read the maskset text from a file')
    .option('-e, --entry <line>', '"EVENT HANDLER [PARAM=VALUE ...]"; repeatable', collect, [])
    .option('-d, --description <text>', 'one-line description')
    .action(
      action(async (name: string, o: { from?: string; file?: string; entry: string[]; description?: string }) =>
        print(await masksetCreate({ name, ...(o.from ? { from: o.from } : {}), ...(o.file ? { file: o.file } : {}), entries: o.entry, ...(o.description ? { description: o.description } : {}) })),
      ),
    );
  m.command('edit')
    .description('change entries, or open the file in $EDITOR; saved only when it checks out')
    .argument('<name>')
    .option('-s, --set <line>', '"EVENT HANDLER [PARAM=VALUE ...]" replaces the entry for EVENT; repeatable', collect, [])
    .option('-r, --remove <event>', 'drop the entry for EVENT; repeatable', collect, [])
    .action(action(async (name: string, o: { set: string[]; remove: string[] }) => print(await masksetEdit({ name, set: o.set, remove: o.remove }))));
  m.command('delete')
    .description('delete a maskset file')
    .argument('<name>')
    .action(action(async (name: string) => print(await masksetDelete({ name }))));
  m.command('switch')
    .description('switch the armed trace to another maskset (only the differences change; the trace is marked)')
    .argument('<name>')
    .option('--skip-missing', 'apply even if some of its events are missing on this kernel, listing them')
    .action(action(async (name: string, o: { skipMissing?: boolean }) => printOutcome(await masksetSwitch({ name, skipMissing: o.skipMissing ?? false }))));
}

import type { Command } from 'commander';
import { printText as print } from './print-text.js';
import { action } from '../run.js';
import { handlerAdd, handlerList } from '../../handlers/commands.js';
import { handlerRemoveUnused } from '../../masksets/commands.js';
import { handlerSet } from '../../masksets/session.js';


export function registerHandler(program: Command): void {
  const h = program.command('handler').description('event handlers: what happens when an event fires');
  h.command('list')
    .description('built-in and registered handlers with their parameters')
    .action(action(async () => print(await handlerList())));
  h.command('set')
    .description('set one event\'s handler in the armed trace (or in a maskset file with --maskset); HANDLER null stops tracing it')
    .argument('<event>', 'LKST event, category or system:event')
    .argument('<handler>', 'record, pid, filter, stack, switch, stop, a registered one, or null')
    .argument('[params...]', 'PARAM=VALUE ...')
    .option('-m, --maskset <name>', 'change this maskset file instead of the armed trace')
    .action(
      action(async (event: string, handler: string, params: string[], o: { maskset?: string }) =>
        print(await handlerSet({ event, handler, params, ...(o.maskset ? { maskset: o.maskset } : {}) })),
      ),
    );
  h.command('add')
    .description('register a handler module (.ts or .mjs exporting a HandlerDefinition; see docs/handlers.md)')
    .argument('<file>')
    .action(action(async (file: string) => print(await handlerAdd({ file }))));
  h.command('remove')
    .description('unregister a user handler (refused while a maskset uses it)')
    .argument('<name>')
    .action(action(async (name: string) => print(await handlerRemoveUnused({ name }))));
}

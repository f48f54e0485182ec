import type { Command } from 'commander';
import { checkOutputPath } from '../../base/output-path.js';
import { resolve } from 'node:path';
import { writeTraceDat } from '../../file/writer.js';
import { printNotes, printText as print } from './print-text.js';
import { action, numberOption } from '../run.js';
import { createBuffer, deleteBuffer, listBufferNames, openBuffer, resizeBuffer } from '../../buffers/buffer.js';
import { bufferStatus, existingStatuses } from '../../buffers/status.js';
import { formatBufferTable } from '../../buffers/table.js';
import { armBufferSwitch, disarmBufferSwitch, prepareSwitchTarget, switchBuffer, type SwitchMethod } from '../../buffers/switch.js';
import { dumpBuffer } from '../../buffers/dump.js';
import { bufferInstanceName, bufferNameOf, openBufferOrInstance } from '../../buffers/name.js';
import { readState, writeState } from '../../masksets/state.js';
import { journaledBufferSwitch, settleJournal } from '../../masksets/journal.js';
import { refuseForeign } from '../../base/owner.js';
import { recordsInto } from '../../masksets/status.js';
import { Instance } from '../../tracefs/instance.js';
import { LkstError } from '../../base/errors.js';

function pidList(v: string, prev: number[] = []): number[] {
  const out = v.split(',').map((s) => Number(s.trim()));
  if (out.some((n) => !Number.isInteger(n) || n <= 0)) throw new LkstError(`bad process id list '${v}'`, 'give process ids separated by commas');
  return [...prev, ...out];
}

interface CreateOpts {
  size?: number;
  overwrite?: boolean;
  stopWhenFull?: boolean;
  pid?: number[];
  notPid?: number[];
  follow?: boolean;
  clock?: string;
}

const METHODS: readonly SwitchMethod[] = ['stop-first', 'trigger', 'start-first'];

/**
 * What records now, to switch away from: the armed trace's instance when there is one, else the one
 * buffer that is recording.
 */
function currentRecorder(exclude: string): Instance {
  const s = readState();
  if (s && !s.stopped && Instance.exists(s.instance) && s.instance !== exclude) return Instance.open(s.instance);
  const recording = listBufferNames()
    .map((n) => openBuffer(n))
    .filter((i) => i.name !== exclude && i.tracingOn && i.enabledEvents().length);
  if (recording.length === 1) return recording[0]!;
  if (!recording.length) throw new LkstError('nothing is recording to switch from', 'arm a trace with `lkst start -m MASKSET`, or name the buffer with --from');
  throw new LkstError(`several buffers are recording (${recording.map((i) => bufferNameOf(i.name)).join(', ')})`, 'say which one to switch from with --from NAME');
}

export function registerBuffer(program: Command): void {
  const buffer = program.command('buffer').description('recording buffers: several per-CPU buffers, switched at run time (LKST 1.3 feature 4)');
  buffer
    .command('create')
    .description('create a buffer (stopped and empty; a switch or a maskset puts events in it)')
    .argument('<name>')
    .option('-s, --size <kb>', 'size per CPU in KiB', numberOption('--size', 4))
    .option('--overwrite', 'when full, drop the oldest events (flight recorder; the kernel default)')
    .option('--stop-when-full', 'when full, drop new events (keeps the start)')
    .option('--pid <pids>', 'record only these processes (comma-separated; repeatable)', pidList)
    .option('--not-pid <pids>', 'record every process but these (the rest of the system)', pidList)
    .option('--follow', 'children forked later join --pid / --not-pid')
    .option('--clock <name>', 'trace clock')
    .action(
      action((name: string, o: CreateOpts) => {
        if (o.overwrite && o.stopWhenFull) throw new LkstError('--overwrite and --stop-when-full exclude each other', 'give one of them');
        const inst = createBuffer(name, {
          ...(o.size !== undefined ? { sizeKb: o.size } : {}),
          ...(o.overwrite ? { overwrite: true } : o.stopWhenFull ? { overwrite: false } : {}),
          ...(o.pid ? { pids: o.pid } : {}),
          ...(o.notPid ? { notPids: o.notPid } : {}),
          ...(o.follow ? { follow: true } : {}),
          ...(o.clock ? { clock: o.clock } : {}),
        });
        const s = bufferStatus(inst);
        print(`created buffer ${s.name} (${inst.name}): ${s.sizeKb} KiB per CPU on ${s.cpus.length} CPUs, ${s.overwrite ? 'overwrite' : 'stop when full'}`);
      }),
    );
  buffer
    .command('list')
    .description('each buffer and, per CPU, its size, bytes used, entries, overrun, dropped events and oldest event time')
    .option('--json', 'as JSON')
    .action(
      action((o: { json?: boolean }) => {
        const list = existingStatuses(listBufferNames().map(bufferInstanceName));
        const armed = readState();
        const notes = new Map<string, string>();
        if (armed && !armed.stopped) {
          notes.set(armed.instance, 'the armed trace');
          // A switch handler may have moved the armed trace into a buffer.
          const into = recordsInto(armed);
          if (into && into !== armed.instance) notes.set(into, 'the armed trace records here');
        }
        print(o.json ? JSON.stringify(list, null, 1) : formatBufferTable(list, { notes }));
      }),
    );
  buffer
    .command('resize')
    .description('change the size per CPU')
    .argument('<name>')
    .argument('<kb>', 'KiB per CPU', numberOption('KB', 4))
    .action(action((name: string, kb: number) => print(`${name}: ${resizeBuffer(name, kb).bufferSizeKb} KiB per CPU`)));
  buffer
    .command('delete')
    .description('remove buffers and what they hold')
    .argument('<names...>')
    .action(
      action((names: string[]) => {
        const armed = readState();
        // All or none: every name is checked before anything is removed.
        for (const n of names) {
          const inst = openBuffer(n);
          if (armed && !armed.stopped && armed.instance === inst.name) throw new LkstError(`buffer ${n} holds the armed trace`, 'switch to another buffer or `lkst stop` first');
        }
        for (const n of names) deleteBuffer(n);
        print(`deleted ${names.join(', ')}`);
      }),
    );
  buffer
    .command('start')
    .description('start recording into a buffer (alongside the others)')
    .argument('<name>')
    .option('--copy-from <buffer>', "first give it this buffer's (or lkst-* instance's) events, filters and triggers; its own pid lists stay")
    .action(
      action((name: string, o: { copyFrom?: string }) => {
        const inst = openBuffer(name);
        const n = o.copyFrom ? prepareSwitchTarget(openBufferOrInstance(o.copyFrom), inst) : bufferStatus(inst).events.length;
        inst.tracingOn = true;
        print(`${name} records ${n} events`);
      }),
    );
  buffer
    .command('stop')
    .description('stop recording into a buffer; it keeps its content and its events')
    .argument('<names...>')
    .action(
      action((names: string[]) => {
        for (const n of names) openBuffer(n).tracingOn = false;
        print(`stopped ${names.join(', ')}`);
      }),
    );
  buffer
    .command('switch')
    .description('from now on record into NAME what is recorded now; the old buffer stops and keeps its content')
    .argument('<name>')
    .option('--from <name>', 'the buffer (or lkst-* instance) to switch from (default: the armed trace, or the one recording buffer)')
    .option('--method <m>', `how: ${METHODS.join(', ')} (see docs/buffers.md)`, 'stop-first')
    .option('--on <system:event>', 'do not switch now: arm the switch inside the kernel for when this event fires (once)')
    .option('--if <expr>', 'with --on: only when this filter expression on the event holds')
    .option('--disarm', 'with --on: remove an armed (or spent) switch')
    .option('--force', 'switch away from an instance another running lkst owns')
    .action(
      action(async (name: string, o: { from?: string; method: string; on?: string; if?: string; disarm?: boolean; force?: boolean }) => {
        if (!METHODS.includes(o.method as SwitchMethod)) throw new LkstError(`unknown switch method '${o.method}'`, `use one of ${METHODS.join(', ')}`);
        if ((o.if || o.disarm) && !o.on) throw new LkstError('--if and --disarm go with --on', 'name the event with --on SYSTEM:EVENT');
        const settled = await settleJournal();
        printNotes(settled);
        const to = openBuffer(name);
        const from = o.from ? openBufferOrInstance(o.from) : currentRecorder(to.name);
        refuseForeign(from.name, 'switching away from', o.force);
        if (o.on) {
          const m = /^([\w-]+):([\w-]+)$/.exec(o.on);
          if (!m) throw new LkstError(`bad event '${o.on}'`, 'give it as SYSTEM:EVENT, e.g. sched:sched_process_exit');
          const tp = { system: m[1]!, event: m[2]! };
          const s = readState();
          const armed = s && !s.stopped && s.instance === from.name ? s : undefined;
          const target = { instance: to.name, tracepoint: o.on, command: 'traceon' };
          const others = (armed?.targets ?? []).filter((t) => !(t.instance === target.instance && t.tracepoint === target.tracepoint && t.command === 'traceon'));
          if (o.disarm) {
            disarmBufferSwitch(from, to, tp);
            if (armed) writeState({ ...armed, targets: others });
            print(`disarmed the switch ${bufferNameOf(from.name) ?? from.name} -> ${name} on ${o.on}`);
            return;
          }
          const n = armBufferSwitch(from, to, tp, o.if ? { condition: o.if } : {});
          // The armed trace knows where it goes: status names the buffer once it fired; stop and reset release it.
          if (armed) writeState({ ...armed, targets: [...others, target] });
          print(`armed: when ${o.on} fires${o.if ? ` and ${o.if}` : ''}, ${bufferNameOf(from.name) ?? from.name} stops and ${name} starts recording its ${n} events (inside the kernel, once)`);
          return;
        }
        // The armed trace lives where the recording went: `lkst maskset switch` acts there from now on.
        // Under a journal: a kill between the flip and the state write is settled by the next command.
        const s = readState();
        const r = journaledBufferSwitch(from, to, s?.instance === from.name ? s : undefined, () => switchBuffer(from, to, { method: o.method as SwitchMethod }));
        print(
          `switched ${bufferNameOf(r.from) ?? r.from} -> ${bufferNameOf(r.to) ?? r.to}: ${r.events} events recorded in ${bufferNameOf(r.to)}, ` +
            `${bufferNameOf(r.from) ?? r.from} stopped with its content (${r.method}${r.fallback ? `; trigger not used: ${r.fallback}` : ''}, ${(r.windowNs / 1000).toFixed(0)} us)`,
        );
      }),
    );
  buffer
    .command('dump')
    .description("write a buffer's content to a trace.dat while tracing goes on (the read consumes: a second dump holds what came after)")
    .argument('<name>')
    .requiredOption('-o, --output <file>', 'trace.dat to write')
    .option('--freeze', 'stop the buffer first and leave it stopped')
    .option('--no-kallsyms', 'leave /proc/kallsyms out of the file')
    .action(
      action(async (name: string, o: { output: string; freeze?: boolean; kallsyms: boolean }) => {
        checkOutputPath(resolve(o.output));
        const r = await dumpBuffer(openBufferOrInstance(name), o.output, { freeze: o.freeze ?? false, kallsyms: o.kallsyms, writer: writeTraceDat });
        const lost = r.before.reduce((s, k) => s + k.overrun + k.droppedEvents, 0);
        print(`wrote ${r.path}: ${r.events} events${lost ? ` (the buffer had lost ${lost} to overrun/drops)` : ''}; ${name} is ${r.live ? 'still recording' : 'stopped'}`);
      }),
    );
}

/**
 * `lkst handler add NAME FILE.bpf.c`: a user handler in BPF C is compiled with the engine's
 * toolchain and loaded into the kernel (lkst-bpf-check) at once, on the events it names (or on
 * raw_syscalls:sys_enter when it names none), then kept under the config root as NAME.bpf.c.
 * A compiler or verifier error is one line naming the source's file and line.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { LkstError, errnoCode } from '../base/errors.js';
import { handlerDir } from '../base/config.js';
import { readLiveFormat } from '../events/live.js';
import { BUILTIN_HANDLERS } from '../handlers/builtin.js';
import { userBpfDefinition } from '../handlers/user-bpf.js';
import { checkBpfObject } from './check.js';
import { handlerProgram, type HandlerUnit } from './codegen.js';
import { compiledObject } from './engine.js';
import { detectBpf, programOptions } from './features.js';
import { namedEventFormats, userHandlerFile, userSource } from './user-handlers.js';

/** Compiles and loads a handler's source on the events it names; returns the programs' instruction counts. */
export function checkUserHandler(name: string, text: string, shownAs: string): number {
  const bpf = detectBpf();
  if (bpf.unavailable) throw new LkstError(`${shownAs} cannot be checked: handlers on BPF cannot run here: ${bpf.unavailable.why}`, bpf.unavailable.fix);
  const source = userSource(name, text, shownAs);
  const events = namedEventFormats(source);
  const formats = events.size ? [...events.values()] : [readLiveFormat('raw_syscalls', 'sys_enter')];
  // The masksets it switches to are the recording's: any index loads the same.
  const switches = Object.fromEntries(source.uses.switches.map((m) => [m, 0]));
  const units = formats.map((format): HandlerUnit => ({ handler: 'user', format, source, params: {}, events, switches }));
  const object = compiledObject(handlerProgram(units, programOptions(bpf)).source, bpf.tools);
  return checkBpfObject(object).reduce((n, p) => n + p.instructions, 0);
}

export function addBpfHandler(name: string, file: string): string {
  if (!/^[a-z][a-z0-9_-]*$/.test(name)) throw new LkstError(`handler name ${name}: use lower-case letters, digits, - or _`, 'give another name');
  if (BUILTIN_HANDLERS.some((h) => h.name === name)) throw new LkstError(`handler ${name} is built in`, 'give yours another name');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new LkstError(`cannot read ${file} (${errnoCode(err) ?? String(err)})`, 'give the path of a .bpf.c file');
  }
  const instructions = checkUserHandler(name, text, basename(file));
  const dir = handlerDir();
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new LkstError(`cannot create ${dir} (${errnoCode(err)})`, 'run as root or set LKST_CONFIG_DIR');
  }
  const dest = userHandlerFile(name);
  writeFileSync(`${dest}.${process.pid}.tmp`, text);
  renameSync(`${dest}.${process.pid}.tmp`, dest);
  const def = userBpfDefinition(name, text);
  const params = Object.keys(def.params);
  return `registered handler ${name} (BPF C, ${instructions} instructions after the kernel's check): ${def.description}\nparameters: ${params.map((p) => `${p} (int)`).join(', ') || 'none'}`;
}

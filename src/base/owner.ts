/**
 * Who owns a tracefs instance lkst made. Instances are global to the kernel while lkst's state
 * directories are not (LKST_STATE_DIR), so owner records live in one machine-wide directory keyed by
 * instance name. A process is named by pid plus its start time and the boot id, so a reused pid (or
 * a pid seen from another pid namespace) is never taken for the owner.
 */
import { mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { stateDir } from './config.js';
import { LkstError } from './errors.js';

/** A process as the kernel knows it: reused pids and other namespaces do not match. */
export interface ProcessIdentity {
  readonly pid: number;
  /** Start time in clock ticks since boot (/proc/PID/stat field 22). */
  readonly start: number;
  readonly boot: string;
  /** The pid namespace the pid is counted in (/proc/self/ns/pid). */
  readonly pidns: string;
}

export interface OwnerRecord extends ProcessIdentity {
  /** recorder: alive while its process is; armed: while its state directory says it is armed. */
  readonly kind: 'recorder' | 'armed' | 'buffer' | 'scratch';
  readonly instance: string;
  readonly user: string;
  readonly uid: number;
  readonly stateDir: string;
  readonly command: string;
  readonly createdAt: string;
}

/** The machine-wide owner directory: /run/lkst-owners, or $LKST_OWNER_DIR. */
export function ownerDir(): string {
  return process.env['LKST_OWNER_DIR'] || '/run/lkst-owners';
}

function readOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
}

/** This boot's id: a pid and start time name a process only within one boot. */
export const bootId = (): string => readOr('/proc/sys/kernel/random/boot_id', '').trim();

function pidNamespace(): string {
  try {
    return readlinkSync('/proc/self/ns/pid');
  } catch {
    return '';
  }
}

/** Start time of a pid, or undefined when no such process is visible. */
export function processStart(pid: number): number | undefined {
  const stat = readOr(`/proc/${pid}/stat`, '');
  // comm may hold spaces and parentheses: fields count from the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const start = Number(rest[19]);
  return stat && Number.isFinite(start) ? start : undefined;
}

export function selfIdentity(): ProcessIdentity {
  return { pid: process.pid, start: processStart(process.pid) ?? 0, boot: bootId(), pidns: pidNamespace() };
}

/** alive, dead, or unknown (another pid namespace: the pid cannot be checked from here). */
export function processState(id: ProcessIdentity): 'alive' | 'dead' | 'unknown' {
  if (id.boot && id.boot !== bootId()) return 'dead';
  if (id.pidns && id.pidns !== pidNamespace()) return 'unknown';
  const start = processStart(id.pid);
  return start !== undefined && (!id.start || start === id.start) ? 'alive' : 'dead';
}

function recordPath(instance: string): string {
  return join(ownerDir(), `${instance}.json`);
}

/** Notes this process as the owner of an instance it made (kind says what keeps it alive). */
export function recordOwner(instance: string, kind: OwnerRecord['kind']): OwnerRecord {
  let user = String(process.getuid?.() ?? '');
  try {
    user = userInfo().username;
  } catch {
    /* a uid without a passwd entry: the number */
  }
  const rec: OwnerRecord = { ...selfIdentity(), kind, instance, user, uid: process.getuid?.() ?? -1, stateDir: stateDir(), command: process.argv.slice(2).join(' ').slice(0, 200), createdAt: new Date().toISOString() };
  try {
    mkdirSync(ownerDir(), { recursive: true });
    const p = recordPath(instance);
    writeFileSync(`${p}.${process.pid}.tmp`, JSON.stringify(rec) + '\n');
    renameSync(`${p}.${process.pid}.tmp`, p);
  } catch {
    /* without a record the instance is treated as its name says (lkst-PID-*: that pid) */
  }
  return rec;
}

export function readOwner(instance: string): OwnerRecord | undefined {
  try {
    const r = JSON.parse(readFileSync(recordPath(instance), 'utf8')) as OwnerRecord;
    return typeof r.pid === 'number' && r.instance === instance ? r : undefined;
  } catch {
    return undefined;
  }
}

export function dropOwner(instance: string): void {
  rmSync(recordPath(instance), { force: true });
}

/** Instance names that have owner records (some may be gone from the kernel). */
export function ownedInstances(): string[] {
  try {
    return readdirSync(ownerDir())
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.slice(0, -'.json'.length));
  } catch {
    return [];
  }
}

/** The armed trace's file in a state directory. */
export const STATE_FILE = 'state.json';

/** The instance a state directory says is armed (not stopped), if any. */
export function armedIn(dir: string): string | undefined {
  try {
    const s = JSON.parse(readFileSync(join(dir, STATE_FILE), 'utf8')) as { instance?: unknown; stopped?: unknown };
    return typeof s.instance === 'string' && !s.stopped ? s.instance : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether the owner still holds the instance: a recorder (or a scratch instance) while its
 * process runs; an armed trace while its state directory names it armed.
 */
export function ownerLive(rec: OwnerRecord): boolean {
  if (rec.kind === 'armed') return armedIn(rec.stateDir) === rec.instance;
  if (rec.kind === 'buffer') return true; // a buffer lives until deleted
  return processState(rec) !== 'dead';
}

/** "live lkst pid 123 (user root, state /run/lkst)" and the like, for messages. */
export function describeOwner(rec: OwnerRecord): string {
  const who = `user ${rec.user}`;
  switch (rec.kind) {
    case 'armed':
      return `the trace armed by \`lkst start\` (${who}, state directory ${rec.stateDir})`;
    case 'buffer':
      return `a buffer created by ${who}`;
    default: {
      const st = processState(rec);
      return `${st === 'alive' ? 'live ' : st === 'unknown' ? 'possibly live (another pid namespace) ' : 'dead '}lkst pid ${rec.pid} (\`lkst ${rec.command}\`, ${who})`;
    }
  }
}

/** Whether this process is the one a record names. */
export function isSelf(rec: OwnerRecord): boolean {
  const me = selfIdentity();
  return rec.pid === me.pid && rec.start === me.start && rec.boot === me.boot && rec.pidns === me.pidns;
}

/**
 * The live owner of an instance other than this process and this state directory, if any: what a
 * command must not stop, change or remove without --force.
 */
export function foreignOwner(instance: string): OwnerRecord | undefined {
  const rec = readOwner(instance);
  if (!rec || isSelf(rec) || !ownerLive(rec)) return undefined;
  if (rec.kind === 'armed' && rec.stateDir === stateDir()) return undefined;
  if (rec.kind === 'buffer') return undefined;
  return rec;
}

/** Refuses to act on an instance another live lkst owns, unless forced; says whose it is. */
export function refuseForeign(instance: string, doing: string, force = false): void {
  const rec = foreignOwner(instance);
  if (!rec || force) return;
  throw new LkstError(`${instance} belongs to ${describeOwner(rec)}; not ${doing} it`, 'it is left as it is; --force overrides');
}

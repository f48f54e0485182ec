// BTF (Documentation/bpf/btf.rst): the kernel's own type descriptions, so struct layouts are
// read from the dump's kernel instead of being hard-coded per version.
import { dumpError } from './errors.js';

export const enum Kind {
  INT = 1, PTR = 2, ARRAY = 3, STRUCT = 4, UNION = 5, ENUM = 6, FWD = 7, TYPEDEF = 8, VOLATILE = 9,
  CONST = 10, RESTRICT = 11, FUNC = 12, FUNC_PROTO = 13, VAR = 14, DATASEC = 15, FLOAT = 16,
  DECL_TAG = 17, TYPE_TAG = 18, ENUM64 = 19,
}

export interface Member { name: string; type: number; bitOffset: number; bitSize: number }

export interface BtfType {
  kind: Kind;
  name: string;
  /** size for INT/STRUCT/UNION/ENUM/FLOAT/DATASEC, referenced type for PTR/TYPEDEF/CONST/... */
  sizeOrType: number;
  members?: Member[];
  /** ARRAY: element type and count */
  elem?: number;
  nelems?: number;
  /** INT: signed */
  signed?: boolean;
  enumVals?: Array<[string, bigint]>;
}

export interface FieldInfo { offset: number; type: number; size: number; bitSize: number; bitOffset: number }

/**
 * The kernel's BTF, read as needed: one pass notes where each type's record is (no strings, no
 * objects); a type is decoded when first asked for, a name found in the string section when first
 * looked up. A recovery uses a few hundred of the ~100k types.
 */
export class Btf {
  /** Number of types, void (id 0) included. */
  readonly count: number;
  private at: Uint32Array;
  private kinds: Uint8Array;
  private nameOffs: Uint32Array;
  private decoded: Array<BtfType | undefined> = [{ kind: 0 as Kind, name: 'void', sizeOrType: 0 }];
  private byName = new Map<string, number[]>();
  private fieldCache = new Map<string, FieldInfo | null>();
  private strOff: number;
  private strLen: number;

  constructor(private raw: Buffer) {
    if (raw.length < 24 || raw.readUInt16LE(0) !== 0xeb9f) throw dumpError('no BTF in the kernel image (bad magic)', 'the kernel was built without CONFIG_DEBUG_INFO_BTF; give --kernel VMLINUX with BTF');
    const hdrLen = raw.readUInt32LE(4);
    const typeOff = hdrLen + raw.readUInt32LE(8);
    const typeLen = raw.readUInt32LE(12);
    this.strOff = hdrLen + raw.readUInt32LE(16);
    this.strLen = raw.readUInt32LE(20);
    if (typeOff + typeLen > raw.length || this.strOff + this.strLen > raw.length) throw dumpError('truncated BTF in the dump', 'recover from a complete dump');
    const max = Math.floor(typeLen / 12) + 1;
    const at = new Uint32Array(max);
    const kinds = new Uint8Array(max);
    const nameOffs = new Uint32Array(max);
    let n = 1;
    let p = typeOff;
    const end = typeOff + typeLen;
    while (p < end) {
      const info = raw.readUInt32LE(p + 4);
      const vlen = info & 0xffff;
      const kind = (info >>> 24) & 0x1f;
      at[n] = p;
      kinds[n] = kind;
      nameOffs[n] = raw.readUInt32LE(p);
      n++;
      p += 12 + extraBytes(kind, vlen);
    }
    this.count = n;
    this.at = at;
    this.kinds = kinds;
    this.nameOffs = nameOffs;
  }

  private str(o: number): string {
    if (o === 0) return '';
    const from = this.strOff + o;
    const z = this.raw.indexOf(0, from);
    return this.raw.toString('latin1', from, z);
  }

  /** Type id's description, or undefined past the last type. */
  type(id: number): BtfType | undefined {
    if (id < 0 || id >= this.count) return undefined;
    return (this.decoded[id] ??= this.decode(id));
  }

  /** The anonymous struct whose members have exactly these names, in order; -1 when none. Only candidates are decoded. */
  anonymousStruct(members: readonly string[]): number {
    for (let id = 1; id < this.count; id++) {
      if (this.kinds[id] !== Kind.STRUCT || this.nameOffs[id] !== 0 || (this.raw.readUInt32LE(this.at[id]! + 4) & 0xffff) !== members.length) continue;
      if (this.type(id)!.members!.every((m, i) => m.name === members[i])) return id;
    }
    return -1;
  }

  private decode(id: number): BtfType {
    const raw = this.raw;
    let p = this.at[id]!;
    const info = raw.readUInt32LE(p + 4);
    const vlen = info & 0xffff;
    const kind = ((info >>> 24) & 0x1f) as Kind;
    const kindFlag = info >>> 31 === 1;
    const t: BtfType = { kind, name: this.str(this.nameOffs[id]!), sizeOrType: raw.readUInt32LE(p + 8) };
    p += 12;
    switch (kind) {
      case Kind.INT:
        t.signed = (raw.readUInt32LE(p) >>> 24 & 1) === 1;
        break;
      case Kind.ARRAY:
        t.elem = raw.readUInt32LE(p);
        t.nelems = raw.readUInt32LE(p + 8);
        break;
      case Kind.STRUCT:
      case Kind.UNION:
        t.members = [];
        for (let i = 0; i < vlen; i++, p += 12) {
          const off = raw.readUInt32LE(p + 8);
          t.members.push({
            name: this.str(raw.readUInt32LE(p)), type: raw.readUInt32LE(p + 4),
            bitOffset: kindFlag ? off & 0xffffff : off, bitSize: kindFlag ? off >>> 24 : 0,
          });
        }
        break;
      case Kind.ENUM:
        t.enumVals = [];
        for (let i = 0; i < vlen; i++, p += 8) t.enumVals.push([this.str(raw.readUInt32LE(p)), BigInt(raw.readInt32LE(p + 4))]);
        break;
      case Kind.ENUM64:
        t.enumVals = [];
        for (let i = 0; i < vlen; i++, p += 12) {
          t.enumVals.push([this.str(raw.readUInt32LE(p)), (BigInt(raw.readUInt32LE(p + 8)) << 32n) | BigInt(raw.readUInt32LE(p + 4))]);
        }
        break;
      default: break;
    }
    return t;
  }

  /** Ids of the types with this name, in id order. */
  private named(name: string): number[] {
    let ids = this.byName.get(name);
    if (ids) return ids;
    ids = [];
    if (name) {
      // Every place the string section holds name and its NUL: a type's name offset may also point into the tail of a longer string.
      const needle = Buffer.from(`${name}\0`, 'latin1');
      const offs = new Set<number>();
      const end = this.strOff + this.strLen;
      for (let i = this.raw.indexOf(needle, this.strOff); i >= 0 && i + needle.length <= end; i = this.raw.indexOf(needle, i + 1)) offs.add(i - this.strOff);
      if (offs.size) for (let id = 1; id < this.count; id++) if (offs.has(this.nameOffs[id]!)) ids.push(id);
    }
    this.byName.set(name, ids);
    return ids;
  }

  /** The id of a complete struct (or union) by name. */
  struct(name: string): number {
    for (const id of this.named(name)) {
      const t = this.type(id)!;
      if ((t.kind === Kind.STRUCT || t.kind === Kind.UNION) && t.members) return id;
    }
    throw dumpError(`the kernel's BTF has no struct ${name}`, 'this kernel is too old or too new for lkst recover; report it with the kernel version');
  }

  hasStruct(name: string): boolean {
    return (this.named(name)).some((id) => this.type(id)!.kind === Kind.STRUCT);
  }

  /** Follows typedef/const/volatile/restrict/type_tag to the real type. */
  resolve(id: number): number {
    for (;;) {
      const t = this.type(id);
      if (!t) return 0;
      if (t.kind === Kind.TYPEDEF || t.kind === Kind.CONST || t.kind === Kind.VOLATILE || t.kind === Kind.RESTRICT || t.kind === Kind.TYPE_TAG) id = t.sizeOrType;
      else return id;
    }
  }

  sizeOf(id: number): number {
    const t = this.type(this.resolve(id))!;
    switch (t.kind) {
      case Kind.PTR: return 8;
      case Kind.ARRAY: return this.sizeOf(t.elem!) * t.nelems!;
      case Kind.INT: case Kind.STRUCT: case Kind.UNION: case Kind.ENUM: case Kind.ENUM64: case Kind.FLOAT: return t.sizeOrType;
      default: return 0;
    }
  }

  /** Size of a named int, typedef, struct or enum; 0 when unknown. */
  sizeOfNamed(name: string): number {
    const plain = name.replace(/^(struct|union|enum) /, '');
    for (const id of this.named(plain)) {
      const s = this.sizeOf(id);
      if (s > 0) return s;
    }
    return 0;
  }

  structSize(name: string): number {
    return this.type(this.struct(name))!.sizeOrType;
  }

  /** A member by dotted path ("array_buffer.buffer"), looking through anonymous structs and unions. */
  field(structName: string, path: string): FieldInfo {
    const key = `${structName}/${path}`;
    let f = this.fieldCache.get(key);
    if (f === undefined) {
      f = this.findPath(this.struct(structName), path.split('.'));
      this.fieldCache.set(key, f);
    }
    if (!f) throw dumpError(`struct ${structName} has no member ${path} in this kernel's BTF`, 'this kernel version is not supported by lkst recover yet; report it with the kernel version');
    return f;
  }

  hasField(structName: string, path: string): boolean {
    try { this.field(structName, path); return true; } catch { return false; }
  }

  private findPath(id: number, parts: string[]): FieldInfo | null {
    let offBits = 0;
    let cur = id;
    let last: Member | undefined;
    for (const part of parts) {
      const found = this.findMember(this.resolve(cur), part);
      if (!found) return null;
      offBits += found.bits;
      last = found.m;
      cur = found.m.type;
    }
    if (!last) return null;
    return { offset: offBits >> 3, type: last.type, size: this.sizeOf(last.type), bitSize: last.bitSize, bitOffset: offBits & 7 };
  }

  private findMember(id: number, name: string): { m: Member; bits: number } | null {
    const t = this.type(id)!;
    if (!t.members) return null;
    for (const m of t.members) if (m.name === name) return { m, bits: m.bitOffset };
    for (const m of t.members) {
      if (m.name) continue;
      const inner = this.findMember(this.resolve(m.type), name);
      if (inner) return { m: inner.m, bits: m.bitOffset + inner.bits };
    }
    return null;
  }

  /** The value of an enumerator, from any enum (anonymous ones included). */
  enumValue(name: string): bigint | undefined {
    for (let id = 1; id < this.count; id++) {
      if (this.kinds[id] !== Kind.ENUM && this.kinds[id] !== Kind.ENUM64) continue;
      const t = this.type(id)!;
      for (const [n, v] of t.enumVals ?? []) if (n === name) return v;
    }
    return undefined;
  }

  isSigned(id: number): boolean {
    const t = this.type(this.resolve(id))!;
    return t.kind === Kind.INT ? !!t.signed : t.kind === Kind.ENUM;
  }

  /** A C-ish name of a type, for messages and generated format text. */
  typeName(id: number): string {
    const t = this.type(id);
    if (!t) return 'void';
    switch (t.kind) {
      case Kind.PTR: return `${this.typeName(t.sizeOrType)} *`;
      case Kind.CONST: return `const ${this.typeName(t.sizeOrType)}`;
      case Kind.VOLATILE: return `volatile ${this.typeName(t.sizeOrType)}`;
      case Kind.STRUCT: return `struct ${t.name}`;
      case Kind.UNION: return `union ${t.name}`;
      case Kind.ENUM: return `enum ${t.name}`;
      case Kind.ARRAY: return `${this.typeName(t.elem!)}[${t.nelems}]`;
      default: return t.name || 'void';
    }
  }
}

/** Bytes that follow a type's 12-byte record, by kind. */
function extraBytes(kind: number, vlen: number): number {
  switch (kind) {
    case Kind.INT: case Kind.VAR: case Kind.DECL_TAG: return 4;
    case Kind.ARRAY: return 12;
    case Kind.STRUCT: case Kind.UNION: case Kind.ENUM64: case Kind.DATASEC: return 12 * vlen;
    case Kind.ENUM: case Kind.FUNC_PROTO: return 8 * vlen;
    default: return 0;
  }
}

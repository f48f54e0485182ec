import { BUFFER_NAME_RE } from '../buffers/name.js';
import type { ParamSpec, ParamValue, ParamValues } from './types.js';

/** Why a parameter was refused, in words for "FILE:LINE: ..." messages. */
export class ParamError extends Error {}

function convert(name: string, spec: ParamSpec, raw: string): ParamValue {
  switch (spec.type) {
    case 'int': {
      if (!/^\d+$/.test(raw)) throw new ParamError(`${name}=${raw}: expected a whole number`);
      return Number(raw);
    }
    case 'int-list': {
      const parts = raw.split(',').map((s) => s.trim());
      if (!parts.length || parts.some((s) => !/^\d+$/.test(s))) throw new ParamError(`${name}=${raw}: expected numbers separated by commas (e.g. 1234,1235)`);
      return parts.map(Number);
    }
    case 'bool': {
      if (/^(1|true|yes|on)$/i.test(raw)) return true;
      if (/^(0|false|no|off)$/i.test(raw)) return false;
      throw new ParamError(`${name}=${raw}: expected true or false`);
    }
    case 'maskset':
      if (!/^[A-Za-z0-9_.-]+$/.test(raw)) throw new ParamError(`${name}=${raw}: not a maskset name`);
      return raw;
    case 'buffer':
      if (!BUFFER_NAME_RE.test(raw)) throw new ParamError(`${name}=${raw}: not a buffer name (up to 64 letters, digits, -, _ and .)`);
      return raw;
    case 'filter':
    case 'string':
      if (!raw.trim()) throw new ParamError(`${name} is empty`);
      if (/[\n\0]/.test(raw)) throw new ParamError(`${name} must be one line`);
      return raw;
  }
}

/** Checks raw "name=value" strings against a handler's parameter schema and converts them. */
export function checkParams(handler: string, specs: Readonly<Record<string, ParamSpec>>, raw: Readonly<Record<string, string>>): ParamValues {
  const out: Record<string, ParamValue> = {};
  for (const [name, value] of Object.entries(raw)) {
    const spec = specs[name];
    if (!spec) {
      const known = Object.keys(specs);
      throw new ParamError(`handler ${handler} has no parameter '${name}'${known.length ? ` (it takes ${known.join(', ')})` : ' (it takes none)'}`);
    }
    out[name] = convert(name, spec, value);
  }
  for (const [name, spec] of Object.entries(specs)) {
    if (name in out) continue;
    if (spec.default !== undefined) out[name] = convert(name, spec, spec.default);
    else if (spec.required) throw new ParamError(`handler ${handler} needs ${name}=... (${spec.description})`);
  }
  return out;
}

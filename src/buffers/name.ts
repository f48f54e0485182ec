import { INSTANCE_PREFIX, Instance } from '../tracefs/instance.js';
import { LkstError } from '../base/errors.js';

/** A recording buffer NAME lives in the tracefs instance lkst-buf-NAME. */
export const BUFFER_PREFIX = `${INSTANCE_PREFIX}buf-`;

export const BUFFER_NAME_RE = /^[A-Za-z0-9_.-]{1,64}$/;

export function checkBufferName(name: string): string {
  if (name.startsWith(BUFFER_PREFIX)) name = name.slice(BUFFER_PREFIX.length);
  if (!BUFFER_NAME_RE.test(name)) throw new LkstError(`bad buffer name '${name}'`, 'use up to 64 letters, digits, -, _ and .');
  return name;
}

export function bufferInstanceName(name: string): string {
  return BUFFER_PREFIX + checkBufferName(name);
}

/** The buffer name of an instance name, or undefined when it is not a buffer. */
export function bufferNameOf(instanceName: string): string | undefined {
  return instanceName.startsWith(BUFFER_PREFIX) ? instanceName.slice(BUFFER_PREFIX.length) : undefined;
}

/**
 * The instance behind NAME: the buffer lkst-buf-NAME, or any other lkst instance given by its full
 * name (an armed maskset's instance can be switched away from too).
 */
export function openBufferOrInstance(name: string): Instance {
  if (name.startsWith(INSTANCE_PREFIX) && !name.startsWith(BUFFER_PREFIX) && Instance.exists(name)) return Instance.open(name);
  const inst = bufferInstanceName(name);
  if (!Instance.exists(inst)) throw new LkstError(`no buffer named ${checkBufferName(name)}`, 'see `lkst buffer list`, or create it with `lkst buffer create NAME`');
  return Instance.open(inst);
}

import { availableEvents } from '../events/live.js';
import { HandlerRegistry } from '../handlers/registry.js';
import type { CompileEnv } from './compile.js';
import { masksetDir } from '../base/config.js';
import { MasksetStore } from './store.js';

export interface MasksetEnv extends CompileEnv {
  readonly store: MasksetStore;
}

/** The running kernel's events, the handlers and the masksets of a config root. */
export async function loadMasksetEnv(root?: string): Promise<MasksetEnv> {
  const store = new MasksetStore(masksetDir(root));
  const handlers = await HandlerRegistry.load(root);
  return { store, handlers, available: availableEvents(), loadMaskset: (name) => store.load(name) };
}

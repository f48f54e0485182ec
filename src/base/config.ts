import { join } from 'node:path';

/** lkst's configuration root: /etc/lkst, or $LKST_CONFIG_DIR (tests use a temporary one). */
export function configRoot(): string {
  return process.env['LKST_CONFIG_DIR'] || '/etc/lkst';
}

export function masksetDir(root = configRoot()): string {
  return join(root, 'masksets');
}

export function handlerDir(root = configRoot()): string {
  return join(root, 'handlers');
}

/** Where the armed trace's state lives: /run/lkst, or $LKST_STATE_DIR. */
export function stateDir(): string {
  return process.env['LKST_STATE_DIR'] || '/run/lkst';
}

import type { Field } from '../format.js';

/** One argument expression of a print format, as libtraceevent understands it. */
export type Expr =
  | { k: 'num'; v: bigint; text: string }
  | { k: 'atom'; text: string }
  | { k: 'str'; s: string }
  | { k: 'field'; field: Field }
  | { k: 'unary'; op: string; e: Expr }
  | { k: 'bin'; op: string; l: Expr; r: Expr }
  | { k: 'cond'; c: Expr; t: Expr; f: Expr }
  | { k: 'index'; base: Expr; idx: Expr }
  | { k: 'cast'; type: string; e: Expr }
  | { k: 'flags'; e: Expr; delim: string; table: FlagSym[] }
  | { k: 'symbolic'; e: Expr; table: FlagSym[] }
  | { k: 'hex'; e: Expr; len: Expr; str: boolean }
  | { k: 'array'; e: Expr; count: Expr; elSize: Expr }
  | { k: 'getstr'; field: Field }
  | { k: 'bitmask'; field: Field; cpumask: boolean }
  | { k: 'dynarray'; field: Field }
  | { k: 'dynlen'; field: Field }
  | { k: 'call'; name: string; args: Expr[] };

/** A __print_flags/__print_symbolic entry: the value as libtraceevent evaluates it (eval_flag) and its text. */
export interface FlagSym {
  value: bigint;
  str: string;
}

export interface ParsedPrintFmt {
  format: string;
  args: Expr[];
}

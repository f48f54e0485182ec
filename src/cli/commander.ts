import { createRequire } from 'node:module';
import type * as commander from 'commander';

/**
 * commander's classes, required as the CommonJS package it is: importing it goes through its ESM
 * wrapper and Node's CommonJS export scan, ~4 ms more of every command's start-up (lkst record's
 * CPU is timed against trace-cmd record's).
 */
export const { Command, CommanderError, InvalidArgumentError } = createRequire(import.meta.url)('commander') as typeof commander;
export type Command = commander.Command;

/**
 * commander, the one place the CLI takes it from. The bundle users run (scripts/bundle.ts) carries
 * it inside, so its code is in the launcher's code cache with the rest; only tsc's module tree pays
 * Node's CommonJS export scan for it (~4 ms).
 */
export { Command, CommanderError, InvalidArgumentError } from 'commander';

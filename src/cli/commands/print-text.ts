/** Prints a command's text result with exactly one trailing newline. */
export function printText(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : text + '\n');
}

/** Prints a command's outcome: notes about another lkst's leftovers on stderr, the result on stdout. */
export function printOutcome(o: { text: string; notes: readonly string[] }): void {
  printNotes(o.notes);
  printText(o.text);
}

/** Notes about what another (killed) lkst left and this command settled: stderr, apart from the result. */
export function printNotes(notes: readonly string[]): void {
  for (const n of notes) process.stderr.write(`${n}\n`);
}

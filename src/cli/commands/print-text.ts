/** Prints a command's text result with exactly one trailing newline. */
export function printText(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : text + '\n');
}

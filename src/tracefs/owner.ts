import { Instance } from './instance.js';

const WATCH_MS = 500;

/**
 * Why an instance a recorder reads is no longer what it set up, or undefined: removed, or every
 * event turned off (`lkst stop` or `lkst reset --force` from another shell).
 */
export function changedUnderfoot(inst: Instance, hadEvents: boolean): string | undefined {
  if (!Instance.exists(inst.name)) return `${inst.name} was removed by another command`;
  try {
    if (hadEvents && !inst.enabledEvents().length) return `every event of ${inst.name} was turned off by another command (\`lkst stop\` or \`lkst reset --force\`)`;
  } catch {
    return `${inst.name} was removed by another command`;
  }
  return undefined;
}

/**
 * Looks at an instance twice a second and calls onChange once when it changed under its reader;
 * returns the function that stops looking (and looks a last time).
 */
export function watchInstance(inst: Instance, hadEvents: () => boolean, onChange: (why: string) => void): () => void {
  let told = false;
  // A change counts once two looks in a row see it: cutting a recording short on one odd read of
  // tracefs (taken while other tools make and remove events and instances) would lose its rest.
  let seen: string | undefined;
  const look = (confirmNow = false): void => {
    if (told) return;
    let why = changedUnderfoot(inst, hadEvents());
    if (why && confirmNow && !seen) why = changedUnderfoot(inst, hadEvents());
    if (why && (seen || confirmNow)) {
      told = true;
      onChange(why);
    }
    seen = why;
  };
  const timer = setInterval(look, WATCH_MS);
  timer.unref();
  return () => {
    clearInterval(timer);
    look(true);
  };
}

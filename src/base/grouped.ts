/**
 * A number with its thousands grouped, as `toLocaleString('en-US')` prints it ("1,234,567.891"),
 * without Intl: the first toLocaleString of a process loads ICU's locale data, ~40 ms of CPU that
 * every command printing a count paid (a recording's summary, stats, a report's loss line).
 */
export function grouped(n: number): string {
  if (!Number.isFinite(n)) return Number.isNaN(n) ? 'NaN' : n > 0 ? '∞' : '-∞';
  const abs = Math.abs(n);
  // toString switches to exponents at 1e21; counts never get there.
  if (abs >= 1e21) return n.toLocaleString('en-US');
  // At most three decimals, rounded half away from zero, as Intl's default does.
  // (Beyond 2^53 / 1000 a double has no room for a thousandth: it prints as it is.)
  const text = (Number.isInteger(abs) || abs >= 2 ** 53 / 1000 ? abs : Math.round(abs * 1000) / 1000).toString();
  const dot = text.indexOf('.');
  const int = dot < 0 ? text : text.slice(0, dot);
  let out = '';
  for (let i = int.length; i > 0; i -= 3) out = (i > 3 ? ',' : '') + int.slice(Math.max(0, i - 3), i) + out;
  // Intl keeps the sign of what rounds to zero ("-0").
  const sign = n < 0 || Object.is(n, -0) ? '-' : '';
  return sign + out + (dot < 0 ? '' : text.slice(dot));
}

/** "Did you mean": the known names nearest to a misspelt one. */

/** Edit distance counting insertions, deletions, substitutions and adjacent swaps (case-insensitive). */
export function editDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  // Three rolling rows: the swap rule looks two rows back.
  let prev2: number[] = [];
  let prev = Array.from({ length: t.length + 1 }, (_, j) => j);
  for (let i = 1; i <= s.length; i++) {
    const cur = [i];
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      let d = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) d = Math.min(d, prev2[j - 2]! + 1);
      cur.push(d);
    }
    prev2 = prev;
    prev = cur;
  }
  return prev[t.length]!;
}

export interface Candidate {
  /** The name to suggest. */
  readonly name: string;
  /** Other spellings that count as a match for it (e.g. a tracepoint's bare event name). */
  readonly aliases?: readonly string[];
}

/** Up to `limit` candidates within a distance that grows with the input's length, nearest first. */
export function closestNames(input: string, candidates: Iterable<Candidate>, limit = 3): string[] {
  const maxDistance = Math.max(1, Math.floor(input.length / 3));
  const scored: { name: string; distance: number }[] = [];
  for (const c of candidates) {
    let distance = editDistance(input, c.name);
    for (const alias of c.aliases ?? []) distance = Math.min(distance, editDistance(input, alias));
    if (distance <= maxDistance) scored.push({ name: c.name, distance });
  }
  scored.sort((x, y) => x.distance - y.distance || x.name.localeCompare(y.name));
  // Far-off names next to a near one are noise.
  const best = scored[0]?.distance ?? 0;
  const near = scored.filter((s) => s.distance <= best + 1).map((s) => s.name);
  return [...new Set(near)].slice(0, limit);
}

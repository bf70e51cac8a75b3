/**
 * "Did you mean …?" for misspelt names: layer names, config fields, flags. One implementation
 * for every module that names a bad input and offers the fix.
 *
 * @module
 */

/**
 * Levenshtein distance (insertions, deletions, substitutions each cost 1).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { editDistance } from "./did_you_mean.ts";
 * assert.equal(editDistance("wieght", "weight"), 2);
 * ```
 */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(
        prev[j]! + 1,
        cur[j - 1]! + 1,
        prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/** How far apart the digits of two names are, to break ties: block9 is nearer block5 than block1. */
function digitGap(a: string, b: string): number {
  const na = (a.match(/\d+/g) ?? []).map(Number);
  const nb = (b.match(/\d+/g) ?? []).map(Number);
  let gap = 0;
  for (let i = 0; i < Math.max(na.length, nb.length); i++) {
    gap += Math.abs((na[i] ?? 0) - (nb[i] ?? 0));
  }
  return gap;
}

/**
 * The candidate nearest to `word` (case-insensitive edit distance, ties broken by how close the
 * numbers in the names are, then by order), or `undefined` when none is within `maxDistance`
 * (default: a plausible typo, max(2, a third of the word's length)).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { nearestName } from "./did_you_mean.ts";
 * assert.equal(
 *   nearestName("block9_conv1", ["block1_conv1", "block4_conv1", "block5_conv1"]),
 *   "block5_conv1",
 * );
 * assert.equal(nearestName("wieght", ["weight", "kind"]), "weight");
 * ```
 */
export function nearestName(
  word: string,
  candidates: readonly string[],
  maxDistance?: number,
): string | undefined {
  if (typeof word !== "string") return undefined;
  const w = word.toLowerCase();
  const limit = maxDistance ?? Math.max(2, Math.floor(w.length / 3));
  let best: { c: string; d: number; g: number } | undefined;
  for (const c of candidates) {
    // The length gap is a lower bound of the edit distance: skip hopeless candidates without
    // the quadratic table (a 10 MB "name" once took 20 s here).
    if (Math.abs(c.length - w.length) > limit) continue;
    const d = editDistance(w, c.toLowerCase());
    const g = digitGap(w, c);
    if (best === undefined || d < best.d || (d === best.d && g < best.g)) best = { c, d, g };
  }
  if (best === undefined) return undefined;
  return best.d <= limit ? best.c : undefined;
}

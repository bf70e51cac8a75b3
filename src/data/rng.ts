/**
 * Small seeded random number generators, so data pipelines are reproducible from one number.
 *
 * @module
 */

/**
 * A seeded stream of pseudo-random numbers.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type Rng, mulberry32 } from "@perceptual/loss/data";
 * const rng: Rng = mulberry32(42);
 * const die = rng.int(6) + 1; // 1 … 6
 * const resumed = mulberry32(rng.state); // continues this stream exactly, e.g. after a checkpoint
 * assert.ok(die >= 1 && die <= 6);
 * assert.ok(resumed.next() === rng.next());
 * ```
 */
export interface Rng {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [0, n); `n` must be a positive integer. */
  int(n: number): number;
  /** The current state: `mulberry32(rng.state)` continues this stream exactly. */
  readonly state: number;
}

/**
 * Mulberry32 (Tommy Ettinger): a 32-bit state generator, fast and good enough for crops and flips.
 *
 * The whole state is one uint32, so a checkpoint can store `rng.state` and resume with
 * `mulberry32(state)`.
 *
 * @param seed any number; it is reduced to a uint32.
 * @returns a generator whose sequence depends only on `seed`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mulberry32 } from "@perceptual/loss/data";
 * const a = mulberry32(42), b = mulberry32(42);
 * assert.ok(a.next() === b.next());
 * assert.ok(a.int(10) < 10);
 * ```
 */
export function mulberry32(seed: number): Rng {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int(n: number): number {
      if (!Number.isInteger(n) || n <= 0) {
        throw new RangeError(`Rng.int(n) needs a positive integer n, got ${n}`);
      }
      return Math.floor(next() * n);
    },
    get state(): number {
      return state;
    },
  };
}

/**
 * A well-mixed uint32 seed derived from a seed and any number of integer keys (the murmur3
 * finaliser over each key), so sample `i` of epoch `e` gets its own independent stream.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { deriveSeed, mulberry32 } from "@perceptual/loss/data";
 * const perSample = mulberry32(deriveSeed(7, 3, 12)); // seed 7, epoch 3, sample 12
 * assert.ok(deriveSeed(7, 1) !== deriveSeed(7, 2));
 * ```
 */
export function deriveSeed(seed: number, ...keys: readonly number[]): number {
  let h = (seed >>> 0) ^ 0x9e3779b9;
  for (const key of [...keys, keys.length]) {
    h = Math.imul(h ^ (key >>> 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    // Fold in the high part of keys beyond 2^32 (sample counters can grow large).
    h = (h + Math.floor(key / 4294967296)) >>> 0;
  }
  return h >>> 0;
}

/**
 * A seeded Fisher-Yates permutation of `0..n-1`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mulberry32, shuffledIndices } from "@perceptual/loss/data";
 * // a permutation
 * assert.equal(
 *   shuffledIndices(5, mulberry32(1)).slice().sort().join(),
 *   "0,1,2,3,4",
 * );
 * ```
 */
export function shuffledIndices(n: number, rng: Rng): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}

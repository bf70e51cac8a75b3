/**
 * What the native backend reports about its tuning: the primitive chosen per shape, and the time
 * profile per primitive.
 *
 * @module
 */

/**
 * What was chosen for one primitive key, and how each candidate timed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { TunedChoice } from "@perceptual/loss/backend";
 * const choice: TunedChoice = {
 *   key: "conv_fwd+bias+relu x[4,64,64,64] w[3,3,64,64] s1,1 p1,1,1,1",
 *   chosen: "brg:avx2 OIhw8i8o",
 *   timings: ["brg:avx2 OIhw8i8o 0.41 ms", "jit:avx2 OIhw8i8o 0.57 ms"],
 * };
 * assert.equal(choice.chosen, "brg:avx2 OIhw8i8o");
 * assert.equal(choice.timings.length, 2);
 * ```
 */
export interface TunedChoice {
  /** Operation and shape, e.g. `conv_fwd+bias+relu x[4,64,64,64] w[3,3,64,64] s1,1 p1,1,1,1`. */
  readonly key: string;
  /** The chosen candidate (implementation name and weight layout). */
  readonly chosen: string;
  /** Each candidate's best time in ms (or why it could not be built). */
  readonly timings: readonly string[];
}

/**
 * Accumulated time per primitive key while profiling is on.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { ProfileEntry } from "@perceptual/loss/backend";
 * const entries: ProfileEntry[] = [
 *   { key: "conv_fwd x[4,64,64,64] w[3,3,64,64]", calls: 200, ms: 820 },
 *   { key: "conv_bwd_weights x[4,64,64,64] w[3,3,64,64]", calls: 100, ms: 1100 },
 * ];
 * assert.deepEqual(entries.map((e) => (e.ms / e.calls).toFixed(1)), ["4.1", "11.0"]); // ms/call
 * ```
 */
export interface ProfileEntry {
  /** Operation and shape, as in {@linkcode TunedChoice.key}. */
  readonly key: string;
  /** How many times it ran. */
  readonly calls: number;
  /** Total milliseconds spent in oneDNN for it. */
  readonly ms: number;
}

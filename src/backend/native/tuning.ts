/**
 * What the native backend reports about its tuning: the primitive chosen per shape, and the time
 * profile per primitive.
 *
 * @module
 */

/** What was chosen for one primitive key, and how each candidate timed. */
export interface TunedChoice {
  /** Operation and shape, e.g. `conv_fwd+bias+relu x[4,64,64,64] w[3,3,64,64] s1,1 p1,1,1,1`. */
  readonly key: string;
  /** The chosen candidate (implementation name and weight layout). */
  readonly chosen: string;
  /** Each candidate's best time in ms (or why it could not be built). */
  readonly timings: readonly string[];
}

/** Accumulated time per primitive key while profiling is on. */
export interface ProfileEntry {
  /** Operation and shape, as in {@linkcode TunedChoice.key}. */
  readonly key: string;
  /** How many times it ran. */
  readonly calls: number;
  /** Total milliseconds spent in oneDNN for it. */
  readonly ms: number;
}

/**
 * Training batches and resumable data sources.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Batch } from "../data/batch.ts";
import { TrainingDataError } from "./errors.ts";
import { checkNotEmpty } from "../errors/empty_input_error.ts";

export type { Batch };

/**
 * Where a resumable data source starts: the trainer's seed, the 0-based epoch, and how many
 * batches of that epoch were already consumed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { DataPosition } from "@perceptual/loss/train";
 * // the batch numbers a resumable source of 10 batches an epoch yields from a position
 * const batchesFrom = (p: DataPosition) =>
 *   Array.from({ length: 10 - p.batch }, (_, i) => p.batch + i);
 * // 7 were already consumed
 * assert.deepEqual(
 *   batchesFrom({ seed: 0, epoch: 3, batch: 7 }),
 *   [7, 8, 9],
 * );
 * ```
 */
export interface DataPosition {
  /** The trainer's seed (stored in checkpoints, so a resumed run gets the same one). */
  readonly seed: number;
  /** The 0-based epoch to produce. */
  readonly epoch: number;
  /** Batches of this epoch already consumed; the source must start with batch number `batch`. */
  readonly batch: number;
}

/**
 * A resumable data source: given a position, the batches from there on.
 *
 * Contract: for a fixed `seed` and `epoch`, `factory({ seed, epoch, batch: k })` yields exactly
 * what `factory({ seed, epoch, batch: 0 })` yields after its first `k` batches, and each call
 * makes fresh tensors (the trainer disposes every batch it takes). An epoch ends when the
 * iterable ends. This is what makes a killed-and-resumed run take the same batches as an
 * uninterrupted one without replaying the epoch.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import type { DataFactory } from "@perceptual/loss/train";
 * await initBackend("cpu");
 * const noise: DataFactory = async function* ({ seed, epoch, batch }) {
 *   for (let i = batch; i < 10; i++) {
 *     const s = seed * 1_000_003 + epoch * 1_009 + i;
 *     const input = tf.randomUniform([2, 8, 8, 3], 0, 1, "float32", s) as tf.Tensor4D;
 *     yield { input, target: tf.clone(input) };
 *   }
 * };
 * let n = 0; // resumed at batch 7 of the epoch: batches 7, 8, 9 remain
 * for await (const b of noise({ seed: 1, epoch: 0, batch: 7 })) (n++, tf.dispose([b.input, b.target]));
 * assert.equal(n, 3);
 * ```
 */
export type DataFactory = (position: DataPosition) => AsyncIterable<Batch> | Iterable<Batch>;

/**
 * What `fit` trains on: a {@linkcode DataFactory} (resumable without replay), or any iterable of
 * batches. A plain iterable is iterated again for each epoch; on resume its first batches are
 * replayed and dropped, which is exact only if it yields the same batches every time.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import type { TrainingData } from "@perceptual/loss/train";
 * const grey = () => tf.fill([1, 8, 8, 3], 0.5) as tf.Tensor4D;
 * const make = () => ({ input: grey(), target: grey() });
 * // resumable: a factory that starts at the position it is given
 * const factory: TrainingData = ({ batch }) => Array.from({ length: 4 - batch }, make);
 * // any iterable: iterated again each epoch, its first batches replayed on resume
 * const iterable: TrainingData = {
 *   *[Symbol.iterator]() {
 *     for (let i = 0; i < 4; i++) yield make();
 *   },
 * };
 * assert.equal(typeof factory, "function");
 * assert.ok(Symbol.iterator in iterable);
 * ```
 */
export type TrainingData = DataFactory | AsyncIterable<Batch> | Iterable<Batch>;

function checkTensor(t: unknown, field: string, where: string): tf.Tensor4D {
  if (!(t instanceof tf.Tensor)) {
    throw new TrainingDataError(`${where}: '${field}' is not a tensor (got ${typeof t})`);
  }
  if (t.isDisposed) {
    throw new TrainingDataError(
      `${where}: '${field}' is already disposed; fit() disposes every batch after its step, so ` +
        "a data source must make fresh tensors for each batch (use a DataFactory, or tf.clone)",
    );
  }
  if (t.rank !== 4) {
    throw new TrainingDataError(
      `${where}: '${field}' must be NHWC (rank 4), got shape [${t.shape.join(", ")}]`,
    );
  }
  checkNotEmpty(`${where}: '${field}'`, t.shape);
  return t as tf.Tensor4D;
}

/**
 * Check that `batch` is `{ input, target }` with two live rank-4 tensors, and return them.
 * The trainer calls it once per batch, where the batch enters (`step`, `fit`, validation).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { checkBatch } from "@perceptual/loss/train";
 * await initBackend("cpu");
 * const input = tf.zeros([1, 4, 4, 3]) as tf.Tensor4D;
 * const target = tf.zeros([1, 8, 8, 3]) as tf.Tensor4D;
 * assert.ok(checkBatch({ input, target }).input === input);
 * tf.dispose([input, target]);
 * ```
 */
export function checkBatch(batch: unknown, where = "batch"): Batch {
  if (batch === null || typeof batch !== "object" || !("input" in batch || "target" in batch)) {
    const fields = batch !== null && typeof batch === "object"
      ? ` (it has {${Object.keys(batch).join(", ")}})`
      : "";
    throw new TrainingDataError(`${where} must be { input, target }${fields}`);
  }
  const b = batch as Batch;
  return {
    input: checkTensor(b.input, "input", where),
    target: checkTensor(b.target, "target", where),
  };
}

/**
 * Dispose every tensor-valued field of a batch (extra fields such as masks included).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { disposeBatch } from "@perceptual/loss/train";
 * await initBackend("cpu");
 * const b = { input: tf.zeros([1, 2, 2, 1]), target: tf.zeros([1, 2, 2, 1]) };
 * disposeBatch(b);
 * assert.ok(b.input.isDisposed);
 * ```
 */
export function disposeBatch(batch: unknown): void {
  if (batch === null || typeof batch !== "object") return;
  for (const value of Object.values(batch)) {
    if (value instanceof tf.Tensor) value.dispose();
  }
}

/**
 * Validation: run the model over held-out batches and average the metrics.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type * as tfl from "@tensorflow/tfjs-layers";
import { scope } from "../lifetime/mod.ts";
import type { LossFn } from "../loss/loss_result.ts";
import { type Batch, checkBatch, disposeBatch } from "./batch.ts";
import { TrainingDataError } from "./errors.ts";
import { type Forward, layersTrainable } from "./trainable.ts";

/**
 * Metric values of one batch: numbers, or scalars (read and disposed by the caller of the fn).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { type MetricValues, validate } from "@perceptual/loss/train";
 * await initBackend("cpu");
 * const fill = (v: number) => tf.fill([2, 4, 4, 3], v) as tf.Tensor4D;
 * const batches = () => [{ input: fill(0), target: fill(1) }];
 * const metrics = (p: tf.Tensor4D, y: tf.Tensor4D): MetricValues => ({
 *   mae: tf.mean(tf.abs(tf.sub(p, y))) as tf.Scalar, // a scalar: read and disposed by validate
 *   images: p.shape[0], // a plain number
 * });
 * assert.deepEqual(
 *   await validate((x) => tf.clone(x), batches, { metrics }),
 *   { mae: 1, images: 2 },
 * );
 * ```
 */
export type MetricValues = Readonly<Record<string, number | tf.Scalar>>;

/**
 * A metric function: prediction and target of one batch → named values (batch means), as numbers
 * or scalar tensors. The inputs are valid during the call only and must not be disposed.
 *
 * A plain (synchronous) function runs inside `scope()`, so its intermediate tensors need no care.
 * An `async` function (e.g. one awaiting the metrics module's `psnr`/`ssim`, which read the
 * tensors back) is awaited and must dispose any tensors it makes itself.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { psnr } from "@perceptual/loss/metrics";
 * import { type MetricsFn, validate } from "@perceptual/loss/train";
 * await initBackend("cpu");
 * const fill = (v: number) => tf.fill([1, 8, 8, 3], v) as tf.Tensor4D;
 * const batches = () => [{ input: fill(0.4), target: fill(0.5) }];
 * const metrics: MetricsFn = async (p, y) => ({ psnr: await psnr(p, y) }); // async: awaited
 * const { psnr: score } = await validate((x) => tf.clone(x), batches, { metrics });
 * assert.ok(Math.abs(score! - 20) < 1e-4); // MSE 0.01 → 20 dB
 * ```
 */
export type MetricsFn = (
  prediction: tf.Tensor4D,
  target: tf.Tensor4D,
) => MetricValues | Promise<MetricValues>;

/**
 * Validation batches: a function that makes them afresh each time (preferred), or an iterable.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { validate, type ValidationData } from "@perceptual/loss/train";
 * await initBackend("cpu");
 * const data: ValidationData = function* () { // a function: fresh tensors for every validation
 *   for (let i = 0; i < 3; i++) {
 *     yield { input: tf.fill([1, 2, 2, 1], i) as tf.Tensor4D, target: tf.zeros([1, 2, 2, 1]) };
 *   }
 * };
 * const metrics = (p: tf.Tensor4D, y: tf.Tensor4D) => ({
 *   mae: tf.mean(tf.abs(tf.sub(p, y))) as tf.Scalar,
 * });
 * // of 0, 1, 2
 * assert.deepEqual(
 *   await validate((x) => tf.clone(x), data, { metrics }),
 *   { mae: 1 },
 * );
 * assert.deepEqual(await validate((x) => tf.clone(x), data, { metrics }), { mae: 1 }); // again
 * ```
 */
export type ValidationData =
  | (() => AsyncIterable<Batch> | Iterable<Batch>)
  | AsyncIterable<Batch>
  | Iterable<Batch>;

/**
 * Options of {@linkcode validate}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { validate, type ValidateOptions } from "@perceptual/loss/train";
 * await initBackend("cpu");
 * const fill = (v: number) => tf.fill([1, 2, 2, 1], v) as tf.Tensor4D;
 * const data = function* () { // made lazily: only the batches taken exist
 *   for (const v of [1, 2, 3]) yield { input: fill(v), target: fill(0) };
 * };
 * const options: ValidateOptions = {
 *   loss: (p, y) => ({ total: tf.mean(tf.abs(tf.sub(p, y))) as tf.Scalar, terms: {} }),
 *   maxBatches: 2, // the first two batches only
 * };
 * assert.deepEqual(await validate((x) => tf.clone(x), data, options), { loss: 1.5 });
 * ```
 */
export interface ValidateOptions {
  /** Metrics per batch (e.g. PSNR and SSIM). */
  readonly metrics?: MetricsFn;
  /** Also report the training loss's total as `loss`. */
  readonly loss?: LossFn;
  /** Stop after this many batches. */
  readonly maxBatches?: number;
}

async function toNumber(name: string, v: number | tf.Scalar): Promise<number> {
  if (typeof v === "number") return v;
  if (v instanceof tf.Tensor && v.size === 1) return (await v.data())[0]!;
  throw new TypeError(`metric '${name}' must be a number or a scalar tensor`);
}

const AsyncFunction = (async () => {}).constructor;

async function runMetrics(
  fn: MetricsFn,
  pred: tf.Tensor4D,
  target: tf.Tensor4D,
): Promise<MetricValues> {
  if (fn instanceof AsyncFunction) return await fn(pred, target);
  let pending: Promise<unknown> | undefined;
  const got = scope(() => {
    const r = fn(pred, target);
    if (r instanceof Promise) {
      pending = r;
      return {};
    }
    return r as Record<string, number | tf.Scalar>;
  });
  if (pending !== undefined) {
    pending.catch(() => {});
    throw new TypeError(
      "a validation metrics function that returns a Promise must be declared async (plain " +
        "functions run synchronously inside scope())",
    );
  }
  return got;
}

/**
 * Run `model` (a tfjs-layers model or a forward function, in inference mode) over `data` and return each metric averaged over images (batch
 * means weighted by batch size). Every batch taken is disposed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import * as tfl from "@tensorflow/tfjs-layers";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { validate } from "@perceptual/loss/train";
 * await initBackend("cpu");
 * const model = tfl.sequential({ layers: [tfl.layers.conv2d({ filters: 3, kernelSize: 1, inputShape: [4, 4, 3] })] });
 * const batches = () => [0, 1].map(() => ({ input: tf.ones([2, 4, 4, 3]) as tf.Tensor4D, target: tf.ones([2, 4, 4, 3]) as tf.Tensor4D }));
 * const result = await validate(model, batches, {
 *   metrics: (p, t) => ({ mae: tf.mean(tf.abs(tf.sub(p, t))) as tf.Scalar }),
 * });
 * assert.deepEqual(Object.keys(result), ["mae"]);
 * ```
 */
export async function validate(
  model: tfl.LayersModel | Forward,
  data: ValidationData,
  options: ValidateOptions = {},
): Promise<Record<string, number>> {
  const forward = typeof model === "function" ? model : layersTrainable(model).forward;
  const iterable = typeof data === "function" ? data() : data;
  const sums: Record<string, number> = {};
  let images = 0;
  let batches = 0;
  const asyncIt = (iterable as AsyncIterable<Batch>)[Symbol.asyncIterator];
  const it: AsyncIterator<Batch> | Iterator<Batch> = asyncIt !== undefined
    ? asyncIt.call(iterable)
    : (iterable as Iterable<Batch>)[Symbol.iterator]();
  try {
    while (options.maxBatches === undefined || batches < options.maxBatches) {
      const r = await it.next();
      if (r.done) break;
      const raw = r.value;
      try {
        const { input, target } = checkBatch(raw, `validation batch ${batches}`);
        const n = input.shape[0];
        const pred = scope(() => forward(input, false) as tf.Tensor4D);
        try {
          const values: Record<string, number> = {};
          if (options.loss !== undefined) {
            const lossFn = options.loss;
            const total = scope(() => {
              const res = lossFn(pred, target);
              return res.total;
            });
            try {
              values.loss = await toNumber("loss", total);
            } finally {
              total.dispose();
            }
          }
          if (options.metrics !== undefined) {
            const metricsFn = options.metrics;
            const got = await runMetrics(metricsFn, pred, target);
            try {
              for (const [k, v] of Object.entries(got)) values[k] = await toNumber(k, v);
            } finally {
              tf.dispose(Object.values(got).filter((v) => v instanceof tf.Tensor));
            }
          }
          for (const [k, v] of Object.entries(values)) sums[k] = (sums[k] ?? 0) + v * n;
          images += n;
        } finally {
          pred.dispose();
        }
      } finally {
        disposeBatch(raw);
      }
      batches++;
    }
  } finally {
    await it.return?.();
  }
  if (images === 0) {
    throw new TrainingDataError(
      "validation data yielded no batches; if it is a generator, pass a function that creates it " +
        "(() => gen()) so it can run at every validation",
    );
  }
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(sums)) out[k] = v / images;
  return out;
}

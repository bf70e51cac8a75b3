/**
 * Sample images during training: predictions on fixed (or current) inputs, every N steps.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { scope } from "../lifetime/mod.ts";
import { type Batch, checkBatch } from "./batch.ts";
import type { Callback } from "./callbacks.ts";

/**
 * Saves one HWC image with values in [0, 1] (e.g. the data module's `saveImage`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { trainer, type SaveImageFn } from "@perceptual/loss/train";
 * await initBackend("cpu");
 * const image = tf.variable(tf.zeros([1, 4, 4, 3])); // what is trained: one small image
 * const loss = (p: tf.Tensor4D, y: tf.Tensor4D) => {
 *   const pixel = tf.mean(tf.abs(tf.sub(p, y))) as tf.Scalar;
 *   return { total: tf.clone(pixel), terms: { pixel } };
 * };
 * using t = trainer({ params: [image], forward: () => tf.add(image, 0), loss });
 * const grey = (v: number) => tf.fill([1, 4, 4, 3], v) as tf.Tensor4D;
 * const batch = () => ({ input: grey(0), target: grey(0.5) }); // learn to output grey 0.5
 * const data = () => [batch(), batch()]; // 2 batches an epoch, made afresh
 * const saved: string[] = [];
 * const save: SaveImageFn = (path, img) => { // e.g. saveImage from the data module
 *   saved.push(`${path.split("/").pop()} ${img.shape}`);
 * };
 * const dir = await Deno.makeTempDir(); // default: <runDir>/samples
 * await t.fit(data, { steps: 2, quiet: true, samples: { every: 2, count: 1, save, dir } });
 * assert.equal(saved.length, 3);
 * assert.equal(saved[0], "step-00000002_0.png 4,4,3"); // then its input and target
 * image.dispose();
 * ```
 */
export type SaveImageFn = (path: string, image: tf.Tensor3D) => Promise<void> | void;

/**
 * Given to {@linkcode SampleOptions.onSample}; the tensors are valid during the call only.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { trainer, type SampleEvent } from "@perceptual/loss/train";
 * await initBackend("cpu");
 * const image = tf.variable(tf.zeros([1, 4, 4, 3])); // what is trained: one small image
 * const loss = (p: tf.Tensor4D, y: tf.Tensor4D) => {
 *   const pixel = tf.mean(tf.abs(tf.sub(p, y))) as tf.Scalar;
 *   return { total: tf.clone(pixel), terms: { pixel } };
 * };
 * using t = trainer({ params: [image], forward: () => tf.add(image, 0), loss });
 * const grey = (v: number) => tf.fill([1, 4, 4, 3], v) as tf.Tensor4D;
 * const batch = () => ({ input: grey(0), target: grey(0.5) }); // learn to output grey 0.5
 * const data = () => [batch(), batch()]; // 2 batches an epoch, made afresh
 * const onSample = async (e: SampleEvent) => {
 *   // Adam moves each pixel by about lr = 0.001 a step
 *   assert.equal((await e.prediction.data())[0]!.toFixed(3), (e.step * 0.001).toFixed(3));
 * };
 * await t.fit(data, { steps: 4, quiet: true, samples: { every: 2, onSample } });
 * image.dispose();
 * ```
 */
export interface SampleEvent {
  /** The step just taken. */
  readonly step: number;
  /** The sample inputs. */
  readonly input: tf.Tensor4D;
  /** Their targets. */
  readonly target: tf.Tensor4D;
  /** The model's predictions (inference mode), as the model output them. */
  readonly prediction: tf.Tensor4D;
}

/**
 * Options of {@linkcode sampleImages} (and `fit`'s `samples`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { trainer, type SampleOptions } from "@perceptual/loss/train";
 * await initBackend("cpu");
 * const image = tf.variable(tf.zeros([1, 4, 4, 3])); // what is trained: one small image
 * const loss = (p: tf.Tensor4D, y: tf.Tensor4D) => {
 *   const pixel = tf.mean(tf.abs(tf.sub(p, y))) as tf.Scalar;
 *   return { total: tf.clone(pixel), terms: { pixel } };
 * };
 * using t = trainer({ params: [image], forward: () => tf.add(image, 0), loss });
 * const grey = (v: number) => tf.fill([1, 4, 4, 3], v) as tf.Tensor4D;
 * const batch = () => ({ input: grey(0), target: grey(0.5) }); // learn to output grey 0.5
 * const data = () => [batch(), batch()]; // 2 batches an epoch, made afresh
 * const fixed = batch(); // the same inputs at every sample step
 * const steps: number[] = [];
 * const samples: SampleOptions = {
 *   every: 3, batch: fixed, count: 1, onSample: (e) => void steps.push(e.step),
 * };
 * await t.fit(data, { steps: 7, quiet: true, samples });
 * assert.deepEqual(steps, [3, 6, 7]); // every 3 steps, and after the last
 * tf.dispose([fixed, image]);
 * ```
 */
export interface SampleOptions {
  /** Every this many steps (and after the last step). */
  readonly every: number;
  /** Fixed sample inputs (the caller owns them). Default: the current training batch. */
  readonly batch?: Batch;
  /** Images per sample (default 4). */
  readonly count?: number;
  /** Write PNGs with this function (e.g. `saveImage` from the data module). */
  readonly save?: SaveImageFn;
  /** Where PNGs go (default `<runDir>/samples`). */
  readonly dir?: string;
  /** The model's output range, mapped to [0, 1] and clipped before saving (default [0, 1]). */
  readonly range?: readonly [number, number];
  /** Called with the tensors at each sample step. */
  readonly onSample?: (event: SampleEvent) => Promise<void> | void;
}

/**
 * A callback that runs the model on sample inputs every `every` steps and at the last step, then
 * hands the tensors to `onSample` and/or writes `step-00000100_0.png`, … with `save` (inputs and
 * targets are written once as `input_0.png`, `target_0.png` for a fixed batch, or next to each
 * prediction as `step-…_0_input.png` for training batches).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { sampleImages, trainer } from "@perceptual/loss/train";
 * const seen: number[] = [];
 * const cb = sampleImages({ every: 100, onSample: (e) => void seen.push(e.step) }, undefined);
 * await initBackend("cpu");
 * const w = tf.variable(tf.zeros([1, 1, 1, 3]));
 * using t = trainer({
 *   params: [w],
 *   forward: (x) => tf.add(x, w),
 *   loss: (p, q) => {
 *     const pixel = tf.mean(tf.abs(tf.sub(p, q))) as tf.Scalar;
 *     return { total: tf.clone(pixel), terms: { pixel } };
 *   },
 * });
 * const data = function* () {
 *   for (;;) yield { input: tf.zeros([1, 2, 2, 3]) as tf.Tensor4D, target: tf.ones([1, 2, 2, 3]) as tf.Tensor4D };
 * };
 * await t.fit(data, { steps: 3, callbacks: [cb], progress: false });
 * assert.deepEqual(seen, [3]); // every 100 steps, and at the last one
 * ```
 */
export function sampleImages(options: SampleOptions, runDir: string | undefined): Callback {
  const every = options.every;
  if (!(Number.isInteger(every) && every > 0)) {
    throw new RangeError(`samples.every must be an integer > 0, got ${every}`);
  }
  const count = options.count ?? 4;
  const [lo, hi] = options.range ?? [0, 1];
  const dir = options.dir ?? (runDir === undefined ? undefined : `${runDir}/samples`);
  if (options.save !== undefined && dir === undefined) {
    throw new RangeError("samples.save needs a directory: pass samples.dir or fit's runDir");
  }
  let total: number | undefined;
  let fixedWritten = false;

  async function saveAll(images: tf.Tensor4D, name: (i: number) => string): Promise<void> {
    const n = Math.min(count, images.shape[0]);
    for (let i = 0; i < n; i++) {
      const image = scope(() =>
        tf.clipByValue(
          tf.div(
            tf.sub(tf.squeeze(tf.slice(images, [i, 0, 0, 0], [1, -1, -1, -1]), [0]), lo),
            hi - lo,
          ),
          0,
          1,
        ) as tf.Tensor3D
      );
      try {
        await options.save!(`${dir}/${name(i)}`, image);
      } finally {
        image.dispose();
      }
    }
  }

  return {
    async onFitStart(e) {
      total = e.totalSteps;
      if (dir !== undefined && options.save !== undefined) {
        await Deno.mkdir(dir, { recursive: true });
      }
    },
    async onStepEnd(e) {
      const step = e.metrics.step;
      if (step % every !== 0 && step !== total) return;
      const fixed = options.batch !== undefined;
      const { input, target } = fixed ? checkBatch(options.batch!, "samples.batch") : e.batch;
      const prediction = scope(() => e.forward(input, false) as tf.Tensor4D);
      try {
        await options.onSample?.({ step, input, target, prediction });
        if (options.save === undefined) return;
        const tag = `step-${String(step).padStart(8, "0")}`;
        await saveAll(prediction, (i) => `${tag}_${i}.png`);
        if (fixed && !fixedWritten) {
          await saveAll(input, (i) => `input_${i}.png`);
          await saveAll(target, (i) => `target_${i}.png`);
          fixedWritten = true;
        } else if (!fixed) {
          await saveAll(input, (i) => `${tag}_${i}_input.png`);
          await saveAll(target, (i) => `${tag}_${i}_target.png`);
        }
      } finally {
        prediction.dispose();
      }
    },
  };
}

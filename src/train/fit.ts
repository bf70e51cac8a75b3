/**
 * The options and result of `fit` (epochs/steps over a data source, validation, callbacks,
 * checkpoints, resume); the loop itself is `_fit_loop.ts`.
 *
 * @module
 */
import type { Callback, StepMetrics } from "./callbacks.ts";
import type { ProgressOptions } from "./progress.ts";
import type { RunDirectory } from "./run_dir.ts";
import type { RunReport } from "./run_report.ts";
import type { SampleOptions } from "./samples.ts";
import type { MetricsFn, ValidationData } from "./validation.ts";

/**
 * Validation during `fit`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { trainer, type FitValidation } from "@perceptual/loss/train";
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
 * const validation: FitValidation = {
 *   data: () => [batch()], // made afresh for each validation
 *   every: 2,
 *   metrics: (p, y) => ({ maxError: tf.max(tf.abs(tf.sub(p, y))) as tf.Scalar }),
 * };
 * const result = await t.fit(data, { steps: 4, quiet: true, validation });
 * assert.deepEqual(Object.keys(result.validation ?? {}), ["loss", "maxError"]);
 * image.dispose();
 * ```
 */
export interface FitValidation {
  /** Held-out batches; a function that makes them afresh is best (each batch is disposed). */
  readonly data: ValidationData;
  /** Every this many steps, and after the last step. */
  readonly every: number;
  /** Metrics per batch, e.g. `(p, t) => ({ psnr: psnr(p, t), ssim: ssim(p, t) })`. */
  readonly metrics?: MetricsFn;
  /** Also report the training loss on validation data as `loss` (default true). */
  readonly loss?: boolean;
  /** Use at most this many batches. */
  readonly maxBatches?: number;
}

/**
 * Options of `Trainer.fit`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { trainer, type FitOptions, listCheckpoints } from "@perceptual/loss/train";
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
 * const runDir = `${await Deno.makeTempDir()}/run`;
 * const options: FitOptions = {
 *   steps: 6, runDir, checkpointEvery: 2, keepCheckpoints: 2, quiet: true,
 * };
 * await t.fit(data, options);
 * assert.deepEqual((await listCheckpoints(`${runDir}/checkpoints`)).map((c) => c.step), [6, 4]);
 * image.dispose();
 * ```
 */
export interface FitOptions {
  /**
   * The run length in steps (the schedule's `totalSteps`). Training continues from the trainer's
   * current step (0, or the checkpoint's after a resume) up to this total. When resuming it may
   * be left out: the checkpoint's run length is used, so the schedule continues where it
   * stopped; a different value extends (or shortens) the run, with a note.
   */
  readonly steps?: number;
  /** Stop after this many epochs (an epoch ends when the data ends, or after `stepsPerEpoch`). */
  readonly epochs?: number;
  /** Batches per epoch; with `epochs` it also gives the run length when `steps` is absent. */
  readonly stepsPerEpoch?: number;
  /** Validation data, interval and metrics. */
  readonly validation?: FitValidation;
  /** Your callbacks, called after the built-in ones. */
  readonly callbacks?: readonly Callback[];
  /**
   * The run directory: `run.json` (marker), `metrics.csv`, `checkpoints/step-NNNNNNNN/`,
   * `samples/`. Created if absent; an existing non-empty directory is refused unless it holds a
   * previous run and `resume` is true. Nothing that is not ours is ever changed there. A path,
   * or a {@linkcode RunDirectory} (e.g. one that keeps no checkpoints).
   */
  readonly runDir?: string | RunDirectory;
  /** Write a checkpoint every this many steps (one is always written at the end). */
  readonly checkpointEvery?: number;
  /** Keep the newest this many checkpoints (default 3; for a path `runDir`). */
  readonly keepCheckpoints?: number;
  /**
   * Continue the run in `runDir` from its newest complete checkpoint (from step 0, with a note,
   * when it has none yet). A `runDir` that holds no run is refused with `RunDirError`.
   */
  readonly resume?: boolean;
  /** Sample images: see `SampleOptions`. */
  readonly samples?: SampleOptions;
  /**
   * The live `report.html` in `runDir` (plots of every loss term, validation and the learning
   * rate, and the run's images), kept up to date during training: a {@linkcode RunReport} (to
   * give it a title and add the final table with its `finish`), or false for none. Default: one
   * with default options whenever there is a `runDir`.
   */
  readonly report?: RunReport | false;
  /** The progress display (default on: a bar on a TTY, plain lines otherwise); false = quiet. */
  readonly progress?: boolean | ProgressOptions;
  /** Same as `progress: false`. */
  readonly quiet?: boolean;
  /**
   * Stop cleanly after the current step (a checkpoint is written when `runDir` is set, and
   * `run.json` and the report say the run was interrupted).
   */
  readonly signal?: AbortSignal;
  /**
   * How to continue this run, recorded in `run.json` when it stops early (default: "fit again
   * with resume: true"); a command-line tool gives its own command here.
   */
  readonly resumeHint?: string;
  /**
   * Also check the global tensor count after every step (lifetime's `leakGuard`), which catches
   * leaks in callbacks too. Off by default: a data source that prefetches makes that count
   * fluctuate. The trainer's own per-step check is always on unless `leakCheck: false`.
   */
  readonly leakGuard?: boolean;
}

/**
 * What `fit` returns.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { trainer, type FitResult } from "@perceptual/loss/train";
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
 * const result: FitResult = await t.fit(data, { steps: 4, quiet: true });
 * assert.equal(result.step, 4);
 * assert.equal(result.stepsRun, 4);
 * assert.equal(result.reason, "done");
 * assert.equal(result.last?.step, 4);
 * assert.equal(result.checkpoint, undefined); // no runDir, so no checkpoint
 * image.dispose();
 * ```
 */
export interface FitResult {
  /** Steps completed in total. */
  readonly step: number;
  /** Steps run by this call. */
  readonly stepsRun: number;
  /** `done` or `stopped` (the abort signal fired). */
  readonly reason: "done" | "stopped";
  /** The checkpoint this call resumed from, if any. */
  readonly resumedFrom: string | undefined;
  /** The last step's metrics. */
  readonly last: StepMetrics | undefined;
  /** The last validation results. */
  readonly validation: Readonly<Record<string, number>> | undefined;
  /** The last checkpoint written, if any. */
  readonly checkpoint: string | undefined;
}

/**
 * Training: {@linkcode trainer} turns a model (or bare variables and a forward function, for
 * pixel optimisation), a loss, an optimizer and a learning-rate schedule into `step(batch)` and
 * `fit(data, options)` with validation, progress, a metrics CSV, sample images, atomic
 * checkpoints kept by a {@linkcode runDirectory}, and exact resume.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import * as tfl from "@tensorflow/tfjs-layers";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { type DataFactory, oneCycle, trainer } from "@perceptual/loss/train";
 * await initBackend("cpu");
 * const model = tfl.sequential({
 *   layers: [tfl.layers.conv2d({ filters: 3, kernelSize: 3, padding: "same", inputShape: [8, 8, 3] })],
 * });
 * const data: DataFactory = function* ({ seed, epoch, batch }) {
 *   for (let i = batch; i < 4; i++) {
 *     const x = tf.randomUniform([2, 8, 8, 3], 0, 1, "float32", seed + 100 * epoch + i) as tf.Tensor4D;
 *     yield { input: x, target: tf.clone(x) };
 *   }
 * };
 * using t = trainer({
 *   model,
 *   schedule: oneCycle({ lr: 1e-2 }),
 *   loss: (pred, target) => {
 *     const pixel = tf.mean(tf.abs(tf.sub(pred, target))) as tf.Scalar;
 *     return { total: tf.clone(pixel), terms: { pixel } };
 *   },
 * });
 * const result = await t.fit(data, { steps: 8, quiet: true });
 * assert.equal(result.step, 8);
 * ```
 *
 * @module
 */
export {
  type Batch,
  checkBatch,
  type DataFactory,
  type DataPosition,
  disposeBatch,
  type TrainingData,
} from "./batch.ts";
export type {
  Callback,
  FitEndEvent,
  FitStartEvent,
  StepEndEvent,
  StepMetrics,
} from "./callbacks.ts";
export {
  type Checkpoint,
  checkpointName,
  type CheckpointState,
  type NamedArray,
  readCheckpoint,
  type StoredDtype,
  type TensorSpec,
  writeCheckpoint,
} from "./checkpoint.ts";
export {
  type CheckpointEntry,
  type LatestCheckpoint,
  latestCheckpoint,
  listCheckpoints,
  pruneCheckpoints,
  removeStaleTemps,
} from "./checkpoint_dir.ts";
export * from "./errors.ts";
export type { FitOptions, FitResult, FitValidation } from "./fit.ts";
export { formatDuration, formatNumber, progressBar, type ProgressOptions } from "./progress.ts";
export {
  type OpenedRun,
  prepareRunDir,
  type RunDirectory,
  runDirectory,
  type RunDirectoryOptions,
  type RunDirStatus,
  type RunStatus,
} from "./run_dir.ts";
export { acquireRunLock, RUN_LOCK, type RunLock } from "./run_lock.ts";
export { type SampleEvent, sampleImages, type SampleOptions, type SaveImageFn } from "./samples.ts";
export {
  constant,
  cosine,
  cosineAnneal,
  type CosineOptions,
  oneCycle,
  type OneCycleOptions,
  type Schedule,
} from "./schedule.ts";
export {
  type Forward,
  layersTrainable,
  type Trainable,
  variablesTrainable,
  type VariablesTrainableOptions,
} from "./trainable.ts";
export {
  renderReport,
  type ReportData,
  reportDataFromCsv,
  type ReportImage,
  type ReportStepRow,
  type ReportTable,
  type ReportValidationRow,
  writeReport,
} from "./report.ts";
export {
  type ReportExtras,
  type RunReport,
  runReport,
  type RunReportOptions,
} from "./run_report.ts";
export {
  allocationFailure,
  isAllocationFailure,
  StepMemoryError,
  type StepMemoryFacts,
  usableAfter,
} from "./memory_error.ts";
export { type Trainer, trainer, type TrainerOptions, type TrainerState } from "./trainer.ts";
export {
  averageRate,
  type WeightAverage,
  weightAverage,
  type WeightAverageOptions,
} from "./weight_average.ts";
export {
  type MetricsFn,
  type MetricValues,
  validate,
  type ValidateOptions,
  type ValidationData,
} from "./validation.ts";

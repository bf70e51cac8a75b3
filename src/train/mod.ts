/**
 * Training: {@linkcode trainer} turns a model, a loss, an optimizer and a learning-rate schedule
 * into `step(batch)` and `fit(data, options)` with validation, progress, a metrics CSV, sample
 * images, atomic checkpoints and exact resume.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import * as tfl from "@tensorflow/tfjs-layers";
 * import { initBackend } from "../backend/mod.ts";
 * import { type DataFactory, oneCycle, trainer } from "./mod.ts";
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
 *   schedule: oneCycle({ lrMax: 1e-2 }),
 *   loss: (pred, target) => {
 *     const pixel = tf.mean(tf.abs(tf.sub(pred, target))) as tf.Scalar;
 *     return { total: tf.clone(pixel), terms: { pixel } };
 *   },
 * });
 * const result = await t.fit(data, { steps: 8, quiet: true });
 * console.log(result.step); // 8
 * ```
 *
 * @module
 */
export * from "./batch.ts";
export * from "./callbacks.ts";
export {
  type Checkpoint,
  checkpointName,
  type CheckpointState,
  type LatestCheckpoint,
  latestCheckpoint,
  type NamedArray,
  readCheckpoint,
  type StoredDtype,
  type TensorSpec,
} from "./checkpoint.ts";
export * from "./errors.ts";
export type { FitOptions, FitResult, FitValidation } from "./fit.ts";
export { metricsCsv, type MetricsCsvOptions } from "./metrics_csv.ts";
export { formatDuration, formatNumber, progressBar, type ProgressOptions } from "./progress.ts";
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
export { RUN_MARKER } from "./run_dir.ts";
export { type SampleEvent, sampleImages, type SampleOptions, type SaveImageFn } from "./samples.ts";
export * from "./schedule.ts";
export { type Trainer, trainer, type TrainerOptions, type TrainerState } from "./trainer.ts";
export {
  type MetricsFn,
  type MetricValues,
  validate,
  type ValidateOptions,
  type ValidationData,
} from "./validation.ts";

/**
 * The experiment layer above `fit`: what makes a training script pleasant, for the examples and
 * for any script of yours. A run directory whose `config.json` is the source of truth (resume
 * from the folder alone with `--resume --out DIR`), an exclusive lock, the progress line,
 * `metrics.csv`, checkpoints, `report.html` with plots and pictures, the loss-network picker
 * (cached ImageNet VGG-16, else the embedded VGG-19 blocks), the run's loss (read back on
 * resume) and its per-kind balance, photo splits, result tables (any metrics; the SR protocol
 * against bicubic), whole-photo panels, and a reusable command-line layer (a flag table read by
 * `node:util` parseArgs, `--help`, `--resume`).
 *
 * @example
 * ```ts
 * import { command, count, sharedFlags } from "@perceptual/loss/experiment";
 * import assert from "node:assert/strict";
 *
 * const FLAGS = {
 *   ...sharedFlags({
 *     prefix: "mine", data: "photos", steps: "100", lr: "1e-3", crop: "crop size",
 *     depth: "2", filters: "16", samples: ["4", "samples"], sampleEvery: ["25", "every N steps"],
 *   }),
 *   quality: count("20", "JPEG quality of the inputs", 100),
 * };
 * const cli = command("mine.ts", "My training script.", FLAGS, async () => {});
 * const o = cli.parse(["--quality", "30", "--steps", "10"]);
 * assert.ok(o !== "help" && o.quality === 30 && o.steps === 10 && o.lr === 1e-3);
 * ```
 *
 * @module
 */
export { balancePerceptual } from "./balance.ts";
export {
  type Command,
  command,
  helpText,
  oneLine,
  parseFlags,
  programName,
  runMain,
  scriptOf,
  timestamp,
} from "./cli.ts";
export { InterruptedError, UsageError } from "./errors.ts";
export {
  absolutePaths,
  MAY_CHANGE_ON_RESUME,
  PATH_FLAGS,
  readRunConfig,
  resumeOptions,
} from "./run_options.ts";
export { type EvalPair, heldOutPairs, loadEvalPairs, predictSr } from "./eval_pairs.ts";
export { experiment, type ExperimentOptions, type PairRequest } from "./experiment.ts";
export {
  count,
  type Flag,
  flag,
  type Flags,
  type FlagValues,
  List,
  list,
  NonNegativeInt,
  NonNegativeNumber,
  numberFrom,
  orNaN,
  PositiveInt,
  positiveIntUpTo,
  PositiveNumber,
  text,
  toggle,
  weight,
} from "./flag_table.ts";
export {
  type SharedDefaults,
  type SharedFlags,
  sharedFlags,
  type SharedOptions,
  unetConfig,
} from "./flags.ts";
export {
  photoPanels,
  type PhotoPanelsOptions,
  saveAndDispose,
  sideBySide,
  writePanel,
} from "./images.ts";
export {
  loadSplitImages,
  readResized,
  usableFolder,
  WHOLE_PHOTO_MAX_ELEMENTS,
} from "./split_photos.ts";
export { finishRun, heldOutValidation, type RunResults, stepsDone } from "./results.ts";
export {
  readLossSpec,
  runLoss,
  type RunLossOptions,
  type StoredLoss,
  storedLoss,
  type TermShares,
  termShares,
  unscaledOnly,
  weightsText,
} from "./run_loss.ts";
export { type SrHeldOut, srHeldOut, type SrHeldOutOptions } from "./sr_held_out.ts";
export {
  type SrResultRow,
  srResultRows,
  type SrSet,
  srTable,
  srValidationMetrics,
} from "./sr_table.ts";
export { featureDistance, targetOnce, type TargetOnceFn } from "./target_once.ts";
export {
  EMBEDDED_VGG19_DIR,
  type LossNetworkKind,
  NoLossNetworkError,
  type PickedLossNetwork,
  pickLossNetwork,
  type PickLossNetworkOptions,
} from "./loss_network.ts";
export {
  defaultMetrics,
  type ImageScored,
  lossMetric,
  lpipsMetric,
  type LpipsMetricFn,
  type Method,
  type MetricFn,
  type MetricImage,
  type MetricSet,
  type MetricTable,
  metricTable,
  type MetricTableOptions,
  type MetricValue,
  type TargetScorer,
} from "./metric_table.ts";
export { openSession, type Session, train, type TrainedRun, type TrainPlan } from "./session.ts";
export { saveModelAtomically } from "./save_model.ts";
export { type Cell, type Column, formatTable } from "./table.ts";
export {
  coverCrop,
  predictWholeImages,
  REFLECT_MARGIN,
  type WholeImageOptions,
  type WholeImageRow,
} from "./whole_images.ts";
export { type LossRow, lossTable, lossTableText } from "./loss_table.ts";
export { type OptimizedPixels, optimizePixels, type PixelPlan } from "./optimize_pixels.ts";
export { type Photos, readPhoto, readPhotos } from "./photos.ts";
export {
  STYLE_CONTENT_LAYER,
  STYLE_LAYER_WEIGHTS,
  STYLE_LAYERS,
  styleLayersOf,
  type StyleLossFlags,
  styleLossFlags,
  styleLossOf,
} from "./style_loss_flags.ts";

/**
 * perceptual-loss: train image-to-image networks (super-resolution, colourisation, style transfer)
 * with perceptual losses on TensorFlow.js.
 *
 * Losses are values: `feature(layer) ⊕ style(layer) ⊕ pixel()`, combined with an fp-ts monoid and
 * evaluated with ONE pass of a frozen VGG network up to the deepest layer any term needs.
 *
 * This root holds what a user composes with; the rest lives in the subpaths `./loss`,
 * `./network`, `./vgg`, `./unet`, `./train`, `./data`, `./metrics`, `./backend`, `./lifetime`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { pipe } from "fp-ts/lib/function.js";
 * import { evaluate, plus } from "@perceptual/loss/loss";
 * import { feature, pixel, style } from "@perceptual/loss";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { scope } from "@perceptual/loss/lifetime";
 * import { vgg16 } from "@perceptual/loss/vgg";
 *
 * await initBackend("cpu");
 * // Seeded random weights keep the example offline; use `weights: "imagenet"` for real features.
 * using net = await vgg16({ weights: { random: 1 }, upTo: "block2_conv2" });
 * const loss = pipe(
 *   feature("block2_conv2", { distance: "l1", weight: 1 }),
 *   plus(style("block1_conv2", { normalisation: "chw", weight: 10 })),
 *   plus(pixel({ distance: "l1" })),
 * );
 * const lossFn = evaluate(loss, net);
 * const target = tf.randomUniform([1, 32, 32, 3]) as tf.Tensor4D;
 * const prediction = tf.randomUniform([1, 32, 32, 3]) as tf.Tensor4D;
 * const grad = scope(() => tf.grad((p) => lossFn(p as tf.Tensor4D, target).total)(prediction));
 * assert.deepEqual(grad.shape, [1, 32, 32, 3]);
 * tf.dispose([grad, target, prediction]);
 * ```
 *
 * @module
 */
// Backends
export { type BackendChoice, type BackendName, initBackend } from "./src/backend/mod.ts";
// Tensor lifetime
export { assertNoLeak, leakGuard, type Owner, scope } from "./src/lifetime/mod.ts";
// Errors
export {
  checkNotEmpty,
  DecodeError,
  type DecodeIssue,
  EmptyInputError,
  PerceptualError,
  UnknownOptionError,
} from "./src/errors/mod.ts";
// Loss networks
export { fromLayersModel, type LossNetwork, UnknownLayerError } from "./src/network/mod.ts";
export { beforePools, vgg16, type Vgg16Layer, vgg19, type Vgg19Layer } from "./src/vgg/mod.ts";
// The loss algebra, its evaluation and presets
export {
  calibrate,
  concatLoss,
  decodeLossSpec,
  defineTermKind,
  encodeLossSpec,
  evaluate,
  fastaiFeatureLoss,
  feature,
  featureScales,
  johnson2016,
  type Loss,
  type LossFn,
  LossMonoid,
  type LossResult,
  LossSemigroup,
  pixel,
  plus,
  precomputeTarget,
  registerTermKind,
  style,
  totalVariation,
  weighted,
} from "./src/loss/mod.ts";
// The U-Net
export {
  loadModel,
  predictImage,
  registerLayers,
  saveModel,
  unet,
  type UNetConfig,
} from "./src/unet/mod.ts";
// Training
export {
  constant,
  cosine,
  type FitOptions,
  oneCycle,
  type Trainer,
  trainer,
  type TrainerOptions,
} from "./src/train/mod.ts";
// Data
export {
  type Batch,
  bicubicDownscale,
  bicubicUpscale,
  imagePairs,
  loadImage,
  saveImage,
  srPairs,
} from "./src/data/mod.ts";
// Metrics
export { psnr, ssim } from "./src/metrics/mod.ts";
// Experiments: a whole training script (run directory, resume, report, final table)
export {
  experiment,
  type ExperimentOptions,
  metricTable,
  pickLossNetwork,
  UsageError,
} from "./src/experiment/mod.ts";

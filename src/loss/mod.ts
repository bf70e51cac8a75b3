/**
 * The loss algebra: `feature ⊕ style ⊕ pixel ⊕ tv` as fp-ts values over a loss network's layers,
 * evaluated in one network pass for the prediction and one tape-free pass for the target, with
 * presets (fastai, Johnson et al. 2016), feature-scale calibration and a JSON spec.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { pipe } from "fp-ts/lib/function.js";
 * import { initBackend } from "@perceptual/loss/backend";
 * import type { LossNetwork } from "@perceptual/loss/network";
 * import { evaluate, feature, pixel, plus, style } from "@perceptual/loss/loss";
 * await initBackend("cpu");
 * const net: LossNetwork<"relu"> = {
 *   name: "toy", layers: ["relu"], inputConvention: { preprocessing: "none", range: "[0,1]" },
 *   depthOf: () => 0,
 *   extract: (x, layers) => Object.fromEntries(layers.map((l) => [l, tf.relu(x)])) as never,
 *   dispose() {}, [Symbol.dispose]() {},
 * };
 * const loss = pipe(pixel(), plus(feature("relu", { weight: 2 })), plus(style("relu")));
 * const lossFn = evaluate(loss, net);
 * const grad = tf.grad((p: tf.Tensor) => lossFn(p as tf.Tensor4D, tf.zeros([1, 4, 4, 3])).total);
 * assert.deepEqual(grad(tf.ones([1, 4, 4, 3])).shape, [1, 4, 4, 3]);
 * ```
 *
 * @module
 */
export type { LossFn, LossResult, NetworkUse } from "./loss_result.ts";
export {
  type BuiltinTerm,
  checkWeight,
  type Distance,
  DISTANCES,
  type FeatureOptions,
  type FeatureTerm,
  GRAM_NORMALISATIONS,
  type GramNormalisation,
  NUMBER_RULES,
  type NumberRule,
  type PixelTerm,
  type Reduction,
  REDUCTIONS,
  type StyleOptions,
  type StyleTerm,
  type Term,
  TERM_DEFAULTS,
  type TermBase,
  type TermCommon,
  type TermKind,
  type TermOptions,
  type TvTerm,
} from "./term.ts";
export {
  type CalibrationRule,
  type FieldCodec,
  type FieldRule,
  type Kind,
  kindNamed,
  kindOf,
  LayerField,
  NonEmptyText,
  NumberField,
  registeredKinds,
  registerTermKind,
  type Representation,
  type SideView,
  TermKindError,
  termWith,
} from "./kind.ts";
export {
  defineTermKind,
  type KindOptions,
  type OwnFields,
  type TermKindDef,
  type TermKindSpec,
  UnknownTermOptionError,
} from "./define_kind.ts";
// The built-in kinds: one file each under kinds/, one export line each in kinds/mod.ts.
export * from "./kinds/mod.ts";
export {
  type AnyLayer,
  concatLoss,
  emptyLoss,
  getLossMonoid,
  getLossSemigroup,
  type Loss,
  LossMonoid,
  lossOf,
  LossSemigroup,
  networkOf,
  plus,
  tapsOf,
  termName,
  termNames,
  weighted,
} from "./loss.ts";
export { assertFiniteLoss, evaluate, type EvaluateOptions, type TargetLossFn } from "./evaluate.ts";
export {
  type PrecomputableKind,
  PrecomputedTarget,
  type PrecomputeOptions,
  precomputeTarget,
} from "./precompute.ts";
export { calibrate, type CalibrationOptions, featureScales, withFeatureScales } from "./scale.ts";
export {
  fastaiFeatureLoss,
  type FastaiFeatureLossOptions,
  johnson2016,
  johnson2016StyleTransfer,
  johnson2016SuperResolution,
  type JohnsonStyleTransferOptions,
  type JohnsonSuperResolutionOptions,
} from "./presets.ts";
export { styleTransferLoss, type StyleTransferLossOptions } from "./style_transfer_loss.ts";
export {
  decodeLossSpec,
  type DecodeLossSpecOptions,
  decodeLossSpecOrThrow,
  LOSS_SPEC_LIMITS,
  type LossSpec,
  LossSpecCodec,
  type TermSpec,
  TermSpecCodec,
} from "./spec.ts";
export { encodeLossSpec, type EncodeOptions } from "./spec_encode.ts";
export {
  InvalidTermOptionError,
  InvalidWeightError,
  LossInputError,
  NonFiniteLossError,
  PredictionRangeError,
} from "./errors.ts";

/**
 * U-Nets for image-to-image training: {@linkcode unet} builds one from a {@linkcode UNetConfig}
 * (decoded from JSON with {@linkcode decodeUNetConfig}), {@linkcode saveModel} /
 * {@linkcode loadModel} write and read TensorFlow.js's standard layers format, and
 * {@linkcode registerLayers} lets stock TensorFlow.js load those files.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { decodeUNetConfigOrThrow, parameterCount, unet } from "@perceptual/loss/unet";
 * await initBackend("cpu");
 * const model = unet(decodeUNetConfigOrThrow({ depth: 2, baseFilters: 8, scale: 2, outputRange: [0, 1] }));
 * assert.ok(parameterCount(model, "trainable") > 0);
 * const y = model.predict(tf.zeros([1, 16, 16, 3])) as tf.Tensor;
 * assert.deepEqual(y.shape, [1, 32, 32, 3]);
 * tf.dispose(y);
 * model.dispose();
 * ```
 *
 * @module
 */
import { setTileBudget } from "./_tile_budget.ts";
import { denoMaxElements as denoBudget } from "./deno_tile_budget.ts";

export {
  type ActivationName,
  ACTIVATIONS,
  decodeUNetConfig,
  decodeUNetConfigOrThrow,
  defaultUNetConfig,
  MAX_DEPTH,
  NORM_MODES,
  type NormMode,
  RESIDUAL_UPSAMPLES,
  type ResidualUpsample,
  SCALES,
  type UNetConfig,
  UNetConfigCodec,
  type UNetScale,
  UPSAMPLE_MODES,
  type UpsampleMode,
} from "./config.ts";
export { ModelDisposedError, PredictImageInputError, UNetInputSizeError } from "./errors.ts";
export { parameterCount, unet } from "./unet.ts";
export { ChromaToRgb, chromaToRgb, type ChromaToRgbArgs } from "./chroma_layer.ts";
export { InstanceNorm, type InstanceNormArgs } from "./instance_norm.ts";
export { colorizer, type ColorizerOptions } from "./colorizer.ts";
export {
  fileSystemHandler,
  loadModel,
  ModelFilesError,
  ModelTopologyError,
  saveModel,
} from "./model_io.ts";
export { registerLayers } from "./register.ts";
export { pixelShuffle } from "./pixel_shuffle.ts";
export { MaxPool2x2, maxPool2x2 } from "./max_pool.ts";
export {
  type InterpolationMethod,
  phaseWeights,
  Upsample,
  upsample,
  type UpsampleLayerArgs,
  type UpsampleOptions,
} from "./resize.ts";
export { checkInputSize, SizeCheck, type SizeCheckArgs } from "./size_check.ts";
export { DEFAULT_MAX_ELEMENTS, predictImage, type PredictImageOptions } from "./predict_image.ts";
export { denoMaxElements } from "./deno_tile_budget.ts";
export { TfjsCopyError } from "./tfjs_copy_error.ts";

// In Deno, predictImage tiles only when memory requires it (the browser entry keeps 2^25).
setTileBudget(denoBudget);

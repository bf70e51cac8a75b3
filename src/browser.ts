/**
 * What a web page needs to run a model trained with this library, with no Deno-only import: the
 * U-Net's custom layer classes, {@linkcode registerLayers} (into the page's own TensorFlow.js) and
 * {@linkcode predictImage} (whole images of any size, tiled under WebGL's texture limit).
 *
 * TensorFlow.js is a peer: this module imports `@tensorflow/tfjs-core` and
 * `@tensorflow/tfjs-layers` 4.22 and must resolve them to the SAME copy the page uses (a bundler
 * does this; without one, an import map does; see `examples/web/`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import * as tfl from "@tensorflow/tfjs-layers";
 * import { predictImage, registerLayers } from "@perceptual/loss/browser";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { unet } from "@perceptual/loss/unet";
 * await initBackend("cpu");
 *
 * registerLayers({ ...tf, ...tfl }); // in a page: registerLayers(tf) with the page's global tf
 * // in a page: const model = await tfl.loadLayersModel("model/model.json");
 * const model = unet({ depth: 2, baseFilters: 4, scale: 2, outputRange: [0, 1] });
 * const image = tf.randomUniform([37, 29, 3]) as tf.Tensor3D; // float NHWC in [0, 1]
 * const up = predictImage(model, image);
 * assert.deepEqual(up.shape, [74, 58, 3]);
 * tf.dispose([image, up]);
 * model.dispose();
 * ```
 *
 * @module
 */
import * as tfc from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { registerLayers as registerIntoBoundCopy } from "./unet/register.ts";
import { TfjsCopyError } from "./unet/tfjs_copy_error.ts";

export { ChromaToRgb, chromaToRgb, type ChromaToRgbArgs } from "./unet/chroma_layer.ts";
export { ICNR, type ICNRArgs } from "./unet/icnr.ts";
export { InstanceNorm, type InstanceNormArgs } from "./unet/instance_norm.ts";
export { MaxPool2x2 } from "./unet/max_pool.ts";
export { OutputMap, type OutputMapArgs } from "./unet/output_map.ts";
export { PixelShuffle } from "./unet/pixel_shuffle.ts";
export { Upsample, type UpsampleLayerArgs } from "./unet/resize.ts";
export { SizeCheck } from "./unet/size_check.ts";
export { CUSTOM_CLASS_NAMES } from "./unet/register.ts";
export {
  DEFAULT_MAX_ELEMENTS,
  predictImage,
  type PredictImageOptions,
} from "./unet/predict_image.ts";
export { TfjsCopyError } from "./unet/tfjs_copy_error.ts";
export { ModelDisposedError, PredictImageInputError, UNetInputSizeError } from "./unet/errors.ts";
export { EmptyInputError } from "./errors/empty_input_error.ts";
export { PerceptualError } from "./errors/perceptual_error.ts";

/**
 * The parts of a TensorFlow.js namespace {@linkcode registerLayers} checks and uses.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import * as tfl from "@tensorflow/tfjs-layers";
 * import { registerLayers, type TfjsNamespace } from "@perceptual/loss/browser";
 * const pageTf: TfjsNamespace = { ...tf, ...tfl }; // in a page: the global `tf` of the tfjs bundle
 * registerLayers(pageTf);
 * assert.equal(typeof pageTf.serialization.registerClass, "function");
 * ```
 */
export interface TfjsNamespace {
  /** tfjs-core's serialization registry (`tf.serialization`). */
  readonly serialization: { readonly registerClass: unknown };
  /** tfjs-layers' layers (`tf.layers`), present in the union `tf` and in `@tensorflow/tfjs-layers`. */
  readonly layers?: { readonly Layer?: unknown };
}

/**
 * Register this library's layers (`PerceptualPixelShuffle`, `PerceptualUpsample`,
 * `PerceptualOutputMap`, `PerceptualSizeCheck`, `PerceptualMaxPool2x2`, `PerceptualChromaToRgb`)
 * and the `PerceptualICNR` initializer into the caller's TensorFlow.js, so its `loadLayersModel` rebuilds a saved U-Net.
 * Calling it again is harmless.
 *
 * @param tf the page's tfjs: the global `tf` of the `tf-*.min.js` scripts, or
 *   `{ ...tfCore, ...tfLayers }` from the npm packages.
 * @throws {TfjsCopyError} when `tf` is a different TensorFlow.js copy from the one the layer
 *   classes extend (two copies in one page), instead of a later `Unknown layer`.
 * @throws {TypeError} when `tf` is not a TensorFlow.js namespace at all.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import * as tfl from "@tensorflow/tfjs-layers";
 * import { registerLayers } from "@perceptual/loss/browser";
 * registerLayers({ ...tf, ...tfl });
 * assert.doesNotThrow(() => registerLayers({ ...tf, ...tfl })); // twice is harmless
 * ```
 */
export function registerLayers(tf: TfjsNamespace): void {
  const registerClass = (tf as Partial<TfjsNamespace> | null | undefined)?.serialization
    ?.registerClass;
  if (typeof registerClass !== "function") {
    throw new TypeError(
      "registerLayers(tf) needs the page's TensorFlow.js namespace (with tf.serialization); " +
        `got ${tf === null ? "null" : typeof tf}`,
    );
  }
  if (registerClass !== tfc.serialization.registerClass) throw new TfjsCopyError("serialization");
  if (tf.layers?.Layer !== undefined && tf.layers.Layer !== tfl.layers.Layer) {
    throw new TfjsCopyError("layers.Layer");
  }
  registerIntoBoundCopy();
}

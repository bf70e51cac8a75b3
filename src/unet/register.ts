/**
 * Registration of this library's custom layers and initializers with TensorFlow.js serialization.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { ChromaToRgb } from "./chroma_layer.ts";
import { ICNR } from "./icnr.ts";
import { MaxPool2x2 } from "./max_pool.ts";
import { InstanceNorm } from "./instance_norm.ts";
import { OutputMap } from "./output_map.ts";
import { PixelShuffle } from "./pixel_shuffle.ts";
import { Upsample } from "./resize.ts";
import { SizeCheck } from "./size_check.ts";

/**
 * The class names a saved U-Net's model.json may contain beyond the stock tfjs ones.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CUSTOM_CLASS_NAMES } from "@perceptual/loss/browser";
 * assert.ok(CUSTOM_CLASS_NAMES.includes("PerceptualPixelShuffle"));
 * ```
 */
export const CUSTOM_CLASS_NAMES: readonly string[] = [
  PixelShuffle.className,
  Upsample.className,
  OutputMap.className,
  SizeCheck.className,
  MaxPool2x2.className,
  ICNR.className,
  ChromaToRgb.className,
  InstanceNorm.className,
];

/**
 * Register the custom layers (`PerceptualPixelShuffle`, `PerceptualUpsample`,
 * `PerceptualOutputMap`, `PerceptualSizeCheck`, `PerceptualMaxPool2x2`, `PerceptualChromaToRgb`,
 * `PerceptualInstanceNorm`) and the `PerceptualICNR` initializer, so
 * `tf.loadLayersModel` can rebuild a saved U-Net. Idempotent. `unet()` and `loadModel()` call it;
 * call it yourself before loading the files with stock TensorFlow.js (in a browser, say).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { registerLayers } from "@perceptual/loss/unet";
 * registerLayers();
 * // now: await tf.loadLayersModel("https://example.com/unet/model.json")
 * const known = tf.serialization.SerializationMap.getMap().classNameMap;
 * assert.ok("PerceptualPixelShuffle" in known && "PerceptualUpsample" in known);
 * ```
 */
export function registerLayers(): void {
  tf.serialization.registerClass(PixelShuffle);
  tf.serialization.registerClass(Upsample);
  tf.serialization.registerClass(OutputMap);
  tf.serialization.registerClass(SizeCheck);
  tf.serialization.registerClass(MaxPool2x2);
  tf.serialization.registerClass(ICNR);
  tf.serialization.registerClass(ChromaToRgb);
  tf.serialization.registerClass(InstanceNorm);
}

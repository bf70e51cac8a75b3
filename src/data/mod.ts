/**
 * Images in and out of tensors, and training data for image-to-image networks: PNG/JPEG IO
 * ({@linkcode loadImage}, {@linkcode saveImage}), folders ({@linkcode imageFolder}), seeded crops
 * and flips, MATLAB-compatible bicubic resizing ({@linkcode bicubicDownscale},
 * {@linkcode bicubicUpscale}), degradations (grayscale, JPEG), and batch streams
 * ({@linkcode srPairs}, {@linkcode imagePairs}).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/mod.ts";
 * import { srPairs } from "./mod.ts";
 * await initBackend("cpu");
 * for await (const { lowRes, highRes } of srPairs({
 *   dir: "../shared/data/train", scale: 4, crop: 64, batchSize: 2, seed: 7, batches: 1,
 * })) {
 *   console.log(lowRes.shape, highRes.shape); // [2, 16, 16, 3] [2, 64, 64, 3]
 *   tf.dispose([lowRes, highRes]);
 * }
 * ```
 *
 * @module
 */
export * from "./errors.ts";
export * from "./rng.ts";
export * from "./pixels.ts";
export * from "./bicubic.ts";
export {
  type ChannelCount,
  decodeImage,
  encodeImage,
  type ImageFormat,
  loadImage,
  type LoadImageOptions,
  readPixels,
  saveImage,
  type SaveImageOptions,
  writePixels,
} from "./image_io.ts";
export * from "./image_folder.ts";
export {
  applyDihedral,
  type CropSize,
  type FlipOptions,
  randomCrop,
  randomCropWindow,
  randomDihedral,
  randomFlip,
} from "./augment.ts";
export * from "./degrade.ts";
export * from "./pairs.ts";
export {
  comparisonPanel,
  mostDifferentRegion,
  type Panel,
  type PanelOptions,
  type Region,
} from "./panel.ts";

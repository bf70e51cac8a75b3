/**
 * Images in and out of tensors, and training data for image-to-image networks: PNG/JPEG IO
 * ({@linkcode loadImage}, {@linkcode saveImage}), folders ({@linkcode imageFolder}), seeded crops
 * and flips, MATLAB-compatible bicubic resizing ({@linkcode bicubicDownscale},
 * {@linkcode bicubicUpscale}), degradations (grayscale, JPEG), and batch streams
 * ({@linkcode srPairs}, {@linkcode imagePairs}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { srPairs } from "@perceptual/loss/data";
 * await initBackend("cpu");
 * for await (const { input: lowRes, target: highRes } of srPairs({
 *   dir: "examples/data", scale: 4, crop: 64, batchSize: 2, seed: 7, batches: 1,
 * })) {
 *   assert.deepEqual(lowRes.shape, [2, 16, 16, 3]);
 *   assert.deepEqual(highRes.shape, [2, 64, 64, 3]);
 *   tf.dispose([lowRes, highRes]);
 * }
 * ```
 *
 * @module
 */
export type { Batch } from "./batch.ts";
export {
  CropTooLargeError,
  ImageFileTooLargeError,
  ImageFolderError,
  ImageFormatError,
  ImageReadError,
  ImageShapeError,
  ImageTooLargeError,
  ImageWriteError,
} from "./errors.ts";
export { deriveSeed, mulberry32, type Rng, shuffledIndices } from "./rng.ts";
export {
  checkPixels,
  cropPixels,
  type Dihedral,
  flipPixels,
  hasColour,
  type Pixels,
  pixelsToTensor,
  stackPixels,
  tensorToPixels,
} from "./pixels.ts";
export {
  bicubicDownscale,
  bicubicDownscalePixels,
  type BicubicOptions,
  bicubicResizePixels,
  bicubicUpscale,
  bicubicUpscalePixels,
  type BorderMode,
} from "./bicubic.ts";
export {
  type ChannelCount,
  decodeImage,
  DEFAULT_MAX_PIXELS,
  encodeImage,
  type ImageFormat,
  loadImage,
  type LoadImageOptions,
  readPixels,
  saveImage,
  type SaveImageOptions,
  writePixels,
} from "./image_io.ts";
export { type ImageFileInfo, imageFileInfo } from "./image_info.ts";
export { IMAGE_EXTENSIONS, imageFolder, type ImageFolderOptions } from "./image_folder.ts";
export {
  applyDihedral,
  cropShape,
  type CropSize,
  type FlipOptions,
  randomCrop,
  randomCropWindow,
  randomDihedral,
  randomFlip,
} from "./augment.ts";
export {
  bicubicDegradation,
  chainDegradations,
  type Degradation,
  grayscaleDegradation,
  type GrayscaleOptions,
  grayscalePixels,
  jpegDegradation,
  jpegPixels,
  jpegReencode,
  LUMA_WEIGHTS,
  toGrayscale,
} from "./degrade.ts";
export {
  imagePairs,
  type ImagePairsOptions,
  type PairStream,
  type PairStreamInfo,
  type PairStreamOptions,
  srPairs,
  type SrPairsOptions,
} from "./pairs.ts";
export {
  centreCrop,
  heldOutCrops,
  resizeShorterSide,
  type SplitImage,
  splitPixels,
  trainingCrops,
} from "./crops.ts";
export {
  comparisonPanel,
  mostDifferentRegion,
  type Panel,
  type PanelOptions,
  type Region,
} from "./panel.ts";
export { colourTransfer, type ColourTransferOptions } from "./colour_transfer.ts";

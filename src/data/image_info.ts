/**
 * What an image file stores, read from its header without decoding a pixel: size, colour
 * channels, alpha, EXIF orientation. The channel count is what tells a grey FILE from an RGB
 * file whose pixels happen to be grey (MATLAB's `size(im, 3)`, which published
 * super-resolution tables rely on).
 *
 * @module
 */
import { readImageBytes } from "./_image_guard.ts";
import { header, infoOf } from "./_image_header.ts";

/**
 * What an image file stores, read from its header (no pixel is decoded).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { imageFileInfo, type ImageFileInfo } from "@perceptual/loss/data";
 * const info: ImageFileInfo = await imageFileInfo("examples/data/skimage_camera.png");
 * assert.equal(info.channels, 1); // a grey file
 * assert.equal(info.alpha, false);
 * ```
 */
export interface ImageFileInfo {
  /** Width as displayed (after the EXIF orientation). */
  readonly width: number;
  /** Height as displayed (after the EXIF orientation). */
  readonly height: number;
  /**
   * Colour channels stored, alpha not counted: 1 for a grey file, 3 for RGB (also when every
   * pixel happens to be grey), 4 for CMYK.
   */
  readonly channels: number;
  /** Whether the file stores an alpha channel. */
  readonly alpha: boolean;
  /** The EXIF orientation, 1 (as stored) to 8. */
  readonly orientation: number;
}

/**
 * Read an image file's header: its size, how many colour channels it stores and whether it has
 * alpha. The one way to tell a grey FILE (1 channel, what MATLAB's `size(im, 3)` sees and what
 * published super-resolution tables score on its own values) from an RGB file whose pixels
 * happen to be grey. Errors name the file.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { imageFileInfo } from "@perceptual/loss/data";
 * const info = await imageFileInfo("examples/data/skimage_chelsea.png");
 * assert.equal(info.width, 451);
 * assert.equal(info.height, 300);
 * assert.equal(info.channels, 3);
 * ```
 */
export async function imageFileInfo(
  path: string,
  options: { readonly maxPixels?: number } = {},
): Promise<ImageFileInfo> {
  const bytes = await readImageBytes(path, options.maxPixels);
  return infoOf(await header(bytes, path));
}

/**
 * Seeded random crops and flips.
 *
 * @module
 */
import { checkNotEmpty } from "../errors/empty_input_error.ts";
import * as tf from "@tensorflow/tfjs-core";
import { CropTooLargeError, ImageShapeError } from "./errors.ts";
import type { Dihedral } from "./pixels.ts";
import type { Rng } from "./rng.ts";

/**
 * A crop size: one number for a square, or `[height, width]`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type CropSize, cropShape } from "@perceptual/loss/data";
 * const square: CropSize = 96;
 * const wide: CropSize = [64, 128]; // [height, width]
 * assert.deepEqual(cropShape(square, "demo"), [96, 96]);
 * assert.deepEqual(cropShape(wide, "demo"), [64, 128]);
 * ```
 */
export type CropSize = number | readonly [number, number];

/** `[height, width]` of a {@linkcode CropSize}, checked. */
export function cropShape(size: CropSize, where: string): [number, number] {
  const [h, w] = typeof size === "number" ? [size, size] : size;
  if (!Number.isInteger(h) || !Number.isInteger(w) || h <= 0 || w <= 0) {
    throw new ImageShapeError(`${where}: crop must be positive integers, got ${size}`);
  }
  return [h, w];
}

/**
 * A uniformly random `crop` window inside a `height x width` image; `image` names it in the
 * {@linkcode CropTooLargeError} thrown when the crop does not fit.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { randomCropWindow, mulberry32 } from "@perceptual/loss/data";
 * const { top, left } = randomCropWindow(100, 80, 64, mulberry32(1), "img.png");
 * assert.ok(top <= 36 && left <= 16);
 * ```
 */
export function randomCropWindow(
  height: number,
  width: number,
  crop: CropSize,
  rng: Rng,
  image = "the image",
): { top: number; left: number } {
  const [ch, cw] = cropShape(crop, "randomCropWindow");
  if (ch > height || cw > width) throw new CropTooLargeError(image, [height, width], [ch, cw]);
  return { top: rng.int(height - ch + 1), left: rng.int(width - cw + 1) };
}

/**
 * A random crop of a `[height, width, channels]` image (the caller owns the result).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { randomCrop, mulberry32 } from "@perceptual/loss/data";
 * await initBackend("cpu");
 * const img = tf.zeros([50, 60, 3]) as tf.Tensor3D;
 * const patch = randomCrop(img, 32, mulberry32(7));
 * assert.deepEqual(patch.shape, [32, 32, 3]);
 * tf.dispose([img, patch]);
 * ```
 */
export function randomCrop(img: tf.Tensor3D, crop: CropSize, rng: Rng): tf.Tensor3D {
  if (img.rank !== 3) {
    throw new ImageShapeError(`randomCrop: expected [height, width, channels], got [${img.shape}]`);
  }
  checkNotEmpty("randomCrop: the image", img.shape);
  const [h, w, c] = img.shape;
  const [ch, cw] = cropShape(crop, "randomCrop");
  const { top, left } = randomCropWindow(h, w, [ch, cw], rng, `tensor [${img.shape}]`);
  return tf.slice(img, [top, left, 0], [ch, cw, c]);
}

/**
 * Which random flips {@linkcode randomDihedral} may draw.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type FlipOptions, randomDihedral, mulberry32 } from "@perceptual/loss/data";
 * const upright: FlipOptions = { vertical: false, transpose: false }; // faces, text: mirror only
 * const rng = mulberry32(1);
 * const draws = Array.from({ length: 1000 }, () => randomDihedral(rng, upright, true));
 * const mirrored = draws.filter((d) => d.horizontal).length;
 * assert.equal(draws.some((d) => d.vertical || d.transpose), false);
 * assert.equal(mirrored, 490);
 * ```
 */
export interface FlipOptions {
  /** Left-right mirror with probability 1/2 (default true). */
  readonly horizontal?: boolean;
  /** Top-bottom mirror with probability 1/2 (default true). */
  readonly vertical?: boolean;
  /**
   * Swap rows and columns with probability 1/2 (default true; with the flips, the 8 symmetries of
   * a square, as EDSR-style SR training uses). Only drawn when `square` is passed as true.
   */
  readonly transpose?: boolean;
}

/**
 * Draw a random flip/transpose. Always consumes three numbers from `rng`, whatever is enabled, so
 * switching an option does not shift every later draw.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { randomDihedral, mulberry32 } from "@perceptual/loss/data";
 * assert.equal(randomDihedral(mulberry32(3), { vertical: false }, true).vertical, false);
 * ```
 */
export function randomDihedral(rng: Rng, options: FlipOptions = {}, square = false): Dihedral {
  const h = rng.next() < 0.5;
  const v = rng.next() < 0.5;
  const t = rng.next() < 0.5;
  return {
    horizontal: (options.horizontal ?? true) && h,
    vertical: (options.vertical ?? true) && v,
    transpose: (options.transpose ?? true) && square && t,
  };
}

/**
 * Apply a flip/transpose to a `[height, width, channels]` tensor (the caller owns the result).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { applyDihedral } from "@perceptual/loss/data";
 * await initBackend("cpu");
 * const img = tf.tensor3d([1, 2, 3], [1, 3, 1]);
 * const out = applyDihedral(img, { horizontal: true });
 * assert.deepEqual(Array.from(await out.data()), [3, 2, 1]);
 * tf.dispose([img, out]);
 * ```
 */
export function applyDihedral(img: tf.Tensor3D, d: Dihedral): tf.Tensor3D {
  return tf.tidy(() => {
    let x = d.transpose === true ? tf.transpose(img, [1, 0, 2]) : img;
    const axes = [...(d.vertical ? [0] : []), ...(d.horizontal ? [1] : [])];
    if (axes.length > 0) x = tf.reverse(x, axes);
    return x === img ? tf.clone(img) : x;
  });
}

/**
 * Random flips of a `[height, width, channels]` tensor (see {@linkcode FlipOptions}); the caller
 * owns the result.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { randomFlip, mulberry32 } from "@perceptual/loss/data";
 * await initBackend("cpu");
 * const img = tf.zeros([8, 8, 3]) as tf.Tensor3D;
 * const out = randomFlip(img, mulberry32(5));
 * assert.deepEqual(out.shape, [8, 8, 3]);
 * tf.dispose([img, out]);
 * ```
 */
export function randomFlip(img: tf.Tensor3D, rng: Rng, options: FlipOptions = {}): tf.Tensor3D {
  if (img.rank !== 3) {
    throw new ImageShapeError(`randomFlip: expected [height, width, channels], got [${img.shape}]`);
  }
  checkNotEmpty("randomFlip: the image", img.shape);
  return applyDihedral(img, randomDihedral(rng, options, img.shape[0] === img.shape[1]));
}

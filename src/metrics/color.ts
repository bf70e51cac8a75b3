/**
 * Colour conversions used by the metrics.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { MetricInputError, Y_WEIGHTS } from "./options.ts";

/**
 * Options of {@linkcode rgbToY}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { rgbToY, type RgbToYOptions } from "@perceptual/loss/metrics";
 * await initBackend("cpu");
 * const options: RgbToYOptions = { range: 255 }; // input and output in [0, 255]
 * const black = tf.zeros([1, 1, 3]) as tf.Tensor3D;
 * const y = rgbToY(black, options);
 * assert.equal((await y.data())[0], 16); // BT.601's black level
 * tf.dispose([black, y]);
 * ```
 */
export interface RgbToYOptions {
  /** Value range of the input and the output: 1 (default) or 255. */
  readonly range?: 1 | 255;
}

/**
 * The luma Y of ITU-R BT.601 as MATLAB's `rgb2ycbcr` computes it:
 * Y = 16/255 + (65.481 R + 128.553 G + 24.966 B)/255 for RGB in [0, 1] (so Y lies in
 * [16/255, 235/255]); with `range: 255`, everything is in [0, 255]. Keeps the rank, with one
 * channel. Synchronous tensor ops; the caller owns the result.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { rgbToY } from "@perceptual/loss/metrics";
 * await initBackend("cpu");
 * const white = tf.ones([1, 1, 3]) as tf.Tensor3D;
 * const y = rgbToY(white, { range: 1 });
 * assert.ok(Math.abs((await y.data())[0] * 255 - 235) < 1);
 * tf.dispose([white, y]);
 * ```
 */
export function rgbToY<T extends tf.Tensor3D | tf.Tensor4D>(
  img: T,
  options: RgbToYOptions = {},
): T {
  const range = options.range ?? 1;
  if (img.rank !== 3 && img.rank !== 4) {
    throw new MetricInputError(`rgbToY: expected a rank 3 or 4 image tensor, got [${img.shape}]`);
  }
  if (img.shape[img.rank - 1] !== 3) {
    throw new MetricInputError(`rgbToY: expected 3 (RGB) channels, got shape [${img.shape}]`);
  }
  if (range !== 1 && range !== 255) {
    throw new MetricInputError(`rgbToY: range must be 1 or 255, got ${range}`);
  }
  return tf.tidy(() => {
    const w = tf.tensor1d(Y_WEIGHTS.map((v) => v / 255));
    const y = tf.sum(tf.mul(img, w), -1, true);
    return tf.add(y, (16 * range) / 255) as T;
  });
}

/**
 * Images as plain `Float32Array`s (HWC, values in [0, 1]): the pipeline crops, flips and resizes
 * these in JavaScript, where a 64x64 crop costs microseconds, and makes tensors only for batches.
 *
 * @module
 */
import { EmptyInputError } from "../errors/empty_input_error.ts";
import * as tf from "@tensorflow/tfjs-core";
import { ImageShapeError } from "./errors.ts";

/**
 * An image in memory: `data[(y * width + x) * channels + c]`, values nominally in [0, 1].
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { type Pixels, pixelsToTensor } from "@perceptual/loss/data";
 * await initBackend("cpu");
 * const data = Float32Array.of(1, 0, 0, 0, 0, 1); // a red pixel, then a blue one
 * const redBlue: Pixels = { height: 1, width: 2, channels: 3, data };
 * const [x, y, c] = [1, 0, 2]; // the blue sample of the second pixel
 * assert.equal(redBlue.data[(y * redBlue.width + x) * redBlue.channels + c], 1);
 * const t = pixelsToTensor(redBlue);
 * assert.deepEqual(t.shape, [1, 2, 3]);
 * t.dispose();
 * ```
 */
export interface Pixels {
  /** Rows. */
  readonly height: number;
  /** Columns. */
  readonly width: number;
  /** Channels per pixel: 1 (grey), 3 (RGB) or 4 (RGBA). */
  readonly channels: number;
  /** Interleaved samples, length `height * width * channels`. */
  readonly data: Float32Array;
}

/**
 * Check a {@linkcode Pixels} value's fields agree; throws {@linkcode ImageShapeError}, or
 * `EmptyInputError` for a zero height, width or channel count.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkPixels } from "@perceptual/loss/data";
 * checkPixels({ height: 1, width: 2, channels: 1, data: new Float32Array(2) }, "example"); // fine
 * assert.throws(() => checkPixels({ height: 1, width: 2, channels: 1, data: new Float32Array(3) }, "example"));
 * ```
 */
export function checkPixels(p: Pixels, where: string): void {
  const { height, width, channels, data } = p;
  for (const [name, v] of [["height", height], ["width", width], ["channels", channels]] as const) {
    if (v === 0) throw new EmptyInputError(where, [height, width, channels]);
    if (!Number.isInteger(v) || v <= 0) {
      throw new ImageShapeError(`${where}: ${name} must be a positive integer, got ${v}`);
    }
  }
  if (data.length !== height * width * channels) {
    throw new ImageShapeError(
      `${where}: data has ${data.length} values but ${height}x${width}x${channels} needs ` +
        `${height * width * channels}`,
    );
  }
}

/**
 * Make a `[height, width, channels]` float32 tensor from pixels (the caller owns it).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { pixelsToTensor } from "@perceptual/loss/data";
 * await initBackend("cpu");
 * const t = pixelsToTensor({ height: 1, width: 2, channels: 1, data: new Float32Array([0, 1]) });
 * assert.deepEqual(t.shape, [1, 2, 1]);
 * t.dispose();
 * ```
 */
export function pixelsToTensor(p: Pixels): tf.Tensor3D {
  checkPixels(p, "pixelsToTensor");
  return tf.tensor3d(p.data, [p.height, p.width, p.channels], "float32");
}

/**
 * Read a `[height, width, channels]` tensor into pixels (async, so it works on GPU backends).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { tensorToPixels } from "@perceptual/loss/data";
 * await initBackend("cpu");
 * const t = tf.zeros([2, 3, 3]);
 * assert.equal((await tensorToPixels(t as tf.Tensor3D)).width, 3);
 * t.dispose();
 * ```
 */
export async function tensorToPixels(t: tf.Tensor3D): Promise<Pixels> {
  if (t.rank !== 3) {
    throw new ImageShapeError(
      `tensorToPixels: expected a [height, width, channels] tensor, got shape [${t.shape}]`,
    );
  }
  const [height, width, channels] = t.shape;
  const values = await t.data();
  const data = values instanceof Float32Array
    ? values
    : Float32Array.from(values as ArrayLike<number>);
  return { height, width, channels, data };
}

/**
 * Copy the `height x width` window at (`top`, `left`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cropPixels } from "@perceptual/loss/data";
 * const p = { height: 2, width: 2, channels: 1, data: new Float32Array([1, 2, 3, 4]) };
 * assert.deepEqual(cropPixels(p, 1, 0, 1, 2).data, Float32Array.of(3, 4));
 * ```
 */
export function cropPixels(
  p: Pixels,
  top: number,
  left: number,
  height: number,
  width: number,
): Pixels {
  checkPixels(p, "cropPixels: the image");
  if (height === 0 || width === 0) {
    throw new EmptyInputError("cropPixels: the window", [height, width, p.channels]);
  }
  if (
    top < 0 || left < 0 || height <= 0 || width <= 0 || top + height > p.height ||
    left + width > p.width
  ) {
    throw new ImageShapeError(
      `cropPixels: window ${height}x${width} at (${top}, ${left}) is outside the ` +
        `${p.height}x${p.width} image`,
    );
  }
  const c = p.channels;
  const data = new Float32Array(height * width * c);
  const rowLen = width * c;
  for (let y = 0; y < height; y++) {
    const src = ((top + y) * p.width + left) * c;
    data.set(p.data.subarray(src, src + rowLen), y * rowLen);
  }
  return { height, width, channels: c, data };
}

/** One of the 8 symmetries of a rectangle, applied as transpose, then flips. */
export interface Dihedral {
  /** Mirror left-right. */
  readonly horizontal?: boolean;
  /** Mirror top-bottom. */
  readonly vertical?: boolean;
  /** Swap rows and columns first (with a flip, a 90-degree rotation). */
  readonly transpose?: boolean;
}

/**
 * Apply a flip/transpose ({@linkcode Dihedral}) to pixels; returns a new buffer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { flipPixels } from "@perceptual/loss/data";
 * const p = { height: 1, width: 3, channels: 1, data: new Float32Array([1, 2, 3]) };
 * assert.deepEqual(flipPixels(p, { horizontal: true }).data, Float32Array.of(3, 2, 1));
 * ```
 */
export function flipPixels(p: Pixels, d: Dihedral): Pixels {
  const t = d.transpose === true;
  const height = t ? p.width : p.height;
  const width = t ? p.height : p.width;
  const c = p.channels;
  const data = new Float32Array(p.data.length);
  for (let y = 0; y < height; y++) {
    const sy = d.vertical ? height - 1 - y : y;
    for (let x = 0; x < width; x++) {
      const sx = d.horizontal ? width - 1 - x : x;
      // (sy, sx) are coordinates in the transposed frame; map back to the source.
      const src = t ? (sx * p.width + sy) * c : (sy * p.width + sx) * c;
      const dst = (y * width + x) * c;
      for (let k = 0; k < c; k++) data[dst + k] = p.data[src + k]!;
    }
  }
  return { height, width, channels: c, data };
}

/**
 * Stack equally-shaped pixel buffers into one `[n, height, width, channels]` tensor (caller owns it).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { stackPixels } from "@perceptual/loss/data";
 * await initBackend("cpu");
 * const p = { height: 2, width: 2, channels: 3, data: new Float32Array(12) };
 * const batch = stackPixels([p, p]);
 * assert.deepEqual(batch.shape, [2, 2, 2, 3]);
 * batch.dispose();
 * ```
 */
export function stackPixels(items: readonly Pixels[]): tf.Tensor4D {
  if (items.length === 0) throw new EmptyInputError("stackPixels: the list of images", [0]);
  const { height, width, channels } = items[0]!;
  const size = height * width * channels;
  const data = new Float32Array(size * items.length);
  items.forEach((p, i) => {
    if (p.height !== height || p.width !== width || p.channels !== channels) {
      throw new ImageShapeError(
        `stackPixels: image ${i} is ${p.height}x${p.width}x${p.channels}, ` +
          `image 0 is ${height}x${width}x${channels}; all must match`,
      );
    }
    data.set(p.data, i * size);
  });
  return tf.tensor4d(data, [items.length, height, width, channels], "float32");
}

/**
 * Degradations: what turns a clean target into a network input (bicubic downscale, grayscale,
 * JPEG artefacts), on tensors for users and as composable {@linkcode Degradation}s for the pair
 * pipeline.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { bicubicDownscalePixels, type BicubicOptions } from "./bicubic.ts";
import { ImageShapeError } from "./errors.ts";
import { decodeImage, encodeImage } from "./image_io.ts";
import { type Pixels, pixelsToTensor, tensorToPixels } from "./pixels.ts";
import type { Rng } from "./rng.ts";
import { BT601_LUMA } from "../_internal/luma.ts";

/**
 * ITU-R BT.601 luma weights (R, G, B), as `rgb2gray` and PIL's "L" mode use.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LUMA_WEIGHTS } from "@perceptual/loss/data";
 * assert.ok(Math.abs(LUMA_WEIGHTS.reduce((a, b) => a + b) - 1) < 1e-12);
 * ```
 */
export const LUMA_WEIGHTS: readonly [number, number, number] = BT601_LUMA;

/**
 * Options of {@linkcode toGrayscale}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type GrayscaleOptions, type Pixels, grayscalePixels } from "@perceptual/loss/data";
 * const red: Pixels = { height: 1, width: 1, channels: 3, data: Float32Array.of(1, 0, 0) };
 * const options: GrayscaleOptions = { keepChannels: true }; // for a network that takes RGB
 * const grey = grayscalePixels(red, options);
 * assert.equal(grey.channels, 3);
 * assert.equal(grey.data[0]!.toFixed(3), "0.299"); // (in each of the 3 channels)
 * ```
 */
export interface GrayscaleOptions {
  /** Repeat the luma into 3 channels (default false: 1 channel). */
  readonly keepChannels?: boolean;
}

/**
 * BT.601 luma 0.299 R + 0.587 G + 0.114 B of an RGB image or batch, as 1 channel (or 3 equal
 * ones). Synchronous tensor ops; the caller owns the result.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { toGrayscale } from "@perceptual/loss/data";
 * await initBackend("cpu");
 * const red = tf.tensor3d([1, 0, 0], [1, 1, 3]);
 * const g = toGrayscale(red);
 * assert.deepEqual(g.shape, [1, 1, 1]);
 * assert.ok(Math.abs((await g.data())[0] - 0.299) < 1e-6);
 * tf.dispose([red, g]);
 * ```
 */
export function toGrayscale<T extends tf.Tensor3D | tf.Tensor4D>(
  img: T,
  options: GrayscaleOptions = {},
): T {
  if ((img.rank !== 3 && img.rank !== 4) || img.shape[img.rank - 1] !== 3) {
    throw new ImageShapeError(`toGrayscale: expected an RGB image or batch, got [${img.shape}]`);
  }
  return tf.tidy(() => {
    const y = tf.sum(tf.mul(img, tf.tensor1d([...LUMA_WEIGHTS])), -1, true);
    return (options.keepChannels === true
      ? tf.tile(y, [...y.shape.slice(0, -1).map(() => 1), 3])
      : y) as T;
  });
}

/**
 * Grayscale of pixels (see {@linkcode toGrayscale}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { grayscalePixels } from "@perceptual/loss/data";
 * const p = { height: 1, width: 1, channels: 3, data: new Float32Array([0, 1, 0]) };
 * assert.ok(Math.abs(grayscalePixels(p).data[0] - 0.587) < 1e-6);
 * ```
 */
export function grayscalePixels(p: Pixels, options: GrayscaleOptions = {}): Pixels {
  if (p.channels !== 3) {
    throw new ImageShapeError(`grayscalePixels: expected 3 channels, got ${p.channels}`);
  }
  const n = p.height * p.width;
  const out = options.keepChannels === true ? 3 : 1;
  const data = new Float32Array(n * out);
  const [wr, wg, wb] = LUMA_WEIGHTS;
  for (let i = 0; i < n; i++) {
    const y = wr * p.data[3 * i]! + wg * p.data[3 * i + 1]! + wb * p.data[3 * i + 2]!;
    for (let k = 0; k < out; k++) data[i * out + k] = y;
  }
  return { height: p.height, width: p.width, channels: out, data };
}

/**
 * Encode pixels as JPEG at `quality` (1-100) and decode them again: real codec artefacts.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { jpegPixels } from "@perceptual/loss/data";
 * const p = { height: 16, width: 16, channels: 3, data: new Float32Array(768).fill(0.5) };
 * assert.equal((await jpegPixels(p, 30)).width, 16);
 * ```
 */
export async function jpegPixels(p: Pixels, quality: number): Promise<Pixels> {
  const bytes = await encodeImage(p, "jpeg", { quality });
  return await decodeImage(bytes, `JPEG re-encode (quality ${quality})`, {
    channels: p.channels === 1 ? 1 : 3,
  });
}

/**
 * JPEG re-encode a `[height, width, channels]` image at `quality` (values clamped and rounded to
 * 8 bits first). The caller owns the result; the input is not disposed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { jpegReencode } from "@perceptual/loss/data";
 * await initBackend("cpu");
 * const img = tf.randomUniform([32, 32, 3]) as tf.Tensor3D;
 * const blocky = await jpegReencode(img, 20);
 * assert.deepEqual(blocky.shape, [32, 32, 3]);
 * tf.dispose([img, blocky]);
 * ```
 */
export async function jpegReencode(img: tf.Tensor3D, quality: number): Promise<tf.Tensor3D> {
  return pixelsToTensor(await jpegPixels(await tensorToPixels(img), quality));
}

/**
 * Turns a clean target crop into the network's input. Gets the crop's own random stream (so
 * random degradations stay deterministic for a seed); may be async (JPEG).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type Degradation, type Pixels, mulberry32 } from "@perceptual/loss/data";
 * // seeded noise of ±amount, usable as imagePairs({ degrade: noise(0.1), … })
 * const noise = (amount: number): Degradation => (p, rng) => ({
 *   ...p, data: p.data.map((v) => Math.min(1, Math.max(0, v + amount * (2 * rng.next() - 1)))),
 * });
 * const grey: Pixels = { height: 2, width: 2, channels: 1, data: new Float32Array(4).fill(0.5) };
 * const [a, b] = [await noise(0.1)(grey, mulberry32(3)), await noise(0.1)(grey, mulberry32(3))];
 * assert.deepEqual(a.data, b.data); // same stream, same noise
 * ```
 */
export type Degradation = (target: Pixels, rng: Rng) => Pixels | Promise<Pixels>;

/**
 * MATLAB-style antialiased bicubic downscale by `scale`; by default rounded to 8 bits after each
 * pass, exactly as the standard SR test sets' LR files were made (see {@linkcode BicubicOptions}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bicubicDegradation, mulberry32 } from "@perceptual/loss/data";
 * const hr = { height: 8, width: 8, channels: 3, data: new Float32Array(192).fill(0.2) };
 * const lr = await bicubicDegradation(2)(hr, mulberry32(1));
 * assert.equal(lr.height, 4);
 * ```
 */
export function bicubicDegradation(
  scale: number,
  options: BicubicOptions = { quantize: "uint8" },
): Degradation {
  return (p) => bicubicDownscalePixels(p, scale, options);
}

/**
 * BT.601 grayscale (for colourisation: grey input, colour target).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { grayscaleDegradation, mulberry32 } from "@perceptual/loss/data";
 * const rgb = { height: 2, width: 2, channels: 3, data: new Float32Array(12).fill(1) };
 * assert.equal((await grayscaleDegradation()(rgb, mulberry32(1))).channels, 1);
 * ```
 */
export function grayscaleDegradation(options: GrayscaleOptions = {}): Degradation {
  return (p) => grayscalePixels(p, options);
}

/**
 * JPEG re-encode at a fixed quality, or at a quality drawn uniformly from `[min, max]` per crop.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { jpegDegradation, mulberry32 } from "@perceptual/loss/data";
 * const p = { height: 8, width: 8, channels: 3, data: new Float32Array(192).fill(0.5) };
 * const out = await jpegDegradation([20, 60])(p, mulberry32(1));
 * assert.equal(out.width, 8);
 * ```
 */
export function jpegDegradation(quality: number | readonly [number, number]): Degradation {
  const [lo, hi] = typeof quality === "number" ? [quality, quality] : quality;
  for (const q of [lo, hi]) {
    if (!Number.isInteger(q) || q < 1 || q > 100 || lo > hi) {
      throw new ImageShapeError(
        `jpegDegradation: quality must be integers in 1..100 (min <= max), got ${quality}`,
      );
    }
  }
  return (p, rng) => jpegPixels(p, lo + rng.int(hi - lo + 1));
}

/**
 * Apply degradations left to right (e.g. downscale, then JPEG).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   bicubicDegradation,
 *   chainDegradations,
 *   jpegDegradation,
 *   mulberry32,
 * } from "@perceptual/loss/data";
 * const degrade = chainDegradations(bicubicDegradation(2), jpegDegradation(50));
 * const hr = { height: 8, width: 8, channels: 3, data: new Float32Array(192).fill(0.5) };
 * const lr = await degrade(hr, mulberry32(0));
 * assert.deepEqual([lr.height, lr.width, lr.channels], [4, 4, 3]); // halved, then JPEG-coded
 * ```
 */
export function chainDegradations(...steps: readonly Degradation[]): Degradation {
  return async (p, rng) => {
    let out = p;
    for (const step of steps) out = await step(out, rng);
    return out;
  };
}

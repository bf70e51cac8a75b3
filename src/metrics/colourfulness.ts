/**
 * Colourfulness (Hasler & Süsstrunk 2003), to tell a colourised image from a grey or sepia one.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import { MetricInputError } from "./options.ts";

/**
 * Options of {@linkcode colourfulness}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { colourfulness, type ColourfulnessOptions } from "@perceptual/loss/metrics";
 * await initBackend("cpu");
 * const bytes = tf.tensor3d([[[255, 0, 0], [0, 0, 255]]]); // 8-bit values, red and blue
 * const options: ColourfulnessOptions = { range: 255 };
 * assert.equal((await colourfulness(bytes, options)).toFixed(1), "272.6"); // (82 is "highly")
 * bytes.dispose();
 * ```
 */
export interface ColourfulnessOptions {
  /** The value range of the input: 1 for [0, 1] (default), 255 for [0, 255]. */
  readonly range?: 1 | 255;
}

/**
 * The colourfulness M of Hasler & Süsstrunk ("Measuring colourfulness in natural images", SPIE
 * 2003), on 0–255 values: with rg = R − G and yb = ½(R + G) − B over all pixels,
 * M = σ_rgyb + 0.3·μ_rgyb, where σ_rgyb = √(σ_rg² + σ_yb²) (population standard deviations)
 * and μ_rgyb = √(μ_rg² + μ_yb²). 0 for any grey image (a 1-channel image is grey); about 15 is
 * "slightly", 33 "moderately", 59 "quite", 82 "highly" colourful in their scale. A batch gives
 * the mean over its images. Async because it reads the tensor back; the input is not disposed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { colourfulness } from "@perceptual/loss/metrics";
 * await initBackend("cpu");
 * const grey = tf.fill([4, 4, 3], 0.5) as tf.Tensor3D;
 * const orange = tf.tile(tf.tensor3d([1, 0.5, 0], [1, 1, 3]), [4, 4, 1]) as tf.Tensor3D;
 * assert.equal(await colourfulness(grey), 0);
 * assert.ok(Math.abs(await colourfulness(orange) - 68.956) < 1e-3);
 * tf.dispose([grey, orange]);
 * ```
 */
export async function colourfulness(
  image: tf.Tensor3D | tf.Tensor4D,
  options: ColourfulnessOptions = {},
): Promise<number> {
  if (image.rank !== 3 && image.rank !== 4) {
    throw new MetricInputError(
      `colourfulness: expected [height, width, channels] or [batch, height, width, channels], ` +
        `got shape [${image.shape}]`,
    );
  }
  const range = options.range ?? 1;
  if (range !== 1 && range !== 255) {
    throw new MetricInputError(`colourfulness: range must be 1 or 255, got ${range}`);
  }
  const [h, w, c] = image.shape.slice(-3) as [number, number, number];
  if (c !== 1 && c !== 3) {
    throw new MetricInputError(
      `colourfulness: needs RGB (3 channels) or grey (1 channel) images, got ${c} channels`,
    );
  }
  if (c === 1 || h * w === 0) return 0;
  const values = await image.data();
  const n = image.rank === 4 ? image.shape[0]! : 1;
  const k = 255 / range;
  let total = 0;
  for (let b = 0; b < n; b++) {
    // Sums in double precision; two passes would cost a second read of a large image.
    let sRg = 0, sYb = 0, sRg2 = 0, sYb2 = 0;
    const base = b * h * w * 3;
    for (let i = 0; i < h * w; i++) {
      const r = values[base + 3 * i]! * k;
      const g = values[base + 3 * i + 1]! * k;
      const bl = values[base + 3 * i + 2]! * k;
      const rg = r - g;
      const yb = 0.5 * (r + g) - bl;
      sRg += rg;
      sYb += yb;
      sRg2 += rg * rg;
      sYb2 += yb * yb;
    }
    const m = h * w;
    const mRg = sRg / m;
    const mYb = sYb / m;
    // max(0, …): rounding can make a zero variance slightly negative.
    const vRg = Math.max(0, sRg2 / m - mRg * mRg);
    const vYb = Math.max(0, sYb2 / m - mYb * mYb);
    total += Math.sqrt(vRg + vYb) + 0.3 * Math.sqrt(mRg * mRg + mYb * mYb);
  }
  return total / n;
}

/**
 * Peak signal-to-noise ratio.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import { checkPair, type MetricOptions, readPlanes } from "./options.ts";

/**
 * PSNR in dB, 10·log10(range² / MSE), over all channels, or over Y (`yChannel`; a grey image: its own values), after shaving
 * `crop` border pixels. A `[batch, h, w, c]` pair gives the mean of the per-image PSNRs (the
 * usual way SR tables average a test set). Identical images give `Infinity`. Async because it
 * reads the tensors back (works on every backend); the inputs are not disposed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { psnr } from "@perceptual/loss/metrics";
 * await initBackend("cpu");
 * const a = tf.zeros([8, 8, 3]) as tf.Tensor3D;
 * const b = tf.fill([8, 8, 3], 0.1) as tf.Tensor3D;
 * assert.ok(Math.abs(await psnr(a, b) - 20) < 1e-4); // MSE 0.01 (float32: 19.9999999)
 * tf.dispose([a, b]);
 * ```
 */
export async function psnr(
  a: tf.Tensor3D | tf.Tensor4D,
  b: tf.Tensor3D | tf.Tensor4D,
  options: MetricOptions = {},
): Promise<number> {
  checkPair(a, b, options, "psnr");
  const range = options.range ?? 1;
  const [pa, pb] = await Promise.all([readPlanes(a, options), readPlanes(b, options)]);
  let total = 0;
  for (let i = 0; i < pa.length; i++) {
    let sum = 0;
    let count = 0;
    pa[i]!.planes.forEach((plane, k) => {
      const other = pb[i]!.planes[k]!;
      for (let j = 0; j < plane.length; j++) {
        const d = plane[j]! - other[j]!;
        sum += d * d;
      }
      count += plane.length;
    });
    total += 10 * Math.log10((range * range) / (sum / count));
  }
  return total / pa.length;
}

/**
 * Peak signal-to-noise ratio.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import { checkPair, type MetricOptions, type Planes, readPlanes } from "./options.ts";

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
  const [pa, pb] = await Promise.all([readPlanes(a, options), readPlanes(b, options)]);
  return meanPsnr(pa, pb, options.range ?? 1);
}

/**
 * {@linkcode psnr} against a fixed `target`, read once: the function returned scores any
 * prediction of the target's shape, with the same result as `psnr(prediction, target, options)`
 * bit for bit. `target` may be disposed once this resolves.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { psnr, psnrAgainst } from "@perceptual/loss/metrics";
 * await initBackend("cpu");
 * const t = tf.zeros([8, 8, 3]) as tf.Tensor3D;
 * const p = tf.fill([8, 8, 3], 0.1) as tf.Tensor3D;
 * const score = await psnrAgainst(t);
 * assert.equal(await score(p), await psnr(p, t));
 * assert.ok(Math.abs(await score(p) - 20) < 1e-4);
 * tf.dispose([t, p]);
 * ```
 */
export async function psnrAgainst(
  target: tf.Tensor3D | tf.Tensor4D,
  options: MetricOptions = {},
): Promise<(prediction: tf.Tensor3D | tf.Tensor4D) => Promise<number>> {
  checkPair(target, target, options, "psnr");
  // Its shape stands in for the target, which may be disposed by the time a prediction comes.
  const like = { shape: [...target.shape] };
  const fixed = await readPlanes(target, options);
  return async (prediction) => {
    checkPair(prediction, like, options, "psnr");
    return meanPsnr(await readPlanes(prediction, options), fixed, options.range ?? 1);
  };
}

/** The mean over images of each image's PSNR over all its planes. */
function meanPsnr(pa: readonly Planes[], pb: readonly Planes[], range: number): number {
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

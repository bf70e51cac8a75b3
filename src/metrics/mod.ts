/**
 * Image quality metrics for super-resolution: {@linkcode psnr} and {@linkcode ssim} on RGB or on
 * BT.601 luma ({@linkcode rgbToY}), with the border-crop convention of SR papers.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { psnr, ssim } from "@perceptual/loss/metrics";
 * await initBackend("cpu");
 * const hr = tf.randomUniform([1, 32, 32, 3]) as tf.Tensor4D;
 * const sr = tf.clipByValue(tf.add(hr, 0.01), 0, 1) as tf.Tensor4D;
 * const opts = { yChannel: true, crop: 2 } as const;
 * const p = await psnr(sr, hr, opts); // a +0.01 shift, less where clipped: about 40 dB
 * const s = await ssim(sr, hr, opts);
 * assert.ok(p > 38 && p < 45, `psnr ${p}`);
 * assert.ok(s > 0.9 && s <= 1, `ssim ${s}`);
 * tf.dispose([hr, sr]);
 * ```
 *
 * @module
 */
export { MetricInputError, type MetricOptions } from "./options.ts";
export * from "./color.ts";
export * from "./psnr.ts";
export * from "./ssim.ts";
export * from "./colourfulness.ts";
export * from "./colour_distance.ts";
export * from "./edge_correlation.ts";
export * from "./lattice_peak.ts";

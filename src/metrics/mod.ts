/**
 * Image quality metrics for super-resolution: {@linkcode psnr} and {@linkcode ssim} on RGB or on
 * BT.601 luma ({@linkcode rgbToY}), with the border-crop convention of SR papers.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/mod.ts";
 * import { psnr, ssim } from "./mod.ts";
 * await initBackend("cpu");
 * const hr = tf.randomUniform([1, 32, 32, 3]) as tf.Tensor4D;
 * const sr = tf.clipByValue(tf.add(hr, 0.01), 0, 1) as tf.Tensor4D;
 * const opts = { yChannel: true, crop: 2 } as const;
 * console.log(await psnr(sr, hr, opts), await ssim(sr, hr, opts));
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

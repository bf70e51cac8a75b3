/**
 * U-Nets for image-to-image training: {@linkcode unet} builds one from a {@linkcode UNetConfig}
 * (decoded from JSON with {@linkcode decodeUNetConfig}), {@linkcode saveModel} /
 * {@linkcode loadModel} write and read TensorFlow.js's standard layers format, and
 * {@linkcode registerLayers} lets stock TensorFlow.js load those files.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/mod.ts";
 * import { decodeUNetConfigOrThrow, parameterCount, unet } from "./mod.ts";
 * await initBackend("cpu");
 * const model = unet(decodeUNetConfigOrThrow({ depth: 2, baseFilters: 8, scale: 2, outputRange: [0, 1] }));
 * console.log(parameterCount(model, "trainable"));
 * const y = model.predict(tf.zeros([1, 16, 16, 3])) as tf.Tensor;
 * console.log(y.shape); // [1, 32, 32, 3]
 * tf.dispose(y);
 * model.dispose();
 * ```
 *
 * @module
 */
export * from "./config.ts";
export * from "./errors.ts";
export * from "./unet.ts";
export * from "./model_io.ts";
export * from "./register.ts";
export * from "./pixel_shuffle.ts";
export * from "./icnr.ts";
export * from "./resize.ts";
export * from "./output_map.ts";
export * from "./size_check.ts";
export * from "./max_pool.ts";

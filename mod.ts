/**
 * perceptual-loss: train image-to-image networks with perceptual losses on TensorFlow.js.
 *
 * @example
 * ```ts
 * import { initBackend, scope } from "./mod.ts";
 * import * as tf from "@tensorflow/tfjs-core";
 * const backend = await initBackend("cpu");
 * console.log(backend.name);
 * const y = scope(() => tf.sum(tf.square(tf.ones([2, 2]))));
 * y.dispose();
 * ```
 *
 * @module
 */
export * from "./src/backend/mod.ts";
export * from "./src/lifetime/mod.ts";

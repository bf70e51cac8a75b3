/**
 * perceptual-loss: train image-to-image networks (super-resolution, colourisation, style transfer)
 * with perceptual losses on TensorFlow.js.
 *
 * Losses are values: `feature(layer) ⊕ style(layer) ⊕ pixel()`, combined with an fp-ts monoid and
 * evaluated with ONE pass of a frozen VGG network up to the deepest layer any term needs.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { pipe } from "fp-ts/lib/function.js";
 * import { evaluate, feature, initBackend, pixel, plus, scope, style, vgg16 } from "./mod.ts";
 *
 * await initBackend("cpu");
 * // Seeded random weights keep the example offline; use `weights: "imagenet"` for real features.
 * using net = await vgg16({ weights: { random: 1 }, upTo: "block2_conv2" });
 * const loss = pipe(
 *   feature("block2_conv2", { distance: "l1", weight: 1 }),
 *   plus(style("block1_conv2", { normalisation: "chw", weight: 10 })),
 *   plus(pixel({ distance: "l1" })),
 * );
 * const lossFn = evaluate(loss, net);
 * const target = tf.randomUniform([1, 32, 32, 3]) as tf.Tensor4D;
 * const prediction = tf.randomUniform([1, 32, 32, 3]) as tf.Tensor4D;
 * const grad = scope(() => tf.grad((p) => lossFn(p as tf.Tensor4D, target).total)(prediction));
 * console.log(grad.shape); // [1, 32, 32, 3]
 * tf.dispose([grad, target, prediction]);
 * ```
 *
 * @module
 */
export * from "./src/backend/mod.ts";
export * from "./src/lifetime/mod.ts";
export * from "./src/vgg/mod.ts";
export * from "./src/loss/mod.ts";
export * from "./src/unet/mod.ts";
export * from "./src/train/mod.ts";
export * from "./src/data/mod.ts";
export * from "./src/metrics/mod.ts";

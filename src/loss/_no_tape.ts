/**
 * Running a computation without recording it on an active gradient tape.
 *
 * @module
 */
import { tapeState } from "../_internal/engine.ts";

/**
 * Run `fn` so that, even inside `tf.grad`/`tf.variableGrads`, none of its ops is recorded on the
 * tape: no gradient can flow into what it computes, and none of its intermediate activations is
 * kept alive for a backward pass (so a surrounding `tf.tidy` frees them at once).
 *
 * TensorFlow.js 4.22 has no public `stopGradient`/`no_grad`. Its engine records an op only when
 * `gradientDepth > 0 && kernelDepth === 0`, and raises `kernelDepth` itself while a kernel (or a
 * `customGrad` forward function) runs; this does the same for `fn`. Should a future engine lack
 * the field, `fn` runs recorded: results and gradients stay correct, only the saving is lost.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { withoutTape } from "./_no_tape.ts";
 * await initBackend("cpu");
 * const x = tf.scalar(3);
 * // d/dx (x · stop(x)) = stop(x) = 3, not 2x = 6
 * const g = tf.grad((v: tf.Tensor) => tf.mul(v, withoutTape(() => tf.mul(v, 1))))(x);
 * assert.equal(g.dataSync()[0], 3);
 * ```
 */
export function withoutTape<T>(fn: () => T): T {
  const state = tapeState();
  if (state === undefined) return fn();
  state.kernelDepth++;
  try {
    return fn();
  } finally {
    state.kernelDepth--;
  }
}

/**
 * A synchronous tensor scope that leaks nothing, even when its body throws.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { onTensorCreated } from "../_internal/engine.ts";

/**
 * Run `body` synchronously; dispose every tensor it created except those it returns.
 *
 * Like `tf.tidy`, plus one guarantee tidy lacks: when `body` throws, tensors that tfjs had marked
 * as kept (the saved activations of a `tf.grad` that failed half-way, say) are disposed too, so a
 * failing step leaks nothing. Variables are never disposed. Never `await` inside `body`.
 *
 * @param body the synchronous computation.
 * @returns whatever `body` returned; its tensors survive the scope.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { scope } from "@perceptual/loss/lifetime";
 * await initBackend("cpu");
 * const x = tf.tensor1d([1, 2, 3]);
 * const before = tf.memory().numTensors;
 * try {
 *   scope(() => tf.grad((a: tf.Tensor) => tf.reshape(tf.mul(a, 2), [7]))(x));
 * } catch { /* shape error inside the gradient *\/ }
 * assert.equal(tf.memory().numTensors - before, 0);
 * ```
 */
export function scope<T extends tf.TensorContainer>(body: () => T): T {
  const created: tf.Tensor[] = [];
  const stop = onTensorCreated((t) => created.push(t));
  try {
    return tf.tidy(body);
  } catch (e) {
    for (const t of created) {
      if (!t.isDisposed && !(t instanceof tf.Variable)) t.dispose();
    }
    throw e;
  } finally {
    stop();
  }
}

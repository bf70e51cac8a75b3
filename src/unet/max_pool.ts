/**
 * 2×2 max-pooling with stride 2 built from reshape, slice and maximum, so its gradient is the
 * one autodiff derives from `tf.maximum`, on every backend.
 *
 * Why not `tf.maxPool`: the wasm backend's `MaxPoolGrad` kernel (TensorFlow.js 4.22) drops part
 * of the gradient (measured: zeros where the cpu backend and a hand computation put dy, for
 * shapes as small as [1, 2, 4, 2] and [2, 2, 2, 1]). The forward values are identical.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { firstInput, firstShape, type Kwargs, type LayerArgs } from "./_layer_io.ts";

/**
 * Max over each 2×2 block: `[b, h, w, c]` → `[b, h/2, w/2, c]` (h and w even). The gradient goes
 * to one maximum per block (the top row before the bottom one, then the left column before the
 * right one, on ties), as TensorFlow's own MaxPoolGrad routes it to a single element.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { maxPool2x2 } from "@perceptual/loss/unet";
 * await initBackend("cpu");
 * const y = maxPool2x2(tf.tensor4d([1, 5, 3, 2], [1, 2, 2, 1]));
 * assert.deepEqual(Array.from(y.dataSync()), [5]);
 * ```
 */
export function maxPool2x2(x: tf.Tensor4D): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  if (h % 2 !== 0 || w % 2 !== 0) {
    throw new RangeError(`maxPool2x2 needs an even height and width, got ${h}×${w}`);
  }
  return tf.tidy(() => {
    // x[n, 2i + di, 2j + dj, k] sits at [n·h/2 + i, di, j, dj·c + k]: rank 4, no transpose.
    const rows = tf.reshape(x, [b * h / 2, 2, w / 2, 2 * c]);
    const top = tf.slice(rows, [0, 0, 0, 0], [-1, 1, -1, -1]);
    const bottom = tf.slice(rows, [0, 1, 0, 0], [-1, 1, -1, -1]);
    const vertical = tf.maximum(top, bottom);
    const left = tf.slice(vertical, [0, 0, 0, 0], [-1, -1, -1, c]);
    const right = tf.slice(vertical, [0, 0, 0, c], [-1, -1, -1, c]);
    return tf.reshape(tf.maximum(left, right), [b, h / 2, w / 2, c]);
  });
}

/**
 * The layer form of {@linkcode maxPool2x2}; no weights; serializes as `PerceptualMaxPool2x2`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tfl from "@tensorflow/tfjs-layers";
 * import { MaxPool2x2 } from "@perceptual/loss/browser";
 * const x = tfl.input({ shape: [8, 8, 3] });
 * const y = new MaxPool2x2({}).apply(x) as tfl.SymbolicTensor;
 * assert.deepEqual(y.shape, [null, 4, 4, 3]);
 * ```
 */
export class MaxPool2x2 extends tfl.layers.Layer {
  /** The name this layer serializes under. */
  static className = "PerceptualMaxPool2x2";

  /** Build the layer. */
  constructor(args: LayerArgs = {}) {
    super(args);
  }

  /** `[b, h, w, c]` → `[b, h/2, w/2, c]`. */
  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const s = firstShape(inputShape);
    const half = (n: number | null) => n === null ? null : Math.floor(n / 2);
    return [s[0]!, half(s[1]!), half(s[2]!), s[3]!];
  }

  /** Pool the input. */
  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    const x = firstInput(inputs);
    return maxPool2x2(x as tf.Tensor4D);
  }
}

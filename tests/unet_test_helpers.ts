// Shared by the unet_*_test.ts files: loss, gradients and weight access for tfjs-layers models.
import * as tf from "@tensorflow/tfjs-core";
import type * as tfl from "@tensorflow/tfjs-layers";

/** A fixed linear read-out of the output, so every output element carries gradient. */
export function readout(model: tfl.LayersModel, x: tf.Tensor, r: tf.Tensor): tf.Scalar {
  return tf.sum(tf.mul(model.apply(x, { training: true }) as tf.Tensor, r)) as tf.Scalar;
}

/** Gradients of `readout` with respect to every trainable weight, by weight name, as arrays. */
export function trainableGradients(
  model: tfl.LayersModel,
  x: tf.Tensor,
  r: tf.Tensor,
): Map<string, Float32Array> {
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const { value, grads } = tf.variableGrads(() => readout(model, x, r), vars);
  const out = new Map<string, Float32Array>();
  model.trainableWeights.forEach((w, i) => {
    out.set(w.originalName, grads[vars[i]!.name]!.dataSync() as Float32Array);
  });
  tf.dispose([value, grads]);
  return out;
}

/** Every weight (trainable or not) as plain arrays, by name. */
export function weightArrays(model: tfl.LayersModel): Map<string, Float32Array> {
  return new Map(
    model.weights.map((w) => [w.originalName, w.read().dataSync() as Float32Array]),
  );
}

/** Max |a − b| / max(|a|) over two arrays. */
export function relativeDiff(a: Float32Array, b: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(a[i]!));
  }
  return den === 0 ? num : num / den;
}

/** A deterministic pseudo-random array in [-1, 1). */
export function noise(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

/** Max-pool 2×2 gradient by hand: dy goes to the block's maximum (inputs without ties). */
export function maxPoolGradByHand(x: tf.Tensor, dy: tf.Tensor): Float32Array {
  const [b, h, w, c] = x.shape as number[];
  const xs = x.dataSync();
  const ds = dy.dataSync();
  const out = new Float32Array(xs.length);
  for (let n = 0; n < b!; n++) {
    for (let i = 0; i < h! / 2; i++) {
      for (let j = 0; j < w! / 2; j++) {
        for (let k = 0; k < c!; k++) {
          let best = -Infinity;
          let at = -1;
          for (const [di, dj] of [[0, 0], [0, 1], [1, 0], [1, 1]]) {
            const idx = ((n * h! + 2 * i + di!) * w! + 2 * j + dj!) * c! + k;
            if (xs[idx]! > best) [best, at] = [xs[idx]!, idx];
          }
          out[at] += ds[((n * h! / 2 + i) * w! / 2 + j) * c! + k]!;
        }
      }
    }
  }
  return out;
}

/**
 * Pictures of a run: training samples side by side, written as PNG files.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { saveImage } from "../data/mod.ts";
import { scope } from "../lifetime/mod.ts";

/**
 * Rows `input | model | truth`, one row per sample, as one [rows*h, 3*w, 3] image (caller owns
 * it); a one-channel input is shown grey, every panel clipped to [0, 1].
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { sideBySide } from "@perceptual/loss/experiment";
 * import assert from "node:assert/strict";
 *
 * await initBackend("cpu");
 * const x = tf.zeros([2, 4, 5, 3]) as tf.Tensor4D;
 * const row = sideBySide(x, x, x);
 * assert.deepEqual(row.shape, [8, 15, 3]);
 * tf.dispose([x, row]);
 * ```
 */
export function sideBySide(
  input: tf.Tensor4D,
  prediction: tf.Tensor4D,
  target: tf.Tensor4D,
): tf.Tensor3D {
  return scope(() => {
    const rgb = input.shape[3] === 1 ? tf.tile(input, [1, 1, 1, 3]) : input;
    const clip = (x: tf.Tensor4D) => tf.clipByValue(x, 0, 1);
    const rows = tf.concat([clip(rgb), clip(prediction), clip(target)], 2);
    const [n, h, w, c] = rows.shape;
    return tf.reshape(rows, [n * h, w, c]) as tf.Tensor3D;
  });
}

/**
 * Write `image` as a PNG at `path`, then dispose it (also when writing fails).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { saveAndDispose } from "@perceptual/loss/experiment";
 * import assert from "node:assert/strict";
 *
 * await initBackend("cpu");
 * const image = tf.ones([2, 2, 3]) as tf.Tensor3D;
 * const path = `${await Deno.makeTempDir()}/white.png`;
 * await saveAndDispose(path, image);
 * assert.ok(image.isDisposed);
 * assert.ok((await Deno.stat(path)).size > 0);
 * ```
 */
export async function saveAndDispose(
  path: string,
  image: tf.Tensor3D | tf.Tensor4D,
): Promise<void> {
  try {
    await saveImage(path, image);
  } finally {
    image.dispose();
  }
}

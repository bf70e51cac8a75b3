/**
 * Whole-image prediction with a U-Net whose depth may not divide the image size. Kept in this one
 * place so that the library's `predictImage` (src/unet/predict_image.ts, on another branch) can
 * replace it at merge.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type * as tfl from "@tensorflow/tfjs-layers";
import { scope } from "../../src/lifetime/mod.ts";

/**
 * Run `model` on one HWC image: mirror-pad to a multiple of `multiple`, predict, crop the
 * `scale`× result back and clip to [0, 1]. Returns a [1, h·scale, w·scale, c] tensor.
 */
export function predictImage(
  model: tfl.LayersModel,
  image: tf.Tensor3D,
  multiple: number,
  scale = 1,
): tf.Tensor4D {
  return scope(() => {
    const [h, w] = image.shape;
    const ph = (multiple - (h % multiple)) % multiple;
    const pw = (multiple - (w % multiple)) % multiple;
    // Symmetric padding keeps borders natural; it needs the pad smaller than the image.
    const padded = tf.mirrorPad(image, [[0, ph], [0, pw], [0, 0]], "symmetric");
    const out = model.predict(tf.expandDims(padded, 0)) as tf.Tensor4D;
    return tf.clipByValue(tf.slice(out, [0, 0, 0, 0], [1, h * scale, w * scale, -1]), 0, 1);
  });
}

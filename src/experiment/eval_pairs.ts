/**
 * Super-resolution evaluation pairs: Set5-style folders (`*_HR.png` with an optional `*_LR.png`)
 * and held-out strips, scored whole, and the model's prediction for one whole image (tiled, a
 * grey image scored on its own values as MATLAB's protocol does).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type * as tfl from "@tensorflow/tfjs-layers";
import {
  bicubicDownscale,
  cropPixels,
  imageFileInfo,
  pixelsToTensor,
  readPixels,
  type SplitImage,
} from "../data/mod.ts";
import { scope } from "../lifetime/mod.ts";
import { Y_WEIGHTS } from "../metrics/options.ts";
import { predictImage } from "../unet/mod.ts";
import { UsageError } from "./errors.ts";
import { usableFolder, WHOLE_PHOTO_MAX_ELEMENTS } from "./split_photos.ts";

const HR_FILE = /HR\.(png|jpe?g)$/i;
const LR_FILE = /LR\.(png|jpe?g)$/i;

/** One evaluation image: high-resolution truth and its low-resolution input (HWC). */
export interface EvalPair {
  /** The image's name without `_HR.png`. */
  readonly name: string;
  /** The truth, cropped to a multiple of the scale. */
  readonly highRes: tf.Tensor3D;
  /** The input. */
  readonly lowRes: tf.Tensor3D;
}

/**
 * Set5-style pairs from `dir`: every `*HR.png` with its `*LR.png` when present (else a MATLAB-style
 * bicubic downscale of the HR image, as the Set5 LR files were made). A folder without any
 * `*HR` image is a {@linkcode UsageError}; `*LR` files without their `*HR` image, and files that
 * are neither, are named in a note. A grey FILE (one stored channel) is kept with 1 channel, so
 * that it is scored on its own values, as the MATLAB protocol behind published SR tables does
 * (it tests `size(im, 3)`); an RGB file is scored through YCbCr even when R = G = B everywhere.
 * The caller disposes the pairs.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { saveImage } from "@perceptual/loss/data";
 * import { loadEvalPairs } from "@perceptual/loss/experiment";
 * import assert from "node:assert/strict";
 *
 * await initBackend("cpu");
 * const dir = await Deno.makeTempDir();
 * const img = tf.fill([9, 8, 3], 0.5) as tf.Tensor3D;
 * await saveImage(`${dir}/bird_HR.png`, img);
 * const [pair] = await loadEvalPairs(dir, 2);
 * assert.equal(pair!.name, "bird");
 * assert.deepEqual([pair!.highRes.shape, pair!.lowRes.shape], [[8, 8, 3], [4, 4, 3]]);
 * tf.dispose([img, pair!.highRes, pair!.lowRes]);
 * ```
 */
export async function loadEvalPairs(dir: string, scale: number): Promise<EvalPair[]> {
  const files = await usableFolder("--eval", dir);
  const highs = files.filter((f) => HR_FILE.test(f));
  const base = (f: string) => f.slice(f.lastIndexOf("/") + 1);
  if (highs.length === 0) {
    throw new UsageError(
      `--eval ${dir}: no *_HR image, so nothing to score against (found ${
        files.slice(0, 5).map(base).join(", ")
      }${files.length > 5 ? ", …" : ""}); Set5-style folders hold the ground truth as ` +
        "NAME_HR.png and optionally its input as NAME_LR.png: name the ground-truth images " +
        "NAME_HR.png",
    );
  }
  const used = new Set<string>();
  const pairs: EvalPair[] = [];
  try {
    for (const hrPath of highs) {
      // Grey by the FILE's channel count, as MATLAB's size(im, 3): an RGB file whose pixels
      // happen to be grey goes through YCbCr like any RGB file (Set14's "man").
      const grey = (await imageFileInfo(hrPath)).channels === 1;
      const hrPixels = await readPixels(hrPath, { channels: grey ? 1 : 3 });
      // Crop the truth to a multiple of the scale, as SR benchmarks do.
      const h = hrPixels.height - (hrPixels.height % scale);
      const w = hrPixels.width - (hrPixels.width % scale);
      const highRes = pixelsToTensor(cropPixels(hrPixels, 0, 0, h, w));
      const lrPath = hrPath.replace(/HR(\.[a-z]+)$/i, "LR$1");
      let lowRes: tf.Tensor3D;
      if (lrPath !== hrPath && files.includes(lrPath)) {
        used.add(lrPath);
        // A grey truth's input is grey: BT.601 luma of a grey file is its own value.
        lowRes = pixelsToTensor(await readPixels(lrPath, { channels: grey ? 1 : 3 }));
        if (lowRes.shape[0] * scale !== h || lowRes.shape[1] * scale !== w) {
          const [lh, lw] = lowRes.shape;
          tf.dispose([lowRes, highRes]);
          throw new UsageError(
            `--eval: ${lrPath} is ${lw}x${lh}, not 1/${scale} of ${hrPath} (${w}x${h}); is ` +
              `--scale ${scale} right for this folder?`,
          );
        }
      } else {
        lowRes = bicubicDownscale(highRes, scale, { quantize: "uint8" });
      }
      const name = hrPath.split("/").pop()!.replace(/[_-]?HR\.[a-z]+$/i, "");
      pairs.push({ name, highRes, lowRes });
    }
    const orphans = files.filter((f) => LR_FILE.test(f) && !used.has(f)).map(base);
    const others = files.filter((f) => !LR_FILE.test(f) && !HR_FILE.test(f)).map(base);
    if (orphans.length + others.length > 0) {
      const parts = [
        ...(orphans.length > 0 ? [`(no matching *_HR image): ${orphans.join(", ")}`] : []),
        ...(others.length > 0 ? [`(neither *_HR nor *_LR): ${others.join(", ")}`] : []),
      ];
      console.log(`note: --eval ${dir}: not scored ${parts.join("; ")}`);
    }
  } catch (e) {
    // The pairs read so far are the caller's only once all are.
    for (const p of pairs) tf.dispose([p.highRes, p.lowRes]);
    throw e;
  }
  return pairs;
}

/**
 * The model's prediction for one HWC low-resolution image, clipped to [0, 1] as [1, H, W, c]. A
 * grey (1-channel) input is replicated to RGB for the model, and the RGB output is brought back
 * to one channel as BT.601 luma on the grey scale, (65.481 R + 128.553 G + 24.966 B) / 219: the
 * grey value itself when R = G = B, so a grey image is scored on its own values (MATLAB's Y of
 * the same pixels would be compressed to [16, 235]).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import * as tfl from "@tensorflow/tfjs-layers";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { predictSr } from "@perceptual/loss/experiment";
 * import assert from "node:assert/strict";
 *
 * await initBackend("cpu");
 * const model = tfl.sequential({
 *   layers: [tfl.layers.upSampling2d({ size: [2, 2], inputShape: [null, null, 3] })],
 * });
 * const grey = tf.fill([4, 4, 1], 0.5) as tf.Tensor3D;
 * const up = predictSr(model, grey);
 * assert.deepEqual(up.shape, [1, 8, 8, 1]);
 * assert.ok(Math.abs((await up.data())[0]! - 0.5) < 1e-6);
 * tf.dispose([grey, up]);
 * model.dispose();
 * ```
 */
export function predictSr(model: tfl.LayersModel, lowRes: tf.Tensor3D): tf.Tensor4D {
  return scope(() => {
    const grey = lowRes.shape[2] === 1;
    const input = grey ? tf.tile(lowRes, [1, 1, 3]) : lowRes;
    const batch = tf.expandDims(input, 0) as tf.Tensor4D;
    let out = tf.clipByValue(
      predictImage(model, batch, { maxElements: WHOLE_PHOTO_MAX_ELEMENTS }),
      0,
      1,
    );
    if (grey) {
      const w = tf.tensor1d(Y_WEIGHTS.map((v) => v / 219));
      out = tf.clipByValue(tf.sum(tf.mul(out, w), 3, true), 0, 1) as tf.Tensor4D;
    }
    return out;
  });
}

/**
 * Each held-out strip (the right quarter of a photo, cropped to a multiple of `scale`), whole,
 * as an evaluation pair; its input is the MATLAB-style bicubic downscale. The caller disposes
 * the pairs.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { splitPixels } from "@perceptual/loss/data";
 * import { heldOutPairs } from "@perceptual/loss/experiment";
 * import assert from "node:assert/strict";
 *
 * await initBackend("cpu");
 * const p = { height: 9, width: 40, channels: 3, data: new Float32Array(9 * 40 * 3) };
 * const [pair] = heldOutPairs([splitPixels("dir/cat.png", p, 8)!], 2);
 * assert.equal(pair!.name, "cat");
 * assert.deepEqual(pair!.lowRes.shape, [4, 5, 3]);
 * tf.dispose([pair!.highRes, pair!.lowRes]);
 * ```
 */
export function heldOutPairs(images: readonly SplitImage[], scale: number): EvalPair[] {
  return images.map((img) => {
    const p = img.heldOut;
    const hr = pixelsToTensor(
      cropPixels(p, 0, 0, p.height - (p.height % scale), p.width - (p.width % scale)),
    );
    const name = img.path.split("/").pop()!.replace(/\.[^.]+$/, "");
    return { name, highRes: hr, lowRes: bicubicDownscale(hr, scale, { quantize: "uint8" }) };
  });
}

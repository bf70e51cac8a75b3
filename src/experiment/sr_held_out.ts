/**
 * What a super-resolution run holds out and calibrates on, made once from its split photos:
 * held-out crops (high-res truth and MATLAB-style bicubic inputs), training crops for the loss's
 * calibration with their bicubic round trip (where a residual U-Net starts), the held-out
 * strips and `--eval` folders whole, and the table's sets with their panel names.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import {
  bicubicDownscale,
  bicubicUpscale,
  heldOutCrops,
  type SplitImage,
  stackPixels,
  trainingCrops,
} from "../data/mod.ts";
import { type EvalPair, heldOutPairs, loadEvalPairs } from "./eval_pairs.ts";
import type { SrSet } from "./sr_table.ts";

/** Options of {@linkcode srHeldOut}. */
export interface SrHeldOutOptions {
  /** Held-out crops. */
  readonly samples: number;
  /** Their high-resolution size. */
  readonly crop: number;
  /** The upscaling factor. */
  readonly scale: number;
  /** Set5-style folders scored too (see `loadEvalPairs`). */
  readonly eval?: readonly string[];
  /** Training crops for calibration (default 8). */
  readonly calibrationCrops?: number;
}

/** The tensors of {@linkcode srHeldOut}; dispose them with it. */
export interface SrHeldOut extends Disposable {
  /** Held-out crops, the truth. */
  readonly highRes: tf.Tensor4D;
  /** Their bicubic downscale (uint8-quantised), the model's input. */
  readonly lowRes: tf.Tensor4D;
  /** Training crops, for the loss's calibration. */
  readonly calibration: tf.Tensor4D;
  /** Their bicubic downscale upscaled: where an untrained residual U-Net starts. */
  readonly start: tf.Tensor4D;
  /** Each held-out strip whole. */
  readonly strips: readonly EvalPair[];
  /** Each `eval` folder's pairs. */
  readonly evalSets: readonly { readonly dir: string; readonly pairs: readonly EvalPair[] }[];
  /**
   * The table's sets: held-out crops, held-out strips (panels `<dir>/panel-heldout-<name>.png`)
   * and each eval folder (`<dir>/panel-eval-<parent>-<folder>-<name>.png`).
   */
  sets(dir: string): SrSet[];
}

/**
 * Everything a super-resolution run holds out, from its split photos (see `loadSplitImages`).
 *
 * @example
 * ```ts
 * import { initBackend } from "@perceptual/loss/backend";
 * import { loadSplitImages, srHeldOut } from "@perceptual/loss/experiment";
 * import assert from "node:assert/strict";
 *
 * await initBackend("cpu");
 * const images = await loadSplitImages("examples/data", 32);
 * using held = await srHeldOut(images, { samples: 2, crop: 32, scale: 2 });
 * assert.deepEqual(held.lowRes.shape, [2, 16, 16, 3]);
 * assert.deepEqual(held.sets("out").map((s) => s.name), ["held-out crops", "held-out strips"]);
 * ```
 */
export async function srHeldOut(
  images: readonly SplitImage[],
  o: SrHeldOutOptions,
): Promise<SrHeldOut> {
  const down = (t: tf.Tensor4D) => bicubicDownscale(t, o.scale, { quantize: "uint8" });
  const highRes = stackPixels(heldOutCrops(images, o.samples, o.crop));
  const lowRes = down(highRes);
  const calibration = stackPixels(trainingCrops(images, o.calibrationCrops ?? 8, o.crop));
  const start = tf.tidy(() => bicubicUpscale(down(calibration), o.scale));
  const strips = heldOutPairs(images, o.scale);
  const evalSets: { dir: string; pairs: EvalPair[] }[] = [];
  const dispose = () => {
    tf.dispose([highRes, lowRes, calibration, start]);
    for (const p of [...strips, ...evalSets.flatMap((s) => s.pairs)]) {
      tf.dispose([p.highRes, p.lowRes]);
    }
  };
  try {
    for (const dir of o.eval ?? []) {
      evalSets.push({ dir, pairs: await loadEvalPairs(dir, o.scale) });
    }
  } catch (e) {
    dispose();
    throw e;
  }
  const tag = (dir: string) => dir.replace(/\/+$/, "").split("/").slice(-2).join("-");
  return {
    highRes,
    lowRes,
    calibration,
    start,
    strips,
    evalSets,
    sets: (dir) => [
      { name: "held-out crops", lowRes, highRes },
      { name: "held-out strips", pairs: strips, panels: `${dir}/panel-heldout-` },
      ...evalSets.map((s) => ({
        name: s.dir,
        pairs: s.pairs,
        panels: `${dir}/panel-eval-${tag(s.dir)}-`,
      })),
    ],
    [Symbol.dispose]: dispose,
  };
}

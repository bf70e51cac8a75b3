/**
 * Super-resolution scoring for the superres example: Set5-style folders, and the final table of
 * PSNR / SSIM on the Y channel, a feature distance and LPIPS (alex), model against bicubic.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type * as tfl from "@tensorflow/tfjs-layers";
import {
  bicubicDownscale,
  bicubicUpscale,
  comparisonPanel,
  cropPixels,
  imageFileInfo,
  pixelsToTensor,
  readPixels,
  tensorToPixels,
  writePixels,
} from "../../src/data/mod.ts";
import { scope } from "../../src/lifetime/mod.ts";
import type { LossFn } from "../../src/loss/mod.ts";
import { psnr, ssim } from "../../src/metrics/mod.ts";
import { Y_WEIGHTS } from "../../src/metrics/options.ts";
import { predictImage } from "../../src/unet/mod.ts";
import type { Lpips } from "../../src/lpips/mod.ts";
import { lpipsMean } from "./lpips_column.ts";
import type { TargetOnceFn } from "./target_once.ts";
import { UsageError } from "../../src/experiment/mod.ts";
import { WHOLE_PHOTO_MAX_ELEMENTS } from "./images.ts";
import { type SplitImage, usableFolder } from "./split_images.ts";

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

/** One row of the final table. */
export interface ResultRow {
  /** Held-out crops, or a folder. */
  readonly set: string;
  /** What made the prediction. */
  readonly method: "bicubic" | "model";
  /** PSNR on Y, border shaved. */
  readonly psnrY: number;
  /** SSIM on Y, border shaved. */
  readonly ssimY: number;
  /** The feature distance. */
  readonly featureL1: number;
  /**
   * LPIPS v0.1 (AlexNet) on RGB (a grey image repeated), mean over images; lower is better.
   * `null` when not scored: no metric given, or an image smaller than the 31×31 AlexNet needs.
   */
  readonly lpipsAlex: number | null;
}

type Scores = [psnrY: number, ssimY: number, featureL1: number, lpipsAlex: number];

/**
 * PSNR, SSIM (Y channel, `scale` pixels shaved), the feature distance and LPIPS (whole image, no
 * shave), read asynchronously.
 */
async function scores(
  featureDistance: LossFn,
  x: tf.Tensor4D,
  target: tf.Tensor4D,
  scale: number,
  metric?: Lpips,
): Promise<Scores> {
  const opts = { yChannel: true, crop: scale } as const;
  // The loss network sees RGB: a grey image is replicated.
  const rgb = (t: tf.Tensor4D) => t.shape[3] === 1 ? tf.tile(t, [1, 1, 1, 3]) : t;
  // A distance that can keep its target's side (./target_once.ts) computes it once for both
  // methods of an image; outside the scope below, which would dispose it.
  const t3 = rgb(target);
  (featureDistance as Partial<TargetOnceFn>).prepare?.(t3);
  const f = scope(() => featureDistance(rgb(x), t3).total);
  if (t3 !== target) t3.dispose();
  const fv = (await f.data())[0]!;
  f.dispose();
  const lp = await lpipsMean(metric, x, target);
  return [await psnr(x, target, opts), await ssim(x, target, opts), fv, lp];
}

function rows(set: string, sums: Record<"bicubic" | "model", Scores>, n: number): ResultRow[] {
  return (["bicubic", "model"] as const).map((method) => {
    const [p, s, f, l] = sums[method];
    const lpipsAlex = Number.isNaN(l) ? null : l / n;
    return { set, method, psnrY: p / n, ssimY: s / n, featureL1: f / n, lpipsAlex };
  });
}

/** Bicubic and the model on one batch of held-out crops (LPIPS too when `metric` is given). */
export async function scoreCrops(
  model: tfl.LayersModel,
  featureDistance: LossFn,
  lowRes: tf.Tensor4D,
  highRes: tf.Tensor4D,
  scale: number,
  metric?: Lpips,
): Promise<ResultRow[]> {
  const bicubic = bicubicUpscale(lowRes, scale);
  const prediction = scope(() => tf.clipByValue(model.predict(lowRes) as tf.Tensor4D, 0, 1));
  try {
    return rows("held-out crops", {
      bicubic: await scores(featureDistance, bicubic, highRes, scale, metric),
      model: await scores(featureDistance, prediction, highRes, scale, metric),
    }, 1);
  } finally {
    tf.dispose([bicubic, prediction]);
  }
}

/**
 * The model's prediction for one HWC low-resolution image, clipped to [0, 1] as [1, H, W, c]. A
 * grey (1-channel) input is replicated to RGB for the model, and the RGB output is brought back
 * to one channel as BT.601 luma on the grey scale, (65.481 R + 128.553 G + 24.966 B) / 219: the
 * grey value itself when R = G = B, so a grey image is scored on its own values (MATLAB's Y of
 * the same pixels would be compressed to [16, 235]).
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

/** Where {@linkcode scoreFolder} writes a full-image panel per image. */
export interface PanelTarget {
  /** The folder (created if absent). */
  readonly dir: string;
  /** File name prefix, e.g. `panel-heldout-`. */
  readonly prefix: string;
}

/**
 * Bicubic and the model over a folder's whole images (mean over images), each predicted whole
 * (the library's tiled `predictImage`). With `panels`, also writes `<dir>/<prefix><name>.png`:
 * bicubic | model | truth with a ×4 nearest inset where model and bicubic differ most. With
 * `metric`, LPIPS too (`null` for the folder when one of its images is too small for it).
 */
export async function scoreFolder(
  set: string,
  pairs: readonly EvalPair[],
  model: tfl.LayersModel,
  featureDistance: LossFn,
  scale: number,
  panels?: PanelTarget,
  metric?: Lpips,
): Promise<ResultRow[]> {
  const sums: Record<"bicubic" | "model", Scores> = {
    bicubic: [0, 0, 0, 0],
    model: [0, 0, 0, 0],
  };
  if (panels !== undefined) await Deno.mkdir(panels.dir, { recursive: true });
  for (const pair of pairs) {
    const hr = tf.expandDims(pair.highRes, 0) as tf.Tensor4D;
    const bicubic = scope(() =>
      tf.clipByValue(bicubicUpscale(tf.expandDims(pair.lowRes, 0) as tf.Tensor4D, scale), 0, 1)
    );
    const prediction = predictSr(model, pair.lowRes);
    try {
      for (const [method, x] of [["bicubic", bicubic], ["model", prediction]] as const) {
        const got = await scores(featureDistance, x, hr, scale, metric);
        got.forEach((v, i) => sums[method][i] += v);
      }
      if (panels !== undefined) {
        const [b, m, t] = await Promise.all(
          [bicubic, prediction, hr].map((x) => {
            const one = tf.squeeze(x, [0]) as tf.Tensor3D;
            return tensorToPixels(one).finally(() => one.dispose());
          }),
        );
        const { pixels } = comparisonPanel([b!, m!, t!]);
        await writePixels(`${panels.dir}/${panels.prefix}${pair.name}.png`, pixels);
      }
    } finally {
      tf.dispose([hr, bicubic, prediction]);
    }
  }
  return rows(`${set} (${pairs.length} images)`, sums, pairs.length);
}

/** Print the table. */
export function printTable(rows: readonly ResultRow[], scale: number, randomVgg: boolean): void {
  console.log(`\nx${scale} super-resolution, Y channel (BT.601), ${scale}-pixel border shaved:`);
  const header = ["set", "method", "PSNR (dB)", "SSIM", "feature L1", "LPIPS alex"];
  const body = rows.map((r) => [
    r.set,
    r.method,
    r.psnrY.toFixed(2),
    r.ssimY.toFixed(4),
    r.featureL1.toPrecision(4),
    r.lpipsAlex === null ? "n/a" : r.lpipsAlex.toFixed(4),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  console.log(line(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const b of body) console.log(line(b));
  if (randomVgg) console.log("(feature L1 from a RANDOM-weight VGG: not ImageNet features)");
  console.log(
    "(LPIPS alex: v0.1, lower is better" +
      (rows.some((r) => r.lpipsAlex === null) ? "; n/a: an image under 31×31 or not scored)" : ")"),
  );
}

/** Each held-out strip (the right quarter of a photo), whole, as an evaluation pair. */
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

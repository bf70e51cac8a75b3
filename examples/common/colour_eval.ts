/**
 * examples/colorize.ts's scoring, table and pictures: the grey input, the model and the truth on
 * held-out crops (PSNR, SSIM, the loss and its terms, colourfulness), and full-image panels.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type * as tfl from "@tensorflow/tfjs-layers";
import {
  comparisonPanel,
  imageFolder,
  type Pixels,
  pixelsToTensor,
  readPixels,
  tensorToPixels,
  toGrayscale,
  writePixels,
} from "../../src/data/mod.ts";
import { scope } from "../../src/lifetime/mod.ts";
import type { LossFn } from "../../src/loss/mod.ts";
import { colourfulness, psnr, ssim } from "../../src/metrics/mod.ts";
import type { Lpips } from "../../src/lpips/mod.ts";
import { LPIPS_COLUMN, lpipsMean } from "./lpips_column.ts";
import { predictImage } from "../../src/unet/mod.ts";
import { WHOLE_PHOTO_MAX_ELEMENTS } from "./images.ts";
import { lossValues } from "./loss_values.ts";
import { type Cell, type Column, formatTable } from "../../src/experiment/mod.ts";

/** Whether an RGB image has colour at all (a grey photo teaches a colouriser nothing). */
export function hasColour(p: Pixels): boolean {
  const d = p.data;
  for (let i = 0; i < d.length; i += 3) {
    if (Math.abs(d[i]! - d[i + 1]!) > 2 / 255 || Math.abs(d[i + 1]! - d[i + 2]!) > 2 / 255) {
      return true;
    }
  }
  return false;
}

/** Zero the chroma head, so the untrained model returns the grey input exactly. */
export function zeroHead(model: tfl.LayersModel): void {
  const head = model.getLayer("head");
  const zeros = head.getWeights().map((w) => tf.zerosLike(w));
  head.setWeights(zeros);
  tf.dispose(zeros);
}

/** The per-crop squared error below which the log-error term stops caring (40 dB). */
export const LOG_MSE_EPSILON = 1e-4;

/**
 * `lossFn` plus `weight` × the mean over crops of ln(1 + MSE/ε): the pooled pixel loss is
 * optimal at the mean colour, which a mean of per-crop PSNRs punishes on nearly neutral crops
 * (where grey is already close); this term weighs each crop by 1/(ε + its MSE), as that PSNR
 * does. Weight 0: `lossFn` unchanged.
 */
export function withLogMse(lossFn: LossFn, weight: number): LossFn {
  if (weight === 0) return lossFn;
  return (pred, target) => {
    const r = lossFn(pred, target);
    const term = scope(() => {
      const mse = tf.mean(tf.squaredDifference(pred, target), [1, 2, 3]);
      return tf.mul(tf.mean(tf.log1p(tf.div(mse, LOG_MSE_EPSILON))), weight) as tf.Scalar;
    });
    const total = tf.add(r.total, term) as tf.Scalar;
    return { total, terms: { ...r.terms, "log-mse": term } };
  };
}

/** One row of the final table: what made the image, and its scores against the truth. */
export interface ColorizeRow {
  /** `grey input`, `model` or `truth`. */
  readonly method: string;
  /** PSNR on RGB (undefined for the truth itself). */
  readonly psnr?: number;
  /** SSIM on RGB. */
  readonly ssim?: number;
  /** LPIPS (alex) against the truth; NaN when not scored (see `lpipsMean`). */
  readonly lpips?: number;
  /** The training loss and its terms. */
  readonly loss?: Record<string, number>;
  /** Hasler & Süsstrunk colourfulness (0 for grey). */
  readonly colourfulness: number;
}

/** The grey input, the model and the truth on the held-out crops. */
export async function scoreCrops(
  model: tfl.LayersModel,
  lossFn: LossFn,
  input: tf.Tensor4D,
  target: tf.Tensor4D,
  metric?: Lpips,
): Promise<ColorizeRow[]> {
  const prediction = scope(() => tf.clipByValue(model.predict(input) as tf.Tensor4D, 0, 1));
  const grey = tf.tile(input, [1, 1, 1, 3]);
  try {
    const rows: ColorizeRow[] = [];
    for (const [method, x] of [["grey input", grey], ["model", prediction]] as const) {
      rows.push({
        method,
        psnr: await psnr(x, target),
        ssim: await ssim(x, target),
        lpips: await lpipsMean(metric, x, target),
        loss: await lossValues(lossFn, x, target, "loss"),
        colourfulness: await colourfulness(x),
      });
    }
    rows.push({ method: "truth", colourfulness: await colourfulness(target) });
    return rows;
  } finally {
    tf.dispose([prediction, grey]);
  }
}

/** The table's columns: PSNR, SSIM, the loss and its terms, colourfulness. */
export function tableColumns(rows: readonly ColorizeRow[]): Column[] {
  return [
    { name: "method" },
    { name: "PSNR (dB)", format: (n) => n.toFixed(2) },
    { name: "SSIM", format: (n) => n.toFixed(4) },
    { name: LPIPS_COLUMN, format: (n) => Number.isNaN(n) ? "n/a" : n.toFixed(4) },
    ...Object.keys(rows[0]!.loss ?? {}).map((name) => ({ name })),
    { name: "colourfulness", format: (n) => n.toFixed(1) },
  ];
}

/** One row's cells under `columns`. */
export function tableRow(r: ColorizeRow, columns: readonly Column[]): Cell[] {
  const terms = columns.slice(4, -1).map((c) => r.loss?.[c.name]);
  return [r.method, r.psnr, r.ssim, r.lpips, ...terms, r.colourfulness];
}

/** Print the table in the examples' format (numbers, right-aligned); returns its columns. */
export function printTable(
  rows: readonly ColorizeRow[],
  shape: readonly number[],
  random: boolean,
): Column[] {
  const columns = tableColumns(rows);
  console.log(
    `\nheld-out crops (${shape[0]} of ${shape[1]}x${shape[2]}), RGB; colourfulness: Hasler & ` +
      "Süsstrunk 2003 (0 = grey):",
  );
  console.log(formatTable(columns, rows.map((r) => tableRow(r, columns))));
  if (random) console.log("(loss terms from a RANDOM-weight VGG: not ImageNet features)");
  return columns;
}

/**
 * Every photo of `dirs`, whole, through the model: `grey | model | truth` panels (`grey | model`
 * for a photo that is grey already), with a ×4 inset where model and grey differ most.
 */
export async function writePanels(
  model: tfl.LayersModel,
  dirs: readonly string[],
  excluded: (path: string) => boolean,
  outDir: string,
  marker: string,
): Promise<string[]> {
  const written: string[] = [];
  const paths = (await Promise.all(dirs.map((d) => imageFolder(d)))).flat();
  for (const path of paths.filter((p) => !excluded(p))) {
    const truth = await readPixels(path, { channels: 3 });
    const rgb = pixelsToTensor(truth);
    const grey = toGrayscale(rgb);
    const colourised = scope(() =>
      tf.clipByValue(predictImage(model, grey, { maxElements: WHOLE_PHOTO_MAX_ELEMENTS }), 0, 1)
    );
    const greyPixels = await tensorToPixels(grey);
    const modelPixels = await tensorToPixels(colourised);
    tf.dispose([rgb, grey, colourised]);
    const panel = comparisonPanel(
      hasColour(truth) ? [greyPixels, modelPixels, truth] : [greyPixels, modelPixels],
    );
    const name = path.slice(path.lastIndexOf("/") + 1).replace(/\.[^.]+$/, "");
    const file = `${outDir}/panel-${name}${marker}.png`;
    await writePixels(file, panel.pixels);
    written.push(file);
  }
  return written;
}

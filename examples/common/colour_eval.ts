/**
 * examples/colorize.ts's own parts: the zeroed chroma head, the per-crop log error, the table of
 * grey input, model and truth (`metricTable`), and whole-photo panels.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type * as tfl from "@tensorflow/tfjs-layers";
import { hasColour, imageFolder, toGrayscale } from "../../src/data/mod.ts";
import { scope } from "../../src/lifetime/mod.ts";
import type { LossFn } from "../../src/loss/mod.ts";
import { colourfulness, psnr, ssim } from "../../src/metrics/mod.ts";
import type { Lpips } from "../../src/lpips/mod.ts";
import type { ReportTable } from "../../src/train/mod.ts";
import * as x from "../../src/experiment/mod.ts";

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
 * `lossFn` plus `weight` × the mean over crops of ln(1 + MSE/ε), which weighs each crop by
 * 1/(ε + its MSE) as a mean of per-crop PSNRs does (the pooled pixel loss is optimal at the mean
 * colour, which that PSNR punishes on nearly neutral crops). Weight 0: `lossFn` unchanged.
 */
export function withLogMse(lossFn: LossFn, weight: number): LossFn {
  if (weight === 0) return lossFn;
  return (pred, target) => {
    const r = lossFn(pred, target);
    const term = scope(() => {
      const mse = tf.mean(tf.squaredDifference(pred, target), [1, 2, 3]);
      return tf.mul(tf.mean(tf.log1p(tf.div(mse, LOG_MSE_EPSILON))), weight) as tf.Scalar;
    });
    return { total: tf.add(r.total, term) as tf.Scalar, terms: { ...r.terms, "log-mse": term } };
  };
}

const LPIPS = "LPIPS alex (lower is better)";
const FORMATS: Record<string, (n: number) => string> = {
  "PSNR (dB)": (n) => n.toFixed(2),
  SSIM: (n) => n.toFixed(4),
  [LPIPS]: (n) => n.toFixed(4),
  colourfulness: (n) => n.toFixed(1),
};

/** The grey input, the model and the truth on the held-out crops: rows for results.json, text, report. */
export async function colourTable(
  model: tfl.LayersModel,
  lossFn: LossFn,
  held: { input: tf.Tensor4D; target: tf.Tensor4D },
  metric: Lpips,
): Promise<{ table: Record<string, unknown>[]; text: string; report: ReportTable }> {
  const t = await x.metricTable({
    sets: [{ name: "held-out crops", ...held }],
    methods: { "grey input": { unclipped: (g) => tf.tile(g, [1, 1, 1, 3]) }, model },
    metrics: {
      "PSNR (dB)": (p, t) => psnr(p, t),
      SSIM: (p, t) => ssim(p, t),
      [LPIPS]: x.lpipsMetric(metric),
      loss: x.lossMetric(lossFn, "loss"),
      colourfulness: (p) => colourfulness(p),
    },
  });
  const truth = await colourfulness(held.target);
  const columns = t.columns.slice(1);
  const rows = [...t.rows.map((r) => r.slice(1)), [
    "truth",
    ...columns.slice(1, -1).map(() => "-"),
    truth,
  ]];
  const text = x.formatTable(columns.map((name) => ({ name, format: FORMATS[name] })), rows);
  const table = t.values.map((v, i) => {
    const { "PSNR (dB)": psnr, SSIM: ssim, [LPIPS]: lpips, colourfulness, ...loss } = v;
    return { method: t.rows[i]![1], psnr, ssim, lpips, loss, colourfulness };
  });
  return {
    table: [...table, { method: "truth", colourfulness: truth }],
    text,
    report: { columns, rows },
  };
}

/** Every photo of `dirs` but the excluded, whole: `grey | model | truth` (no truth if grey). */
export async function writePanels(
  model: tfl.LayersModel,
  dirs: readonly string[],
  excluded: (path: string) => boolean,
  dir: string,
  suffix: string,
): Promise<string[]> {
  const paths = (await Promise.all(dirs.map((d) => imageFolder(d)))).flat();
  const input = (p: tf.Tensor3D) => toGrayscale(p);
  const options = { dir, suffix, input, withTruth: hasColour };
  return await x.photoPanels(model, { paths: paths.filter((p) => !excluded(p)), ...options });
}

/**
 * The super-resolution results table (`metricTable`): the model against bicubic, PSNR and SSIM
 * on Y (`scale` pixels shaved, the SR convention), a feature distance and LPIPS (alex), on
 * held-out crops (a batch) and on folders of whole images (each predicted whole by
 * `predictSr`, with a bicubic | model | truth panel).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type * as tfl from "@tensorflow/tfjs-layers";
import { bicubicUpscale } from "../data/mod.ts";
import type { LossFn } from "../loss/mod.ts";
import type { Lpips } from "../lpips/mod.ts";
import { type EvalPair, predictSr } from "./eval_pairs.ts";
import { writePanel } from "./images.ts";
import {
  defaultMetrics,
  lossMetric,
  lpipsMetric,
  type MetricFn,
  type MetricSet,
  type MetricTable,
  metricTable,
} from "./metric_table.ts";
import { psnr, ssim } from "../metrics/mod.ts";

/** One row of {@linkcode srTable} as a plain object (for results.json). */
export interface SrResultRow {
  /** The set, e.g. `held-out strips (6 images)`. */
  readonly set: string;
  /** What made the prediction. */
  readonly method: "bicubic" | "model";
  /** PSNR on Y, border shaved (mean over the set's images). */
  readonly psnrY: number;
  /** SSIM on Y, border shaved. */
  readonly ssimY: number;
  /** The feature distance. */
  readonly featureL1: number;
  /** LPIPS v0.1 (AlexNet) on RGB, lower is better; null when not scored (under 31×31). */
  readonly lpipsAlex: number | null;
}

const LPIPS = "LPIPS alex (lower is better)";

/**
 * A set of {@linkcode srTable}: a batch of crops (`lowRes`, `highRes`), or whole images
 * (`pairs`, the row named `<name> (N images)`) with, given `panels` (a path prefix), a panel
 * `<panels><image>.png` each.
 */
export type SrSet =
  | { readonly name: string; readonly lowRes: tf.Tensor4D; readonly highRes: tf.Tensor4D }
  | { readonly name: string; readonly pairs: readonly EvalPair[]; readonly panels?: string };

/**
 * Bicubic and the model on every set: PSNR Y (dB), SSIM Y (`scale` pixels shaved), the feature
 * L1 of `featureDistance` (see `featureDistance`) and LPIPS alex (NaN, `n/a`, without `metric`
 * or under 31×31). On crops the model's output is clipped to [0, 1] and bicubic's is not (as
 * the examples' tables always had it); whole images are predicted by `predictSr`, both clipped.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import * as tfl from "@tensorflow/tfjs-layers";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { srResultRows, srTable } from "@perceptual/loss/experiment";
 * import { evaluate, pixel } from "@perceptual/loss/loss";
 * import type { LossNetwork } from "@perceptual/loss/network";
 * import assert from "node:assert/strict";
 *
 * await initBackend("cpu");
 * const model = tfl.sequential({
 *   layers: [tfl.layers.upSampling2d({ size: [2, 2], inputShape: [null, null, 3] })],
 * });
 * const highRes = tf.fill([2, 32, 32, 3], 0.5) as tf.Tensor4D;
 * const lowRes = tf.fill([2, 16, 16, 3], 0.5) as tf.Tensor4D;
 * const l1 = evaluate(pixel(), {} as LossNetwork<never>);
 * const table = await srTable([{ name: "crops", lowRes, highRes }], model, l1, 2);
 * const rows = srResultRows(table);
 * assert.deepEqual(rows.map((r) => [r.method, r.psnrY, r.lpipsAlex]), [
 *   ["bicubic", Infinity, null],
 *   ["model", Infinity, null],
 * ]);
 * tf.dispose([highRes, lowRes]);
 * model.dispose();
 * ```
 */
export function srTable(
  sets: readonly SrSet[],
  model: tfl.LayersModel,
  featureDistance: LossFn,
  scale: number,
  metric?: Lpips,
): Promise<MetricTable> {
  const y = { yChannel: true, crop: scale } as const;
  const bicubic = (lr: tf.Tensor4D) => bicubicUpscale(lr, scale);
  const whole = { bicubic, model: (lr: tf.Tensor4D) => predictSr(model, tf.squeeze(lr, [0])) };
  const crops = { bicubic: { unclipped: bicubic }, model };
  const panels = new Map<string, string>();
  const tableSets = sets.map((s): MetricSet => {
    if (!("pairs" in s)) {
      return { name: s.name, input: s.lowRes, target: s.highRes, methods: crops };
    }
    const name = `${s.name} (${s.pairs.length} images)`;
    if (s.panels !== undefined) panels.set(name, s.panels);
    return {
      name,
      images: s.pairs.map((p) => ({ name: p.name, input: p.lowRes, target: p.highRes })),
    };
  });
  return metricTable({
    sets: tableSets,
    methods: whole,
    metrics: {
      "PSNR Y (dB)": defaultMetrics(y)["PSNR (dB)"]!,
      "SSIM Y": defaultMetrics(y)["SSIM"]!,
      "feature L1": lossMetric(featureDistance),
      [LPIPS]: metric === undefined ? () => Promise.resolve(NaN) : lpipsMetric(metric),
    },
    formats: {
      "PSNR Y (dB)": (n) => n.toFixed(2),
      "SSIM Y": (n) => n.toFixed(4),
      [LPIPS]: (n) => n.toFixed(4),
    },
    headers: { "PSNR Y (dB)": "PSNR (dB)", "SSIM Y": "SSIM", [LPIPS]: "LPIPS alex" },
    onImage: async ({ set, image, predictions: p, target }) => {
      const prefix = panels.get(set);
      if (prefix !== undefined) {
        await writePanel(`${prefix}${image}.png`, [p.bicubic!, p.model!, target]);
      }
    },
  });
}

/**
 * Validation metrics by the SR convention: `psnr_y` and `ssim_y` on Y, `scale` pixels shaved
 * (see `heldOutValidation`).
 *
 * @example
 * ```ts
 * import { srValidationMetrics } from "@perceptual/loss/experiment";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(Object.keys(srValidationMetrics(2)), ["psnr_y", "ssim_y"]);
 * ```
 */
export function srValidationMetrics(scale: number): Record<string, MetricFn> {
  const y = { yChannel: true, crop: scale } as const;
  return { psnr_y: (p, t) => psnr(p, t, y), ssim_y: (p, t) => ssim(p, t, y) };
}

/**
 * {@linkcode srTable}'s rows as objects (results.json's `rows`).
 *
 * @example
 * ```ts
 * import { srResultRows } from "@perceptual/loss/experiment";
 * import assert from "node:assert/strict";
 *
 * const columns = ["set", "method", "PSNR Y (dB)", "SSIM Y", "feature L1", "LPIPS alex (lower is better)"];
 * const values = [{ "PSNR Y (dB)": 30, "SSIM Y": 0.9, "feature L1": 0.2, "LPIPS alex (lower is better)": NaN }];
 * const rows = srResultRows({ columns, rows: [["a", "model", 30, 0.9, 0.2, "n/a"]], values, text: "" });
 * assert.deepEqual(rows[0], { set: "a", method: "model", psnrY: 30, ssimY: 0.9, featureL1: 0.2, lpipsAlex: null });
 * ```
 */
export function srResultRows(table: MetricTable): SrResultRow[] {
  return table.values.map((v, i) => ({
    set: String(table.rows[i]![0]),
    method: table.rows[i]![1] as SrResultRow["method"],
    psnrY: v["PSNR Y (dB)"]!,
    ssimY: v["SSIM Y"]!,
    featureL1: v["feature L1"]!,
    lpipsAlex: Number.isNaN(v[LPIPS]) ? null : v[LPIPS]!,
  }));
}

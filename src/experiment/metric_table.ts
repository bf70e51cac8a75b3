/**
 * The final evaluation table of a run: a model against baselines (bicubic, the degraded input,
 * …) on held-out pairs, scored by any metric functions (PSNR and SSIM out of the box; LPIPS with
 * {@linkcode lpipsMetric}), for the console and for `report.html`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type * as tfl from "@tensorflow/tfjs-layers";
import type { Lpips } from "../lpips/mod.ts";
import { type MetricOptions, psnr, ssim } from "../metrics/mod.ts";
import type { ReportTable } from "../train/mod.ts";
import { formatTable } from "./table.ts";

/** A metric: prediction and target (NHWC, [0, 1]) to one number; neither tensor is disposed. */
export type MetricFn = (prediction: tf.Tensor4D, target: tf.Tensor4D) => Promise<number>;

/** A method scored by the table: the model, or a baseline (input → prediction, caller-owned). */
export type Method = tfl.LayersModel | ((input: tf.Tensor4D) => tf.Tensor4D);

/** Options of {@linkcode metricTable}. */
export interface MetricTableOptions {
  /** The held-out set: its name in the table, inputs and targets (not disposed). */
  readonly sets: readonly {
    readonly name: string;
    readonly input: tf.Tensor4D;
    readonly target: tf.Tensor4D;
  }[];
  /** The methods, by their name in the table, e.g. `{ bicubic: …, model }`. */
  readonly methods: Readonly<Record<string, Method>>;
  /** The columns; default {@linkcode defaultMetrics} (PSNR and SSIM on RGB). */
  readonly metrics?: Readonly<Record<string, MetricFn>>;
}

/** The table: `report.finish({ table })` shows it, `text` is the console's. */
export interface MetricTable extends ReportTable {
  /** The table as aligned text. */
  readonly text: string;
}

/**
 * PSNR (dB) and SSIM, with `options` (e.g. `{ yChannel: true, crop: 2 }`, the SR convention).
 *
 * @example
 * ```ts
 * import { defaultMetrics } from "@perceptual/loss/experiment";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(Object.keys(defaultMetrics()), ["PSNR (dB)", "SSIM"]);
 * ```
 */
export function defaultMetrics(options: MetricOptions = {}): Record<string, MetricFn> {
  return {
    "PSNR (dB)": (p, t) => psnr(p, t, options),
    "SSIM": (p, t) => ssim(p, t, options),
  };
}

/**
 * The mean LPIPS of a batch as a metric column (lower is better); NaN where the images are
 * under the network's minimum size. The caller owns (and disposes) `metric`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { lpipsMetric } from "@perceptual/loss/experiment";
 * import { lpips } from "@perceptual/loss/lpips";
 * import assert from "node:assert/strict";
 *
 * await initBackend("cpu");
 * using metric = await lpips({ net: "alex" });
 * const x = tf.fill([1, 32, 32, 3], 0.5) as tf.Tensor4D;
 * assert.equal(await lpipsMetric(metric)(x, x), 0);
 * x.dispose();
 * ```
 */
export function lpipsMetric(metric: Lpips): MetricFn {
  return async (p, t) => {
    const min = metric.network.minInputSize();
    if (p.shape[1] < min || p.shape[2] < min) return NaN;
    const d = await metric.scores(p, t);
    return d.reduce((a, b) => a + b, 0) / d.length;
  };
}

/**
 * Score every method on every set with every metric: one row per (set, method). Predictions are
 * clipped to [0, 1] and disposed; no tensor is left behind.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { metricTable } from "@perceptual/loss/experiment";
 * import assert from "node:assert/strict";
 *
 * await initBackend("cpu");
 * const target = tf.fill([2, 16, 16, 3], 0.5) as tf.Tensor4D;
 * const input = tf.fill([2, 16, 16, 3], 0.25) as tf.Tensor4D;
 * const table = await metricTable({
 *   sets: [{ name: "held-out", input, target }],
 *   methods: { input: (x) => tf.clone(x), truth: () => tf.clone(target) },
 * });
 * assert.deepEqual(table.columns, ["set", "method", "PSNR (dB)", "SSIM"]);
 * assert.ok(Math.abs((table.rows[0]![2] as number) - 20 * Math.log10(4)) < 1e-4);
 * assert.equal(table.rows[1]![2], Infinity);
 * tf.dispose([input, target]);
 * ```
 */
export async function metricTable(options: MetricTableOptions): Promise<MetricTable> {
  const metrics = Object.entries(options.metrics ?? defaultMetrics());
  const rows: (string | number)[][] = [];
  for (const set of options.sets) {
    for (const [name, method] of Object.entries(options.methods)) {
      const prediction = tf.tidy(() =>
        tf.clipByValue(
          typeof method === "function"
            ? method(set.input)
            : method.predict(set.input) as tf.Tensor4D,
          0,
          1,
        ) as tf.Tensor4D
      );
      try {
        const values: number[] = [];
        for (const [, fn] of metrics) values.push(await fn(prediction, set.target));
        rows.push([set.name, name, ...values]);
      } finally {
        prediction.dispose();
      }
    }
  }
  const columns = ["set", "method", ...metrics.map(([n]) => n)];
  const text = formatTable(columns.map((name) => ({ name })), rows);
  return { columns, rows, text };
}

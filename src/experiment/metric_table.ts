/**
 * The final evaluation table of a run: a model against baselines (bicubic, the degraded input,
 * …) on held-out batches or whole images of any size (the mean over them), scored by any metric
 * functions (PSNR and SSIM out of the box; LPIPS with {@linkcode lpipsMetric}, a loss and its
 * terms with {@linkcode lossMetric}), for the console, `results.json` and `report.html`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { withWinograd } from "../backend/mod.ts";
import { type Lpips, lpipsTarget } from "../lpips/mod.ts";
import type { LossFn } from "../loss/mod.ts";
import type { TargetOnceFn } from "./target_once.ts";
import { type MetricOptions, psnr, psnrAgainst, ssim, ssimAgainst } from "../metrics/mod.ts";
import type { ReportTable } from "../train/mod.ts";
import { formatTable } from "./table.ts";
import { type Method, predictWith } from "./_predict_with.ts";
export type { Method } from "./_predict_with.ts";

/** What a metric gives for one prediction: a number, or several columns by name. */
export type MetricValue = number | Readonly<Record<string, number>>;

/**
 * A metric's scorer for one target (see {@linkcode MetricFn}'s `forTarget`): the target's side
 * is computed once, then each prediction scored against it; `dispose` frees what it kept.
 */
export interface TargetScorer {
  /** The metric of `prediction` against the scorer's target (the same value as the metric's). */
  score(prediction: tf.Tensor4D): Promise<MetricValue>;
  /** Free what the scorer keeps of the target (called once its image is scored). */
  dispose?(): void;
}

/**
 * A metric: prediction and target (NHWC, [0, 1]) to one number, or to several columns at once
 * (a loss and its terms: `{ loss: …, pixel: … }`, one column per key); neither tensor is
 * disposed. NaN means "not scored" (written `n/a`). With `forTarget`, a table that scores
 * several methods against one truth computes the truth's side once (PSNR and SSIM read and
 * filter it once, LPIPS and a feature distance run their network on it once); its scores must
 * equal the plain call's.
 */
export type MetricFn =
  & ((prediction: tf.Tensor4D, target: tf.Tensor4D) => Promise<MetricValue>)
  & { readonly forTarget?: (target: tf.Tensor4D) => Promise<TargetScorer> };

/** One whole image of a {@linkcode MetricSet} of images (HWC or [1, H, W, C]). */
export interface MetricImage {
  /** Its name (for `onImage`). */
  readonly name: string;
  /** The input. */
  readonly input: tf.Tensor3D | tf.Tensor4D;
  /** The target. */
  readonly target: tf.Tensor3D | tf.Tensor4D;
}

/**
 * A held-out set: a batch scored at once (`input`, `target`), or `images` of any sizes, each
 * scored alone, the set's score the mean over them. `methods` replaces the table's for this set.
 */
export type MetricSet =
  & { readonly name: string; readonly methods?: Readonly<Record<string, Method>> }
  & (
    | { readonly input: tf.Tensor4D; readonly target: tf.Tensor4D }
    | { readonly images: readonly MetricImage[] }
  );

/** What {@linkcode MetricTableOptions.onImage} is given: every method's prediction of one image. */
export interface ImageScored {
  /** The set's name. */
  readonly set: string;
  /** The image's name (the set's for a batch). */
  readonly image: string;
  /** The predictions by method, as scored (the table disposes them afterwards). */
  readonly predictions: Readonly<Record<string, tf.Tensor4D>>;
  /** The target, [1, H, W, C] for an image. */
  readonly target: tf.Tensor4D;
}

/** Options of {@linkcode metricTable}. */
export interface MetricTableOptions {
  /** The held-out sets (their tensors are not disposed). */
  readonly sets: readonly MetricSet[];
  /** The methods, by their name in the table, e.g. `{ bicubic: …, model }`. */
  readonly methods: Readonly<Record<string, Method>>;
  /** The columns; default {@linkcode defaultMetrics} (PSNR and SSIM on RGB). */
  readonly metrics?: Readonly<Record<string, MetricFn>>;
  /** How a column's numbers are written in `text`, by column; default 4 significant digits. */
  readonly formats?: Readonly<Record<string, (n: number) => string>>;
  /** Shorter headers for `text`, by column (`rows` and the report keep the columns' names). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Called once per image (once per batch) with every method's prediction, e.g. for panels. */
  readonly onImage?: (e: ImageScored) => Promise<void>;
}

/** The table: `report.finish({ table })` shows it, `text` is the console's. */
export interface MetricTable extends ReportTable {
  /** The table as aligned text. */
  readonly text: string;
  /** Each row's numbers by column (NaN where not scored; `rows` says `n/a` there). */
  readonly values: readonly Readonly<Record<string, number>>[];
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
  const against = (f: typeof psnrAgainst) => async (t: tf.Tensor4D) => ({
    score: await f(t, options),
  });
  return {
    "PSNR (dB)": Object.assign((p: tf.Tensor4D, t: tf.Tensor4D) => psnr(p, t, options), {
      forTarget: against(psnrAgainst),
    }),
    "SSIM": Object.assign((p: tf.Tensor4D, t: tf.Tensor4D) => ssim(p, t, options), {
      forTarget: against(ssimAgainst),
    }),
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
export function lpipsMetric(metric: Lpips): LpipsMetricFn {
  const small = (x: tf.Tensor4D) => {
    const min = metric.network.minInputSize();
    return x.shape[1] < min || x.shape[2] < min;
  };
  const mean = (d: number[]) => d.reduce((a, b) => a + b, 0) / d.length;
  // `scores` computes before its first await (reading the result back): that part runs inside
  // withWinograd.
  const forTarget = (t: tf.Tensor4D): Promise<TargetScorer> => {
    if (small(t)) return Promise.resolve({ score: () => Promise.resolve(NaN) });
    const kept = withWinograd(() => lpipsTarget(metric, t));
    return Promise.resolve({
      score: async (p: tf.Tensor4D) => mean(await withWinograd(() => kept.scores(p))),
      dispose: () => kept.dispose(),
    });
  };
  return Object.assign(
    async (p: tf.Tensor4D, t: tf.Tensor4D) =>
      small(p) ? NaN : mean(await withWinograd(() => metric.scores(p, t))),
    { forTarget },
  );
}

/** {@linkcode lpipsMetric}'s column: a number per call, the target's side once per image in a table. */
export type LpipsMetricFn =
  & ((prediction: tf.Tensor4D, target: tf.Tensor4D) => Promise<number>)
  & { readonly forTarget: (target: tf.Tensor4D) => Promise<TargetScorer> };

/**
 * A loss as a metric: its total (one column, named by the metric's key), or with `total` given
 * its total under that name and each of its terms as columns, in one read-back.
 * A grey (1-channel) image is replicated to RGB for the loss network; a loss that keeps its
 * target's side (`targetOnce`) computes it once per target.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { lossMetric } from "@perceptual/loss/experiment";
 * import { evaluate, pixel } from "@perceptual/loss/loss";
 * import type { LossNetwork } from "@perceptual/loss/network";
 * import assert from "node:assert/strict";
 *
 * await initBackend("cpu");
 * const fn = evaluate(pixel({ weight: 2 }), {} as LossNetwork<never>);
 * const x = tf.fill([1, 4, 4, 3], 0.5) as tf.Tensor4D;
 * const y = tf.fill([1, 4, 4, 3], 0.75) as tf.Tensor4D;
 * // Terms as the loss weighs them: 2 × |0.5 - 0.75|.
 * assert.deepEqual(await lossMetric(fn, "loss")(x, y), { loss: 0.5, pixel: 0.5 });
 * assert.equal(await lossMetric(fn)(x, y), 0.5);
 * tf.dispose([x, y]);
 * ```
 */
export function lossMetric(lossFn: LossFn, total?: string): MetricFn {
  const rgb = (x: tf.Tensor4D) => x.shape[3] === 1 ? tf.tile(x, [1, 1, 1, 3]) : x;
  const score = async (p: tf.Tensor4D, t3: tf.Tensor4D): Promise<MetricValue> => {
    let names: string[] = [];
    const stacked = withWinograd(() =>
      tf.tidy(() => {
        const r = lossFn(rgb(p), t3);
        names = [total ?? "total", ...Object.keys(r.terms)];
        return tf.stack([r.total, ...(total === undefined ? [] : Object.values(r.terms))]);
      })
    );
    const values = await stacked.data();
    stacked.dispose();
    if (total === undefined) return values[0]!;
    return Object.fromEntries(names.map((n, i) => [n, values[i]!]));
  };
  // The target made RGB once, and its side computed once (`prepare`, outside any tidy, which
  // would dispose what it keeps) when the loss keeps it (`targetOnce`).
  const forTarget = (t: tf.Tensor4D): Promise<TargetScorer> => {
    const t3 = rgb(t);
    withWinograd(() => (lossFn as Partial<TargetOnceFn>).prepare?.(t3));
    return Promise.resolve({
      score: (p: tf.Tensor4D) => score(p, t3),
      dispose: () => t3 !== t && t3.dispose(),
    });
  };
  const fn = async (p: tf.Tensor4D, t: tf.Tensor4D): Promise<MetricValue> => {
    const scorer = await forTarget(t);
    try {
      return await scorer.score(p);
    } finally {
      scorer.dispose?.();
    }
  };
  return Object.assign(fn, { forTarget });
}

/**
 * Score every method on every set with every metric: one row per (set, method), a set of
 * images scored as the mean over its images. Predictions are disposed; no tensor is left
 * behind.
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
  const values: Record<string, number>[] = [];
  const rows: (string | number)[][] = [];
  for (const set of options.sets) {
    const methods = Object.entries(set.methods ?? options.methods);
    const images = "images" in set ? set.images : [set];
    const sums = methods.map(() => ({} as Record<string, number>));
    for (const image of images) {
      const { predictions, scores, target } = await scoreImage(image, methods, metrics);
      scores.forEach((v, m) => {
        for (const [k, x] of Object.entries(v)) sums[m]![k] = (sums[m]![k] ?? 0) + x;
      });
      try {
        await options.onImage?.({
          set: set.name,
          image: image.name,
          predictions: Object.fromEntries(methods.map(([n], i) => [n, predictions[i]!])),
          target,
        });
      } finally {
        tf.dispose([target, ...predictions]);
      }
    }
    methods.forEach(([name], m) => {
      const mean = Object.fromEntries(
        Object.entries(sums[m]!).map(([k, v]) => [k, v / images.length]),
      );
      values.push(mean);
      rows.push([set.name, name, ...Object.values(mean).map((v) => Number.isNaN(v) ? "n/a" : v)]);
    });
  }
  const columns = ["set", "method", ...Object.keys(values[0] ?? {})];
  const fourDigits = (n: number) => n.toPrecision(4);
  const text = formatTable(
    columns.map((c) => ({
      name: options.headers?.[c] ?? c,
      format: options.formats?.[c] ?? fourDigits,
    })),
    rows,
  );
  return { columns, rows, text, values };
}

/**
 * Every method's prediction of one image (or batch) and its scores by column; the caller
 * disposes the predictions and the (4D) target.
 */
async function scoreImage(
  image: { readonly input: tf.Tensor; readonly target: tf.Tensor },
  methods: readonly (readonly [string, Method])[],
  metrics: readonly (readonly [string, MetricFn])[],
): Promise<{ predictions: tf.Tensor4D[]; scores: Record<string, number>[]; target: tf.Tensor4D }> {
  const batch = (t: tf.Tensor) => (t.rank === 3 ? tf.expandDims(t, 0) : tf.clone(t)) as tf.Tensor4D;
  const input = batch(image.input);
  const target = batch(image.target);
  const predictions: tf.Tensor4D[] = [];
  // Each metric's scorer for this target (its side computed once for every method), made on
  // first use and disposed with the image.
  const scorers = new Map<number, TargetScorer>();
  const scoreOf = async (j: number, prediction: tf.Tensor4D): Promise<MetricValue> => {
    const fn = metrics[j]![1];
    if (fn.forTarget === undefined) return fn(prediction, target);
    let scorer = scorers.get(j);
    if (scorer === undefined) scorers.set(j, scorer = await fn.forTarget(target));
    return scorer.score(prediction);
  };
  try {
    for (const [, method] of methods) predictions.push(predictWith(method, input));
    const scores: Record<string, number>[] = [];
    for (const prediction of predictions) {
      const row: Record<string, number> = {};
      for (let j = 0; j < metrics.length; j++) {
        const v = await scoreOf(j, prediction);
        Object.assign(row, typeof v === "number" ? { [metrics[j]![0]]: v } : v);
      }
      scores.push(row);
    }
    return { predictions, scores, target };
  } catch (e) {
    tf.dispose([target, ...predictions]);
    throw e;
  } finally {
    input.dispose();
    for (const s of scorers.values()) s.dispose?.();
  }
}

/**
 * A loss's terms as a result table: how a model's outputs (and baselines) score on every term of
 * the training loss against held-out targets, e.g. a style network's stylised crops against the
 * photos as they are.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { LossFn } from "../loss/mod.ts";
import type { Method } from "./metric_table.ts";
import { formatTable } from "./table.ts";
import { predictWith } from "./_predict_with.ts";

/** One row of {@linkcode lossTable}: one method's outputs, scored by every term. */
export interface LossRow {
  /** The method's name. */
  readonly images: string;
  /** The total (`total`) and every term by its name, e.g. `style:block1_conv1`. */
  readonly terms: Readonly<Record<string, number>>;
  /** The terms summed by kind (the name before `:`), e.g. `{ feature: …, style: …, tv: … }`. */
  readonly kinds: Readonly<Record<string, number>>;
  /** The standard deviation of the outputs' values (0: every output one flat colour). */
  readonly pixelStd: number;
}

/**
 * Every method's outputs on `input` (clipped to [0, 1]) scored by `lossFn` against `target`, in
 * one read-back per method; a tensor instead of a method is scored as it is (e.g. `target`
 * itself, whose feature terms are then exactly 0). No tensor is left behind (none given is
 * disposed).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { lossTable } from "@perceptual/loss/experiment";
 * await initBackend("cpu");
 * const x = tf.fill([1, 4, 4, 3], 0.5) as tf.Tensor4D;
 * const lossFn = (p: tf.Tensor4D, t: tf.Tensor4D) => {
 *   const d = tf.mean(tf.abs(tf.sub(p, t))) as tf.Scalar;
 *   return { total: tf.mul(d, 3) as tf.Scalar, terms: { "pixel": d, "style:a": tf.mul(d, 2) as tf.Scalar } };
 * };
 * const rows = await lossTable(lossFn, x, x, { same: x, zero: (v) => tf.zerosLike(v) });
 * assert.deepEqual(rows[0]!.terms, { total: 0, pixel: 0, "style:a": 0 });
 * assert.deepEqual(rows[1]!.kinds, { pixel: 0.5, style: 1 });
 * assert.equal(rows[1]!.pixelStd, 0);
 * x.dispose();
 * ```
 */
export async function lossTable(
  lossFn: LossFn,
  input: tf.Tensor4D,
  target: tf.Tensor4D,
  methods: Readonly<Record<string, Method | tf.Tensor4D>>,
): Promise<LossRow[]> {
  const rows: LossRow[] = [];
  for (const [images, method] of Object.entries(methods)) {
    let names: string[] = [];
    const values = tf.tidy(() => {
      const out = method instanceof tf.Tensor ? method : predictWith(method, input);
      const r = lossFn(out, target);
      names = ["total", ...Object.keys(r.terms)];
      return tf.stack([...[r.total, ...Object.values(r.terms)], tf.sqrt(tf.moments(out).variance)]);
    });
    const v = await values.data();
    values.dispose();
    const terms = Object.fromEntries(names.map((n, i) => [n, v[i]!]));
    const kinds: Record<string, number> = {};
    for (const n of names.slice(1)) {
      const kind = n.split(":")[0]!;
      kinds[kind] = (kinds[kind] ?? 0) + terms[n]!;
    }
    rows.push({ images, terms, kinds, pixelStd: v[names.length]! });
  }
  return rows;
}

/**
 * {@linkcode lossTable}'s rows as aligned text: `images`, one column per entry of `sums` (a
 * heading and the kind it sums, e.g. `{ "style loss": "style" }`), the total and every term.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lossTableText } from "@perceptual/loss/experiment";
 * const row = { images: "a", terms: { total: 3, "style:x": 2, tv: 1 }, kinds: { style: 2, tv: 1 }, pixelStd: 0 };
 * const text = lossTableText([row], { "style loss": "style" });
 * assert.match(text, /^images\s+style loss\s+total\s+style:x\s+tv$/m);
 * assert.match(text, /^a\s+2\.000\s+3\.000\s+2\.000\s+1\.000$/m);
 * ```
 */
export function lossTableText(
  rows: readonly LossRow[],
  sums: Readonly<Record<string, string>> = {},
): string {
  const terms = Object.keys(rows[0]?.terms ?? {});
  const columns = ["images", ...Object.keys(sums), ...terms].map((name) => ({ name }));
  const cells = rows.map((r) => [
    r.images,
    ...Object.values(sums).map((kind) => r.kinds[kind] ?? 0),
    ...terms.map((t) => r.terms[t]),
  ]);
  return formatTable(columns, cells);
}

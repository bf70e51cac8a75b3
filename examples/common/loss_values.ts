/**
 * A loss's total and terms on one batch, read back as plain numbers for the examples' tables.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { LossFn } from "../../src/loss/mod.ts";
import { scope } from "../../src/lifetime/mod.ts";

/**
 * `lossFn(x, target)`'s total (under `totalName`) and each term by name, in one read-back; no
 * tensor is left behind.
 */
export async function lossValues(
  lossFn: LossFn,
  x: tf.Tensor4D,
  target: tf.Tensor4D,
  totalName: string,
): Promise<Record<string, number>> {
  let names: string[] = [];
  const stacked = scope(() => {
    const r = lossFn(x, target);
    names = [totalName, ...Object.keys(r.terms)];
    return tf.stack([r.total, ...Object.values(r.terms)]);
  });
  const values = await stacked.data();
  stacked.dispose();
  return Object.fromEntries(names.map((n, i) => [n, values[i]!]));
}

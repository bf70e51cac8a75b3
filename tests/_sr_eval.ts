/**
 * The superres table (`srTable`) of one set at a time, as the tests call it: held-out crops
 * (`scoreCrops`) or a folder of whole images (`scoreFolder`), rows as results.json has them.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import type * as tfl from "@tensorflow/tfjs-layers";
import type { LossFn } from "../src/loss/mod.ts";
import type { Lpips } from "../src/lpips/mod.ts";
import { type EvalPair, type SrResultRow, srResultRows, srTable } from "../src/experiment/mod.ts";
export type { EvalPair } from "../src/experiment/mod.ts";

/** Bicubic and the model on one batch of held-out crops (LPIPS too when `metric` is given). */
export async function scoreCrops(
  model: tfl.LayersModel,
  featureDistance: LossFn,
  lowRes: tf.Tensor4D,
  highRes: tf.Tensor4D,
  scale: number,
  metric?: Lpips,
): Promise<SrResultRow[]> {
  const set = { name: "held-out crops", lowRes, highRes };
  return srResultRows(await srTable([set], model, featureDistance, scale, metric));
}

/** Bicubic and the model over whole images (mean over images); panels in `panels.dir`. */
export async function scoreFolder(
  set: string,
  pairs: readonly EvalPair[],
  model: tfl.LayersModel,
  featureDistance: LossFn,
  scale: number,
  panels?: { readonly dir: string; readonly prefix: string },
  metric?: Lpips,
): Promise<SrResultRow[]> {
  const where = panels === undefined ? undefined : `${panels.dir}/${panels.prefix}`;
  const s = { name: set, pairs, ...(where === undefined ? {} : { panels: where }) };
  return srResultRows(await srTable([s], model, featureDistance, scale, metric));
}

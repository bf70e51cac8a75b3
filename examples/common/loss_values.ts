/** The style example's loss columns: `lossMetric` with the total under `totalName`. @module */
import type * as tf from "@tensorflow/tfjs-core";
import type { LossFn } from "../../src/loss/mod.ts";
import { lossMetric } from "../../src/experiment/mod.ts";

/** `lossFn(x, target)`'s total (under `totalName`) and each term by name. */
export async function lossValues(
  lossFn: LossFn,
  x: tf.Tensor4D,
  target: tf.Tensor4D,
  totalName: string,
): Promise<Record<string, number>> {
  return await lossMetric(lossFn, totalName)(x, target) as Record<string, number>;
}

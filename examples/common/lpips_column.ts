/**
 * The LPIPS (AlexNet, v0.1) column of the examples' tables: the mean per-image distance of a
 * batch, lower is better; NaN ("n/a") where no metric is given or an image is under the
 * network's minimum size.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import type { Lpips } from "../../src/lpips/mod.ts";

/** The column's heading. */
export const LPIPS_COLUMN = "LPIPS alex (lower is better)";

/** Mean LPIPS of the batch, or NaN (not scored) without a metric or below its minimum size. */
export async function lpipsMean(
  metric: Lpips | undefined,
  x: tf.Tensor4D,
  target: tf.Tensor4D,
): Promise<number> {
  if (metric === undefined) return NaN;
  const min = metric.network.minInputSize();
  if (x.shape[1] < min || x.shape[2] < min) return NaN;
  const d = await metric.scores(x, target);
  return d.reduce((a, b) => a + b, 0) / d.length;
}

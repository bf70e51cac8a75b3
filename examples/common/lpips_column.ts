/** The style example's LPIPS column: `lpipsMetric`, NaN without a metric. @module */
import type * as tf from "@tensorflow/tfjs-core";
import type { Lpips } from "../../src/lpips/mod.ts";
import { lpipsMetric } from "../../src/experiment/mod.ts";

/** Mean LPIPS of the batch, or NaN (not scored) without a metric or below its minimum size. */
export async function lpipsMean(
  metric: Lpips | undefined,
  x: tf.Tensor4D,
  target: tf.Tensor4D,
): Promise<number> {
  return metric === undefined ? NaN : await lpipsMetric(metric)(x, target) as number;
}

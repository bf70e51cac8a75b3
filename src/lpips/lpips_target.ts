/**
 * LPIPS against a fixed target: the target's side (trunk features, unit-normalised and weighed by
 * the lin layers) computed once and kept, for tables that score several methods against one
 * truth.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { DisposedError } from "../lifetime/mod.ts";
import { checkInput } from "../network/preprocess.ts";
import { lpipsFromWeighted, weightedUnit } from "./_lpips_math.ts";
import { LpipsShapeMismatchError } from "./errors.ts";
import type { Lpips } from "./lpips.ts";

/** What {@linkcode lpipsTarget} returns: scores against one kept target. Dispose it. */
export interface LpipsTarget extends Disposable {
  /**
   * Per-image LPIPS of `x` against the target, read back as numbers: the same values as
   * `metric.scores(x, target)`. No tensor is left behind; `x` is not disposed.
   *
   * @throws {LpipsShapeMismatchError} when `x`'s shape is not the target's.
   * @throws {NetworkInputError} for a wrong rank, channel count or dtype.
   */
  scores(x: tf.Tensor4D): Promise<number[]>;
  /** Free the kept target features. */
  dispose(): void;
}

const CHECKS = { checkRange: false, rangeTolerance: 0.5, minSize: 1 } as const;

/**
 * Keep `target`'s side of `metric` (one trunk pass, weighed features of every tap) so that each
 * later `scores(x)` runs the trunk on `x` only: half of LPIPS's work per call, with results
 * identical to `metric.scores(x, target)` (the same operations on the same tensors). `target`
 * may be disposed afterwards; `metric` must outlive this.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { lpips, lpipsTarget } from "@perceptual/loss/lpips";
 * await initBackend("cpu");
 * using metric = await lpips({ net: "alex" });
 * const truth = tf.randomUniform([1, 40, 40, 3], 0, 1, "float32", 1) as tf.Tensor4D;
 * const x = tf.randomUniform([1, 40, 40, 3], 0, 1, "float32", 2) as tf.Tensor4D;
 * using kept = lpipsTarget(metric, truth);
 * assert.deepEqual(await kept.scores(x), await metric.scores(x, truth));
 * assert.deepEqual(await kept.scores(truth), [0]);
 * tf.dispose([truth, x]);
 * ```
 */
export function lpipsTarget(metric: Lpips, target: tf.Tensor4D): LpipsTarget {
  const network = metric.network;
  checkInput(network.name, target, "[0,1]", CHECKS);
  const shape = [...target.shape];
  const lins = network.allLinWeights();
  // The order lpipsFromFeatures sums the taps in.
  const taps = Object.keys(lins).sort() as (keyof typeof lins)[];
  const weigh = (x: tf.Tensor4D) =>
    tf.tidy(() => {
      const f = network.extract(x, taps);
      return Object.fromEntries(taps.map((t) => [t, weightedUnit(f[t]!, lins[t]!)]));
    });
  let kept: Record<string, tf.Tensor4D> | undefined = weigh(target);
  const dispose = () => {
    if (kept !== undefined) tf.dispose(Object.values(kept));
    kept = undefined;
  };
  return {
    async scores(x: tf.Tensor4D): Promise<number[]> {
      if (kept === undefined) throw new DisposedError(`lpipsTarget(${network.net})`);
      checkInput(network.name, x, "[0,1]", CHECKS);
      if (x.shape.join(",") !== shape.join(",")) throw new LpipsShapeMismatchError(x.shape, shape);
      const fixed = kept;
      const d = tf.tidy(() => lpipsFromWeighted(weigh(x), fixed, taps));
      try {
        return Array.from(await d.data());
      } finally {
        d.dispose();
      }
    },
    dispose,
    [Symbol.dispose]: dispose,
  };
}

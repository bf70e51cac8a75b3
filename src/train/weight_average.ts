/**
 * An exponential moving average of weights (Polyak averaging, "EMA" in SR and diffusion
 * training): a pure function of the weights' history that smooths out the last steps' noise, so
 * the averaged model depends far less on float rounding than the last weights do.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { DisposedError, type Owner } from "../lifetime/mod.ts";

/**
 * Options of {@linkcode weightAverage}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { trainer, type WeightAverageOptions } from "@perceptual/loss/train";
 * const average: WeightAverageOptions = { decay: 0.99 }; // about the last 100 steps
 * assert.equal(typeof trainer, "function"); // pass it as trainer({ …, average })
 * assert.equal(average.decay, 0.99);
 * ```
 */
export interface WeightAverageOptions {
  /**
   * The decay `d`, in (0, 1): after `t` updates the average weighs the weights of update `i`
   * by `d^(t−i)`, normalised (`(1 − d) / (1 − d^t)`, as Adam corrects its moments), so the
   * first update's weights are the average and the starting weights never count. About the last
   * `1 / (1 − d)` updates matter: 0.99 ≈ 100 steps.
   */
  readonly decay: number;
}

/**
 * A running average of a fixed list of weights: see {@linkcode weightAverage}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { type WeightAverage, weightAverage } from "@perceptual/loss/train";
 * await initBackend("cpu");
 * using avg: WeightAverage = weightAverage({ decay: 0.5 });
 * const w = tf.tensor1d([4]);
 * avg.update([w]);
 * assert.deepEqual([avg.count, Array.from(avg.values[0]!.dataSync())], [1, [4]]);
 * w.dispose();
 * ```
 */
export interface WeightAverage extends Owner {
  /** The decay it was made with. */
  readonly decay: number;
  /** Updates folded in so far (0: no average yet). */
  readonly count: number;
  /** The averaged weights, in the order `update` was given them (empty before the first). */
  readonly values: readonly tf.Tensor[];
  /** Fold in the current weights (read now; the caller keeps them). */
  update(weights: readonly tf.Tensor[]): void;
  /** Replace the state by a saved one: `values` after `count` updates (copied). */
  load(values: readonly tf.Tensor[], count: number): void;
}

/**
 * The weight of update `t`'s weights in the average (`(1 − d) / (1 − d^t)`; 1 for the first).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { averageRate } from "@perceptual/loss/train";
 * assert.equal(averageRate(0.5, 1), 1);
 * assert.equal(averageRate(0.5, 2), 0.5 / 0.75); // a₂ = (d·w₁ + w₂) / (1 + d)
 * ```
 */
export function averageRate(decay: number, t: number): number {
  return t <= 1 ? 1 : (1 - decay) / (1 - decay ** t);
}

/**
 * An exponential moving average of weights with Adam-style bias correction: after updates
 * `w₁ … w_t` it holds `Σ d^(t−i)·w_i / Σ d^(t−i)`, computed as
 * `a_t = a_{t−1} + (w_t − a_{t−1})·(1 − d)/(1 − d^t)` in float32 on the current backend. It owns
 * its tensors (`dispose()`); the trainer keeps one when given `average` (see
 * `TrainerOptions.average`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { weightAverage } from "@perceptual/loss/train";
 * await initBackend("cpu");
 * using avg = weightAverage({ decay: 0.5 });
 * const w1 = tf.tensor1d([2, 0]), w2 = tf.tensor1d([8, 3]);
 * avg.update([w1]);
 * avg.update([w2]);
 * // by hand: (d·w₁ + w₂) / (1 + d) = (0.5·[2, 0] + [8, 3]) / 1.5 = [6, 2]
 * assert.deepEqual(Array.from(avg.values[0]!.dataSync()), [6, 2]);
 * tf.dispose([w1, w2]);
 * ```
 */
export function weightAverage(options: WeightAverageOptions): WeightAverage {
  const { decay } = options;
  if (!(typeof decay === "number" && decay > 0 && decay < 1)) {
    throw new RangeError(
      `weightAverage: decay must be a number in (0, 1), got ${decay}; 0.99 averages about ` +
        "the last 100 steps",
    );
  }
  let values: tf.Tensor[] = [];
  let count = 0;
  let disposed = false;
  const live = () => {
    if (disposed) throw new DisposedError("weightAverage");
  };
  const replace = (next: tf.Tensor[]) => {
    const old = values;
    values = next;
    tf.dispose(old);
  };
  const self: WeightAverage = {
    decay,
    get count(): number {
      return count;
    },
    get values(): readonly tf.Tensor[] {
      return values;
    },
    update(weights) {
      live();
      if (count > 0) checkFits(values, weights, "update");
      const rate = averageRate(decay, count + 1);
      // tfjs tensors are immutable: a clone (sharing the buffer) is a faithful copy.
      replace(
        tf.tidy(() =>
          weights.map((w, i) =>
            count === 0 ? tf.clone(w) : tf.add(values[i]!, tf.mul(tf.sub(w, values[i]!), rate))
          )
        ),
      );
      count++;
    },
    load(saved, n) {
      live();
      if (!(Number.isInteger(n) && n >= 1)) {
        throw new RangeError(`weightAverage.load: count must be an integer >= 1, got ${n}`);
      }
      if (count > 0) checkFits(values, saved, "load");
      replace(saved.map((s) => tf.clone(s)));
      count = n;
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      replace([]);
    },
    [Symbol.dispose]() {
      self.dispose();
    },
  };
  return self;
}

function checkFits(values: readonly tf.Tensor[], given: readonly tf.Tensor[], what: string): void {
  const bad = given.length !== values.length
    ? `${given.length} weights for an average of ${values.length}`
    : given.map((g, i) => [g.shape, values[i]!.shape] as const)
      .map(([g, v], i) => `${g}` === `${v}` ? "" : `weight ${i} has shape [${g}], not [${v}]`)
      .find((s) => s !== "");
  if (bad !== undefined && bad !== "") {
    throw new RangeError(
      `weightAverage.${what}: ${bad}; give the same weights, in the same order, every time`,
    );
  }
}

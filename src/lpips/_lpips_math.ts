/**
 * The LPIPS arithmetic on features, the one implementation behind the metric ({@linkcode lpips})
 * and the loss term: unit-normalise each tap over channels and scale it by √(learned channel
 * weights) ({@linkcode weightedUnit}), squared difference summed over channels, spatial mean (or
 * a per-pixel map upsampled to the input size), sum over taps.
 * Differentiable with respect to both sides. Internal: reachable from this file only.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

/**
 * Floor under Σ_c f² before the square root: keeps the gradient finite where a whole feature
 * vector is 0 (PyTorch's lpips gives NaN there). Its root, 1e-15, is far below the 1e-10 that
 * LPIPS adds, so values are unchanged.
 */
const SUM_SQ_FLOOR = 1e-30;

/**
 * `f / (sqrt(Σ_c f²) + 1e-10)`: each feature vector scaled to unit length over the channel axis
 * (LPIPS' `normalize_tensor`). Where Σ_c f² = 0 the value is 0 and the gradient 0 (not NaN).
 * Call inside a scope.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/mod.ts";
 * import { unitNormalize } from "./_lpips_math.ts";
 * await initBackend("cpu");
 * const u = unitNormalize(tf.tensor4d([3, 4], [1, 1, 1, 2]));
 * assert.deepEqual(Array.from(u.dataSync(), (v) => v.toFixed(3)), ["0.600", "0.800"]);
 * ```
 */
export function unitNormalize(f: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const sumSq = tf.sum(tf.square(f), -1, true);
    const norm = tf.sqrt(tf.maximum(sumSq, SUM_SQ_FLOOR));
    return tf.div(f, tf.add(norm, 1e-10)) as tf.Tensor4D;
  });
}

/**
 * One tap of one side as LPIPS compares it: `unitNormalize(f) · √w`, with `w` the tap's learned
 * channel weights, so that Σ_c (a − b)² of two sides is LPIPS' Σ_c w_c (û_a − û_b)². The metric
 * and the loss term (whose representation this is, memoised or precomputed) both use it. Call
 * inside a scope.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/mod.ts";
 * import { weightedUnit } from "./_lpips_math.ts";
 * await initBackend("cpu");
 * const u = weightedUnit(tf.tensor4d([3, 4], [1, 1, 1, 2]), tf.tensor1d([4, 1]));
 * assert.deepEqual(Array.from(u.dataSync(), (v) => v.toFixed(3)), ["1.200", "0.800"]); // [0.6·2, 0.8·1]
 * ```
 */
export function weightedUnit(f: tf.Tensor4D, lin: tf.Tensor1D): tf.Tensor4D {
  return tf.tidy(() => tf.mul(unitNormalize(f), tf.sqrt(lin)) as tf.Tensor4D);
}

/**
 * The per-pixel LPIPS map of one tap from both sides' {@linkcode weightedUnit} features,
 * [N, h, w, 1]: Σ_c (a − b)² (a target of batch 1 broadcasts). Call inside a scope.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/mod.ts";
 * import { weightedTapMap } from "./_lpips_math.ts";
 * await initBackend("cpu");
 * const a = tf.tensor4d([0.6, 0.8], [1, 1, 1, 2]);
 * const b = tf.tensor4d([0.8, 0.6], [1, 1, 1, 2]);
 * assert.equal(weightedTapMap(a, b).dataSync()[0]!.toFixed(2), "0.08"); // 0.2² + 0.2²
 * ```
 */
export function weightedTapMap(pred: tf.Tensor4D, target: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => tf.sum(tf.squaredDifference(pred, target), -1, true) as tf.Tensor4D);
}

/**
 * Per-image LPIPS [N] from both sides' {@linkcode weightedUnit} features: Σ over `taps` of
 * mean_hw Σ_c (a − b)². A target of batch 1 broadcasts over the prediction's batch (a loss term's
 * precomputed target). The caller owns the result.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/mod.ts";
 * import { lpipsFromWeighted } from "./_lpips_math.ts";
 * await initBackend("cpu");
 * const a = { relu1: tf.tensor4d([1, 0, 0, 0], [1, 2, 1, 2]) };
 * const b = { relu1: tf.tensor4d([0, 1, 0, 0], [1, 2, 1, 2]) };
 * assert.equal(lpipsFromWeighted(a, b, ["relu1"]).dataSync()[0], 1); // mean of [2, 0]
 * ```
 */
export function lpipsFromWeighted(
  pred: Readonly<Record<string, tf.Tensor>>,
  target: Readonly<Record<string, tf.Tensor>>,
  taps: readonly string[],
): tf.Tensor1D {
  checkedTaps(pred, target, taps, "lpipsFromWeighted");
  return tf.tidy(() => {
    const parts = taps.map((t) =>
      tf.mean(weightedTapMap(pred[t] as tf.Tensor4D, target[t] as tf.Tensor4D), [1, 2, 3])
    );
    return parts.length === 1 ? parts[0]! : tf.addN(parts);
  }) as tf.Tensor1D;
}

/**
 * Checks that both sides have every tap of `taps`, with equal shapes (the target may have
 * batch 1), and returns `taps`.
 */
function checkedTaps(
  pred: Readonly<Record<string, tf.Tensor>>,
  target: Readonly<Record<string, tf.Tensor>>,
  taps: readonly string[],
  where: string,
): readonly string[] {
  if (taps.length === 0) throw new RangeError(`${where}: no taps`);
  for (const t of taps) {
    if (pred[t] === undefined || target[t] === undefined) {
      throw new RangeError(
        `${where}: tap "${t}" has lin weights but no ${
          pred[t] === undefined ? "prediction" : "target"
        } features; extract every tap of \`lins\` on both sides`,
      );
    }
    const [p, q] = [pred[t]!.shape, target[t]!.shape];
    if (p.slice(1).join(",") !== q.slice(1).join(",") || (q[0] !== p[0] && q[0] !== 1)) {
      throw new RangeError(
        `${where}: tap "${t}" has prediction features [${p}] but target ` +
          `features [${q}]; compare images of the same size`,
      );
    }
  }
  return taps;
}

/**
 * The [outSize, inSize] matrix of PyTorch's 1-D bilinear resize with `align_corners=False`
 * (source x = (i + 0.5)·in/out − 0.5, clamped at 0; neighbours clamped at the last cell).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bilinearMatrix } from "./_lpips_math.ts";
 * assert.deepEqual(Array.from(bilinearMatrix(2, 4)), [1, 0, 0.75, 0.25, 0.25, 0.75, 0, 1]);
 * ```
 */
export function bilinearMatrix(inSize: number, outSize: number): Float32Array {
  const m = new Float32Array(outSize * inSize);
  const scale = inSize / outSize;
  for (let i = 0; i < outSize; i++) {
    const src = Math.max(0, (i + 0.5) * scale - 0.5);
    const i0 = Math.min(Math.floor(src), inSize - 1);
    const i1 = Math.min(i0 + 1, inSize - 1);
    const t = src - i0;
    m[i * inSize + i0]! += 1 - t;
    m[i * inSize + i1]! += t;
  }
  return m;
}

/**
 * `map` [N, h, w, 1] resized to [N, H, W, 1] bilinearly as PyTorch's
 * `Upsample(mode="bilinear", align_corners=False)` (lpips' `spatial=True`), written as two matrix
 * products so its gradient is exact on every backend. Call inside a scope.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/mod.ts";
 * import { upsampleMap } from "./_lpips_math.ts";
 * await initBackend("cpu");
 * const up = upsampleMap(tf.tensor4d([0, 1], [1, 1, 2, 1]), [1, 4]);
 * assert.deepEqual(Array.from(up.dataSync()), [0, 0.25, 0.75, 1]);
 * ```
 */
export function upsampleMap(map: tf.Tensor4D, size: readonly [number, number]): tf.Tensor4D {
  const [n, h, w] = map.shape;
  const [H, W] = size;
  if (h === H && w === W) return tf.clone(map);
  return tf.tidy(() => {
    const ah = tf.tensor2d(bilinearMatrix(h, H), [H, h]);
    const aw = tf.tensor2d(bilinearMatrix(w, W), [W, w]);
    // [n·h, w] · awᵀ → [n, h, W] → [n, W, h] · ahᵀ → [n, W, H] → [n, H, W]
    const rows = tf.reshape(tf.matMul(tf.reshape(map, [n * h, w]), aw, false, true), [n, h, W]);
    const cols = tf.matMul(tf.reshape(tf.transpose(rows, [0, 2, 1]), [n * W, h]), ah, false, true);
    return tf.reshape(tf.transpose(tf.reshape(cols, [n, W, H]), [0, 2, 1]), [n, H, W, 1]);
  });
}

/**
 * LPIPS from features already extracted: for every tap in `lins`, the tap map of `pred[tap]` vs
 * `target[tap]` averaged over space (a [N] vector per image), summed over taps. With
 * `spatial: true` the maps are instead upsampled to `size` (the input's [height, width]) and
 * summed: a [N, H, W, 1] map whose spatial mean is close to (not exactly) the distance, as in
 * lpips. The caller owns the result; the inputs are not disposed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/mod.ts";
 * import { lpipsFromFeatures } from "./_lpips_math.ts";
 * await initBackend("cpu");
 * const a = { relu1: tf.tensor4d([1, 0, 1, 0], [2, 1, 1, 2]) };
 * const b = { relu1: tf.tensor4d([0, 1, 1, 0], [2, 1, 1, 2]) };
 * const d = lpipsFromFeatures(a, b, { relu1: tf.tensor1d([1, 1]) });
 * assert.deepEqual(Array.from(d.dataSync(), (v) => v.toFixed(3)), ["2.000", "0.000"]);
 * ```
 */
export function lpipsFromFeatures(
  pred: Readonly<Record<string, tf.Tensor4D>>,
  target: Readonly<Record<string, tf.Tensor4D>>,
  lins: Readonly<Record<string, tf.Tensor1D>>,
  spatial?: false,
): tf.Tensor1D;
/** The per-pixel map, upsampled to `size` = [height, width] and summed over taps. */
export function lpipsFromFeatures(
  pred: Readonly<Record<string, tf.Tensor4D>>,
  target: Readonly<Record<string, tf.Tensor4D>>,
  lins: Readonly<Record<string, tf.Tensor1D>>,
  spatial: true,
  size: readonly [number, number],
): tf.Tensor4D;
export function lpipsFromFeatures(
  pred: Readonly<Record<string, tf.Tensor4D>>,
  target: Readonly<Record<string, tf.Tensor4D>>,
  lins: Readonly<Record<string, tf.Tensor1D>>,
  spatial = false,
  size?: readonly [number, number],
): tf.Tensor1D | tf.Tensor4D {
  const taps = checkedTaps(pred, target, Object.keys(lins).sort(), "lpipsFromFeatures");
  if (spatial && size === undefined) {
    throw new RangeError(
      "lpipsFromFeatures: spatial maps need `size`, the input's [height, width]",
    );
  }
  return tf.tidy(() => {
    const weigh = (side: Readonly<Record<string, tf.Tensor4D>>) =>
      Object.fromEntries(taps.map((t) => [t, weightedUnit(side[t]!, lins[t]!)]));
    const [p, q] = [weigh(pred), weigh(target)];
    if (!spatial) return lpipsFromWeighted(p, q, taps);
    const parts = taps.map((t) => upsampleMap(weightedTapMap(p[t]!, q[t]!), size!));
    return parts.length === 1 ? parts[0]! : tf.addN(parts);
  }) as tf.Tensor1D | tf.Tensor4D;
}

/**
 * Turning a `Loss` and a `LossNetwork` into a training loss: one network pass for the
 * prediction, one tape-free pass for the target side of the terms not precomputed.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { scope } from "../lifetime/mod.ts";
import type { LossNetwork } from "../network/loss_network.ts";
import {
  checkImage,
  extractAll,
  planOf,
  shapesOf,
  shapeText,
  sidesOf,
  tapsByNetwork,
  type TermPlan,
} from "./_sides.ts";
import { LossInputError, NonFiniteLossError, PredictionRangeError } from "./errors.ts";
import type { AnyLayer, Loss } from "./loss.ts";
import type { LossFn, LossResult, NetworkUse } from "./loss_result.ts";
import { InputRangeError } from "../network/errors.ts";
import { rangeBounds, rangeText } from "../network/preprocess.ts";
import { withoutTape } from "./_no_tape.ts";
import { checkOptionKeys } from "../errors/unknown_option_error.ts";
import type { PrecomputedTarget } from "./precompute.ts";
import type { Representation } from "./kind.ts";

/**
 * Options of {@linkcode evaluate}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { type Vgg16LayerName, vgg16 } from "@perceptual/loss/vgg";
 * import {
 *   evaluate,
 *   type EvaluateOptions,
 *   concatLoss,
 *   feature,
 *   style,
 *   precomputeTarget,
 * } from "@perceptual/loss/loss";
 * await initBackend("cpu");
 * using net = await vgg16({ weights: { random: 0 }, upTo: "relu2_2" });
 * const [painting, photo, pred] = [1, 2, 3].map((seed) =>
 *   tf.randomUniform([1, 16, 16, 3], 0, 1, "float32", seed) as tf.Tensor4D);
 * const loss = concatLoss(feature("relu2_2"), style("relu1_2"));
 * using fixed = precomputeTarget(loss, net, painting, { kinds: ["style"] });
 * const options = { target: fixed } satisfies EvaluateOptions<Vgg16LayerName>;
 * const result = evaluate(loss, net, options)(pred, photo); // the photo: for the feature term only
 * assert.deepEqual(Object.keys(result.terms), ["feature:relu2_2", "style:relu1_2"]);
 * tf.dispose([painting, photo, pred, result.total, result.terms]);
 * ```
 */
export interface EvaluateOptions<L extends string = string> {
  /**
   * Other networks the terms read, found by their `key` (an LPIPS network, a second VGG): each
   * runs once per side, to its deepest tap. Terms without a `network` read the main one.
   */
  readonly networks?: readonly LossNetwork<AnyLayer>[];
  /**
   * A target side computed once by `precomputeTarget` (Johnson et al.'s style image): the terms
   * it covers compare with it (broadcast over the predictions' batch); the others still need the
   * per-call `target`.
   */
  readonly target?: PrecomputedTarget<L>;
}

/** A loss whose target is (partly) precomputed: the `target` argument is only needed when some
 * term was not precomputed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { vgg16 } from "@perceptual/loss/vgg";
 * import { evaluate, type TargetLossFn, style, precomputeTarget } from "@perceptual/loss/loss";
 * await initBackend("cpu");
 * using net = await vgg16({ weights: { random: 0 }, upTo: "relu1_2" });
 * const painting = tf.randomUniform([1, 16, 16, 3], 0, 1, "float32", 1) as tf.Tensor4D;
 * using fixed = precomputeTarget(style("relu1_2"), net, painting);
 * const lossFn: TargetLossFn = evaluate(style("relu1_2"), net, { target: fixed });
 * const result = lossFn(painting); // no target argument: every term is precomputed
 * assert.equal(result.total.dataSync()[0], 0); // the painting has its own style
 * tf.dispose([painting, result.total, result.terms]);
 * ```
 */
export interface TargetLossFn {
  /** The loss of `pred` (against `target` for the terms not precomputed). */
  (pred: tf.Tensor4D, target?: tf.Tensor4D): LossResult;
  /** What the loss feeds the prediction into (see `LossFn.network`). */
  readonly network?: NetworkUse;
}

/** Throws unless a precomputed representation can stand for a batch shaped like `actual`. */
function checkFixed(name: string, what: string, fixed: Representation, actual: Representation) {
  const want = new Map(shapesOf(actual));
  for (const [part, shape] of shapesOf(fixed)) {
    const real = want.get(part);
    const label = part === "" ? what : `${what} (${part})`;
    if (real === undefined) {
      throw new LossInputError(`the precomputed ${label} of "${name}" has no prediction part`);
    }
    if (shape[0] !== 1 && shape[0] !== real[0]) {
      throw new LossInputError(
        `the precomputed ${label} of "${name}" has batch ${shape[0]}, which cannot broadcast ` +
          `over the prediction's batch ${real[0]}; precompute it from one image (batch 1) or ` +
          `from ${real[0]} images`,
      );
    }
    if (shape.slice(1).some((d, i) => d !== real[i + 1])) {
      throw new LossInputError(
        `the precomputed ${label} of "${name}" is ${shapeText(shape)} but the prediction's is ` +
          `${shapeText(real)}; precompute it from an image of the predictions' size`,
      );
    }
  }
}

function sameLoss(a: Loss<string>, b: Loss<string>): boolean {
  return a === b || JSON.stringify(a.terms) === JSON.stringify(b.terms);
}

function checkPrecomputed(
  loss: Loss<string>,
  plans: readonly TermPlan[],
  fixed: PrecomputedTarget<string>,
) {
  if (!sameLoss(loss, fixed.loss)) {
    throw new LossInputError(
      "the precomputed target was made for a different loss; call precomputeTarget with the " +
        "same loss you evaluate",
    );
  }
  for (const i of fixed.terms) {
    const net = plans[i]!.net?.name;
    const made = fixed.networkOf(i);
    if (net !== made) {
      throw new LossInputError(
        `the precomputed target was made with ${made}, not ${net}; precompute it with the ` +
          "network you evaluate with",
      );
    }
  }
}

/** What the prediction feeds: every network's range, intersected, and the terms that read one. */
function networkUseOf(plans: readonly TermPlan[]): NetworkUse | undefined {
  const used = plans.filter((p) => p.net !== undefined);
  if (used.length === 0) return undefined;
  const nets = [...new Set(used.map((p) => p.net!))];
  const bounds = nets.map((n) => rangeBounds(n.inputConvention.range));
  const lo = Math.max(...bounds.map((b) => b[0]));
  const hi = Math.min(...bounds.map((b) => b[1]));
  const ranges = [...new Set(nets.map((n) => rangeText(n.inputConvention.range)))];
  return {
    name: nets.map((n) => n.name).join(" and "),
    range: ranges.length === 1 ? ranges[0]! : `[${lo},${hi}]`,
    bounds: [lo, hi],
    terms: used.map((p) => p.name),
  };
}

/** With a precomputed target: `target` is needed only for the terms it does not cover. */
export function evaluate<L extends string>(
  loss: Loss<NoInfer<L>>,
  net: LossNetwork<L>,
  options: EvaluateOptions<NoInfer<L>> & { readonly target: PrecomputedTarget<NoInfer<L>> },
): TargetLossFn;
/**
 * The training loss of `loss` on `net`: `(pred, target) => { total, terms }`.
 *
 * Per call, `net.extract` runs ONCE on `pred` (up to the deepest layer any term needs) and ONCE on
 * `target`; the target pass and everything derived from it (scaled activations, Gram matrices)
 * runs outside the gradient tape, so no gradient or saved activation is kept for it, and its
 * activations are disposed as soon as the terms are computed. Gradients flow to `pred`. The caller
 * owns `total` and every `terms[name]` (each already weighted; `total` is their sum). Throws
 * `UnknownLayerError` at once when `net` lacks a layer and {@linkcode LossInputError} on bad
 * shapes. It reads nothing back from the device (see {@linkcode assertFiniteLoss} for a NaN check).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import type { LossNetwork } from "@perceptual/loss/network";
 * import { evaluate, feature, pixel, plus } from "@perceptual/loss/loss";
 * import { pipe } from "fp-ts/lib/function.js";
 * await initBackend("cpu");
 * // a toy one-layer "network": the image itself, doubled
 * const net: LossNetwork<"double"> = {
 *   name: "toy", layers: ["double"], inputConvention: { preprocessing: "none", range: "[0,1]" },
 *   depthOf: () => 0,
 *   extract: (x, layers) => Object.fromEntries(layers.map((l) => [l, tf.mul(x, 2)])) as never,
 *   dispose() {}, [Symbol.dispose]() {},
 * };
 * const lossFn = evaluate(pipe(pixel(), plus(feature("double"))), net);
 * const { total, terms } = lossFn(tf.ones([1, 4, 4, 3]), tf.zeros([1, 4, 4, 3]));
 * assert.equal(total.dataSync()[0], 5);
 * assert.deepEqual(Object.keys(terms), ["pixel", "feature:double"]);
 * ```
 */
export function evaluate<L extends string>(
  loss: Loss<NoInfer<L>>,
  net: LossNetwork<L>,
  options?: EvaluateOptions<NoInfer<L>>,
): LossFn;
export function evaluate<L extends string>(
  loss: Loss<NoInfer<L>>,
  net: LossNetwork<L>,
  options: EvaluateOptions<NoInfer<L>> = {},
): TargetLossFn {
  checkOptionKeys("evaluate", options, ["networks", "target"]);
  const plans = planOf(loss, net as unknown as LossNetwork<string>, options.networks);
  const fixed = options.target as PrecomputedTarget<string> | undefined;
  if (fixed !== undefined) checkPrecomputed(loss, plans, fixed);
  const covered = fixed?.terms ?? new Set<number>();
  const predTaps = tapsByNetwork(plans, () => true);
  const targetTaps = tapsByNetwork(plans, (i) => !covered.has(i));
  const needTarget = plans.filter((p, i) => p.kind.needsTarget && !covered.has(i)).map((p) =>
    p.name
  );
  const use = networkUseOf(plans);
  const extractPrediction = (pred: tf.Tensor4D) => {
    try {
      return extractAll(pred, predTaps);
    } catch (e) {
      // Same error, marked as the prediction's: a trainer reports it as divergence.
      throw e instanceof InputRangeError ? new PredictionRangeError(e, use?.terms ?? []) : e;
    }
  };
  const fn = (pred: tf.Tensor4D, target?: tf.Tensor4D): LossResult => {
    checkImage("pred", pred);
    if (target !== undefined || needTarget.length > 0) {
      if (target === undefined) {
        throw new LossInputError(
          `term(s) ${needTarget.join(", ")} were not precomputed and need a target; pass it ` +
            "as the second argument",
        );
      }
      checkImage("target", target);
      if (pred.shape.some((d, i) => d !== target.shape[i])) {
        throw new LossInputError(
          `pred ${shapeText(pred.shape)} and target ${shapeText(target.shape)} differ in shape; ` +
            "they must be the same NHWC shape (resize or crop one to the other)",
        );
      }
    }
    const byTerm = fixed?.byTerm;
    return scope(() => {
      const pActs = extractPrediction(pred);
      const tActs = target !== undefined && targetTaps.size > 0
        ? withoutTape(() => extractAll(target, targetTaps))
        : new Map();
      const pSide = sidesOf(pred, pActs, "prediction");
      const tSide = target === undefined ? undefined : sidesOf(target, tActs, "target");
      const values = plans.map((plan, i): tf.Scalar => {
        const p = pSide(plan);
        let q: Representation | undefined;
        if (plan.kind.needsTarget) {
          const pre = byTerm?.get(i);
          if (pre !== undefined) {
            checkFixed(plan.name, plan.kind.compares, pre, p);
            q = pre;
          } else q = withoutTape(() => tSide!(plan));
        }
        const raw = plan.kind.compare(plan.term, p, q);
        const w = plan.term.weight;
        return w === 1 ? raw : tf.mul(raw, w) as tf.Scalar;
      });
      // The target side is no longer needed: free it now rather than at the end of the scope.
      for (const acts of tActs.values()) tf.dispose(acts);
      const total: tf.Scalar = values.length === 0
        ? tf.scalar(0)
        : values.length === 1
        ? tf.clone(values[0]!)
        : tf.addN(values) as tf.Scalar;
      const terms: Record<string, tf.Scalar> = {};
      plans.forEach((p, i) => terms[p.name] = values[i]!);
      return { total, terms };
    });
  };
  return use === undefined ? fn : Object.assign(fn, { network: use });
}

/**
 * Throw {@linkcode NonFiniteLossError} naming the terms of `result` that are NaN or infinite, and
 * whether `pred` or `target` already held such values. Reads the device asynchronously (one
 * read per tensor), so it works on WebGPU; the trainer runs its own check, use this in loops of
 * your own. Resolves when everything is finite.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { assertFiniteLoss } from "@perceptual/loss/loss";
 * await initBackend("cpu");
 * const pred = tf.zeros([1, 2, 2, 3]) as tf.Tensor4D;
 * const result = { total: tf.scalar(NaN), terms: { pixel: tf.scalar(NaN) } };
 * await assert.rejects(assertFiniteLoss(result, pred), (e: { terms: string[] }) => {
 *   assert.deepEqual(e.terms, ["pixel"]);
 *   return true;
 * });
 * ```
 */
export async function assertFiniteLoss(
  result: LossResult,
  pred: tf.Tensor4D,
  target?: tf.Tensor4D,
): Promise<void> {
  const total = (await result.total.data())[0]!;
  if (Number.isFinite(total)) return;
  const bad: string[] = [];
  for (const [name, v] of Object.entries(result.terms)) {
    if (!Number.isFinite((await v.data())[0]!)) bad.push(name);
  }
  const inputs: string[] = [];
  const check = async (what: string, x: tf.Tensor) => {
    const flag = tf.tidy(() => tf.any(tf.logicalNot(tf.isFinite(x))));
    const [any] = await flag.data();
    flag.dispose();
    if (any) inputs.push(`${what} holds NaN or ∞`);
  };
  await check("pred", pred);
  if (target !== undefined) await check("target", target);
  throw new NonFiniteLossError(bad.length > 0 ? bad : ["total"], inputs);
}

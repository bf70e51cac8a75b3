/**
 * Turning a `Loss` and a `LossNetwork` into a training loss: one network pass for the
 * prediction, one tape-free pass for the target (or none, with a precomputed target).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { scope } from "../lifetime/mod.ts";
import type { LossNetwork } from "../vgg/loss_network.ts";
import { LossInputError, NonFiniteLossError, UnknownLayerError } from "./errors.ts";
import { distance, gramMatrix, totalVariationOf } from "./kernels.ts";
import { type Loss, termNames } from "./loss.ts";
import type { LossFn, LossResult } from "./loss_result.ts";
import { withoutTape } from "./no_tape.ts";
import { nearestName as suggest } from "../text/did_you_mean.ts";
import type { Term, TermKind } from "./term.ts";

/** Options of {@linkcode evaluate} and `evaluateWithTarget`. */
export interface EvaluateOptions {
  /**
   * After each call, read the total once and throw {@linkcode NonFiniteLossError} naming the
   * terms that became NaN or infinite (default true). Costs one device read per call.
   */
  readonly checkFinite?: boolean;
}

/** A loss whose target is (partly) precomputed: the `target` argument is only needed when some
 * term was not precomputed. */
export type TargetLossFn = (pred: tf.Tensor4D, target?: tf.Tensor4D) => LossResult;

/** The term kinds whose target can be precomputed. */
export type PrecomputableKind = Exclude<TermKind, "tv">;

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(",")}]`;
}

/**
 * Whether `net` can give activations at `layer` (a name or an alias): a network built only up to
 * some layer knows deeper names (`depthOf` answers) but cannot compute them.
 */
export function networkHasLayer<L extends string>(net: LossNetwork<L>, layer: string): boolean {
  if ((net.layers as readonly string[]).includes(layer)) return true;
  try {
    const d = net.depthOf(layer as L);
    return typeof d === "number" && Number.isInteger(d) && d >= 0 && d < net.layers.length;
  } catch {
    return false;
  }
}

/** Throws {@linkcode UnknownLayerError} for the first term whose layer `net` lacks. */
export function checkLossLayers<L extends string>(loss: Loss<string>, net: LossNetwork<L>): void {
  const names = termNames(loss);
  loss.terms.forEach((t, i) => {
    if ((t.kind === "feature" || t.kind === "style") && !networkHasLayer(net, t.layer)) {
      throw new UnknownLayerError(names[i]!, t.layer, net.name, suggest(t.layer, net.layers));
    }
  });
}

/** Throws {@linkcode LossInputError} unless `x` is a float32 NHWC tensor. */
export function checkImage(what: string, x: tf.Tensor | undefined): asserts x is tf.Tensor4D {
  if (!(x instanceof tf.Tensor)) {
    throw new LossInputError(`${what} must be a tf.Tensor4D (NHWC), got ${String(x)}`);
  }
  if (x.rank !== 4) {
    throw new LossInputError(
      `${what} has shape ${shapeText(x.shape)} (rank ${x.rank}); it must be NHWC [batch, height, ` +
        "width, channels]: add a batch axis with tf.expandDims(x, 0)",
    );
  }
  if (x.dtype !== "float32") {
    throw new LossInputError(`${what} has dtype ${x.dtype}; cast it with tf.cast(x, "float32")`);
  }
}

/** The target tensors a `PrecomputedTarget` holds (term index → tensor). */
export interface FixedTargets {
  readonly batch: number;
  readonly byTerm: ReadonlyMap<number, tf.Tensor>;
}

interface Plan {
  readonly names: readonly string[];
  readonly predLayers: readonly string[];
  readonly targetLayers: readonly string[];
  readonly needTarget: readonly string[];
}

function planOf(loss: Loss<string>, fixed: ReadonlySet<number>): Plan {
  const predLayers: string[] = [];
  const targetLayers: string[] = [];
  const needTarget: string[] = [];
  const names = termNames(loss);
  loss.terms.forEach((t, i) => {
    if (t.kind === "feature" || t.kind === "style") {
      if (!predLayers.includes(t.layer)) predLayers.push(t.layer);
      if (!fixed.has(i) && !targetLayers.includes(t.layer)) targetLayers.push(t.layer);
    }
    if (t.kind !== "tv" && !fixed.has(i)) needTarget.push(names[i]!);
  });
  return { names, predLayers, targetLayers, needTarget };
}

/** The tensor cached under `key`, made once per evaluation. */
export function memo<T extends tf.Tensor>(
  cache: Map<string, tf.Tensor>,
  key: string,
  make: () => T,
): T {
  const hit = cache.get(key);
  if (hit !== undefined) return hit as T;
  const made = make();
  cache.set(key, made);
  return made;
}

/** Activations divided by a feature scale (no op for 1). */
export function scaled(x: tf.Tensor4D, scale: number): tf.Tensor4D {
  return scale === 1 ? x : tf.div(x, scale) as tf.Tensor4D;
}

/** `record[layer]`, or a {@linkcode LossInputError} naming the network that did not return it. */
export function activation(
  record: Record<string, tf.Tensor4D>,
  layer: string,
  net: LossNetwork<string>,
  side: string,
): tf.Tensor4D {
  const a = record[layer];
  if (a === undefined) {
    throw new LossInputError(
      `${net.name}.extract returned no activation for layer "${layer}" of the ${side}; the ` +
        "network must return every requested layer under the name it was asked for",
    );
  }
  return a;
}

/** Throws unless a precomputed target of shape `fixed` can stand for a batch shaped `actual`. */
function checkFixed(
  name: string,
  what: string,
  fixed: readonly number[],
  actual: readonly number[],
) {
  if (fixed[0] !== 1 && fixed[0] !== actual[0]) {
    throw new LossInputError(
      `the precomputed ${what} of "${name}" has batch ${fixed[0]}, which cannot broadcast over ` +
        `the prediction's batch ${actual[0]}; precompute it from one image (batch 1) or from ` +
        `${actual[0]} images`,
    );
  }
  if (fixed.slice(1).some((d, i) => d !== actual[i + 1])) {
    throw new LossInputError(
      `the precomputed ${what} of "${name}" is ${shapeText(fixed)} but the prediction's is ` +
        `${shapeText(actual)}; precompute it from an image of the predictions' size`,
    );
  }
}

function nonFinite(
  plan: Plan,
  values: readonly tf.Scalar[],
  pred: tf.Tensor,
  target: tf.Tensor | undefined,
): NonFiniteLossError {
  const bad = plan.names.filter((_, i) => !Number.isFinite(values[i]!.dataSync()[0]!));
  const inputs: string[] = [];
  const check = (what: string, x: tf.Tensor) =>
    tf.tidy(() => {
      if (tf.any(tf.logicalNot(tf.isFinite(x))).dataSync()[0]) {
        inputs.push(`${what} holds NaN or ∞`);
      }
    });
  check("pred", pred);
  if (target !== undefined && plan.needTarget.length > 0) check("target", target);
  return new NonFiniteLossError(bad.length > 0 ? bad : ["total"], inputs);
}

/**
 * The evaluator behind `evaluate` and `evaluateWithTarget`: checks layers once, then per call
 * one prediction pass and at most one tape-free target pass.
 */
export function makeEvaluator<L extends string>(
  loss: Loss<L>,
  net: LossNetwork<L>,
  fixed: (() => FixedTargets) | undefined,
  fixedTerms: ReadonlySet<number>,
  options: EvaluateOptions,
): TargetLossFn {
  checkLossLayers(loss, net);
  const plan = planOf(loss, fixedTerms);
  const checkFinite = options.checkFinite ?? true;
  const anyNet = net as unknown as LossNetwork<string>;
  return (pred, target) => {
    checkImage("pred", pred);
    if (target !== undefined || (fixed === undefined && plan.needTarget.length > 0)) {
      checkImage("target", target);
      if (pred.shape.some((d, i) => d !== target.shape[i])) {
        throw new LossInputError(
          `pred ${shapeText(pred.shape)} and target ${shapeText(target.shape)} differ in shape; ` +
            "they must be the same NHWC shape (resize or crop one to the other)",
        );
      }
    }
    if (plan.needTarget.length > 0 && target === undefined) {
      throw new LossInputError(
        `term(s) ${plan.needTarget.join(", ")} were not precomputed and need a target; pass it ` +
          "as the second argument",
      );
    }
    const fixedNow = fixed?.();
    return scope(() => {
      const pf: Record<string, tf.Tensor4D> = plan.predLayers.length > 0
        ? anyNet.extract(pred, plan.predLayers)
        : {};
      const tgt = target;
      const tf_: Record<string, tf.Tensor4D> = plan.targetLayers.length > 0 && tgt !== undefined
        ? withoutTape(() => anyNet.extract(tgt, plan.targetLayers))
        : {};
      const cache = new Map<string, tf.Tensor>();
      const predFeature = (layer: string, s: number) =>
        memo(
          cache,
          `p|${layer}|${s}`,
          () => scaled(activation(pf, layer, anyNet, "prediction"), s),
        );
      const targetFeature = (layer: string, s: number) =>
        memo(
          cache,
          `t|${layer}|${s}`,
          () => withoutTape(() => scaled(activation(tf_, layer, anyNet, "target"), s)),
        );

      const values = loss.terms.map((t: Term<string>, i): tf.Scalar => {
        const name = plan.names[i]!;
        const fixedT = fixedNow?.byTerm.get(i);
        let raw: tf.Scalar;
        switch (t.kind) {
          case "feature": {
            const p = predFeature(t.layer, t.scale);
            let q: tf.Tensor;
            if (fixedT !== undefined) {
              checkFixed(name, "activations", fixedT.shape, p.shape);
              q = fixedT;
            } else q = targetFeature(t.layer, t.scale);
            raw = distance(p, q, t, t.reduction);
            break;
          }
          case "style": {
            const key = `${t.layer}|${t.normalisation}|${t.scale}`;
            const p = memo(
              cache,
              `pg|${key}`,
              () => gramMatrix(predFeature(t.layer, t.scale), t.normalisation),
            );
            let q: tf.Tensor;
            if (fixedT !== undefined) {
              checkFixed(name, "Gram matrix", fixedT.shape, p.shape);
              q = fixedT;
            } else {
              q = memo(
                cache,
                `tg|${key}`,
                () =>
                  withoutTape(() => gramMatrix(targetFeature(t.layer, t.scale), t.normalisation)),
              );
            }
            raw = distance(p, q, t, t.reduction);
            break;
          }
          case "pixel": {
            let q: tf.Tensor;
            if (fixedT !== undefined) {
              checkFixed(name, "image", fixedT.shape, pred.shape);
              q = fixedT;
            } else q = tgt!;
            raw = distance(pred, q, t, t.reduction);
            break;
          }
          case "tv":
            raw = totalVariationOf(pred, t, t.reduction);
            break;
        }
        return t.weight === 1 ? raw : tf.mul(raw, t.weight) as tf.Scalar;
      });
      // The target side is no longer needed: free it now rather than at the end of the scope.
      tf.dispose(tf_);
      const total: tf.Scalar = values.length === 0
        ? tf.scalar(0)
        : values.length === 1
        ? tf.clone(values[0]!)
        : tf.addN(values) as tf.Scalar;
      if (checkFinite && !Number.isFinite(total.dataSync()[0]!)) {
        throw nonFinite(plan, values, pred, tgt);
      }
      const terms: Record<string, tf.Scalar> = {};
      plan.names.forEach((n, i) => terms[n] = values[i]!);
      return { total, terms };
    });
  };
}

/**
 * The training loss of `loss` on `net`: `(pred, target) => { total, terms }`.
 *
 * Per call, `net.extract` runs ONCE on `pred` (up to the deepest layer any term needs) and ONCE on
 * `target`; the target pass and everything derived from it (scaled activations, Gram matrices)
 * runs outside the gradient tape, so no gradient or saved activation is kept for it, and its
 * activations are disposed as soon as the terms are computed. Gradients flow to `pred`. The caller
 * owns `total` and every `terms[name]` (each already weighted; `total` is their sum). Throws
 * {@linkcode UnknownLayerError} at once when `net` lacks a layer, {@linkcode LossInputError} on
 * bad shapes, and {@linkcode NonFiniteLossError} naming the terms that became NaN.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/mod.ts";
 * import type { LossNetwork } from "../vgg/loss_network.ts";
 * import { evaluate } from "./evaluate.ts";
 * import { feature, pixel, plus } from "./loss.ts";
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
 * console.log(total.dataSync()[0], Object.keys(terms)); // 5 ["pixel", "feature:double"]
 * ```
 */
export function evaluate<L extends string>(
  loss: Loss<NoInfer<L>>,
  net: LossNetwork<L>,
  options: EvaluateOptions = {},
): LossFn {
  const fn = makeEvaluator<L>(loss, net, undefined, new Set(), options);
  return (pred, target) => fn(pred, target);
}

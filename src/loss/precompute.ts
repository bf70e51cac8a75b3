/**
 * Fixed targets computed once (Johnson et al.'s style image): `precomputeTarget` and
 * `evaluateWithTarget`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { DisposedError, type Owner, scope } from "../lifetime/mod.ts";
import type { LossNetwork } from "../vgg/loss_network.ts";
import { LossInputError } from "./errors.ts";
import {
  activation,
  checkImage,
  checkLossLayers,
  type EvaluateOptions,
  type FixedTargets,
  makeEvaluator,
  memo,
  type PrecomputableKind,
  scaled,
  type TargetLossFn,
} from "./evaluate.ts";
import { gramMatrix } from "./kernels.ts";
import type { Loss } from "./loss.ts";
import { withoutTape } from "./no_tape.ts";
import type { TermKind } from "./term.ts";

/**
 * Target activations (for `feature` terms), Gram matrices (for `style` terms) and images (for
 * `pixel` terms) of a fixed target, computed once; made by {@linkcode precomputeTarget}. Holds
 * tensors: `dispose()` it (or `using` it) when done.
 */
export class PrecomputedTarget<L extends string> implements Owner {
  /** The loss it was computed for. */
  readonly loss: Loss<L>;
  /** The network it was computed with. */
  readonly network: string;
  /** The target's batch size (1, or the predictions' batch). */
  readonly batch: number;
  /** Indices (in `loss.terms`) of the terms it covers. */
  readonly terms: ReadonlySet<number>;
  #byTerm: Map<number, tf.Tensor>;
  #disposed = false;

  /** Use {@linkcode precomputeTarget}; this takes ownership of `byTerm`'s tensors. */
  constructor(loss: Loss<L>, network: string, batch: number, byTerm: Map<number, tf.Tensor>) {
    this.loss = loss;
    this.network = network;
    this.batch = batch;
    this.#byTerm = byTerm;
    this.terms = new Set(byTerm.keys());
  }

  /** Whether `dispose()` has run. */
  get disposed(): boolean {
    return this.#disposed;
  }

  /** The tensors by term index; throws {@linkcode DisposedError} once disposed. */
  get byTerm(): ReadonlyMap<number, tf.Tensor> {
    if (this.#disposed) throw new DisposedError("this precomputed loss target");
    return this.#byTerm;
  }

  /** Dispose the held tensors. Idempotent. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    // A feature and a style term on the same layer may share nothing, but two terms with the
    // same key share one tensor: dispose each tensor once.
    tf.dispose([...new Set(this.#byTerm.values())]);
    this.#byTerm.clear();
  }

  /** Same as `dispose()`, for `using`. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}

/** Options of {@linkcode precomputeTarget}. */
export interface PrecomputeOptions {
  /** Which kinds of term to precompute (default all: feature, style, pixel). */
  readonly kinds?: readonly PrecomputableKind[];
}

/**
 * Compute the target side of `loss` once, from `image` (batch 1, or the predictions' batch), for
 * a target that does not change: Johnson et al.'s style image, say. Use it with
 * {@linkcode evaluateWithTarget}; a batch-1 target broadcasts over any batch of predictions.
 * With `kinds: ["style"]`, only style terms are fixed and the others still compare with the
 * `target` passed per call (content images), in the same single target pass.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/mod.ts";
 * import type { LossNetwork } from "../vgg/loss_network.ts";
 * import { evaluateWithTarget, precomputeTarget } from "./precompute.ts";
 * import { style } from "./loss.ts";
 * await initBackend("cpu");
 * const net: LossNetwork<"id"> = {
 *   name: "identity", layers: ["id"], inputConvention: { preprocessing: "none", range: "[0,1]" },
 *   depthOf: () => 0,
 *   extract: (x, layers) => Object.fromEntries(layers.map((l) => [l, tf.clone(x)])) as never,
 *   dispose() {}, [Symbol.dispose]() {},
 * };
 * const loss = style("id");
 * using fixed = precomputeTarget(loss, net, tf.ones([1, 8, 8, 3]));
 * const lossFn = evaluateWithTarget(loss, net, fixed);
 * console.log(lossFn(tf.ones([4, 6, 6, 3])).total.dataSync()[0]); // 0
 * ```
 */
export function precomputeTarget<L extends string>(
  loss: Loss<NoInfer<L>>,
  net: LossNetwork<L>,
  image: tf.Tensor4D,
  options: PrecomputeOptions = {},
): PrecomputedTarget<L> {
  checkLossLayers(loss, net);
  checkImage("the target image", image);
  const kinds: readonly TermKind[] = options.kinds ?? ["feature", "style", "pixel"];
  const chosen = loss.terms.map((t, i) => ({ t, i })).filter(({ t }) =>
    t.kind !== "tv" && kinds.includes(t.kind)
  );
  const layers = [
    ...new Set(
      chosen.flatMap(({ t }) => t.kind === "feature" || t.kind === "style" ? [t.layer] : []),
    ),
  ];
  const anyNet = net as unknown as LossNetwork<string>;
  const made = withoutTape(() =>
    scope(() => {
      const acts: Record<string, tf.Tensor4D> = layers.length > 0
        ? anyNet.extract(image, layers)
        : {};
      const cache = new Map<string, tf.Tensor>();
      const index: number[] = [];
      const tensors: tf.Tensor[] = [];
      for (const { t, i } of chosen) {
        let x: tf.Tensor | undefined;
        if (t.kind === "feature") {
          x = memo(cache, `f|${t.layer}|${t.scale}`, () =>
            scaled(activation(acts, t.layer, anyNet, "target"), t.scale));
        } else if (t.kind === "style") {
          x = memo(cache, `g|${t.layer}|${t.normalisation}|${t.scale}`, () =>
            gramMatrix(
              scaled(activation(acts, t.layer, anyNet, "target"), t.scale),
              t.normalisation,
            ));
        } else if (t.kind === "pixel") {
          x = memo(cache, "image", () =>
            tf.clone(image));
        }
        if (x !== undefined) {
          index.push(i);
          tensors.push(x);
        }
      }
      return { index, tensors };
    })
  );
  const byTerm = new Map<number, tf.Tensor>();
  made.index.forEach((i, k) => byTerm.set(i, made.tensors[k]!));
  // Owned by the PrecomputedTarget, so a surrounding tidy must not free them.
  for (const x of new Set(made.tensors)) tf.keep(x);
  return new PrecomputedTarget<L>(loss, net.name, image.shape[0], byTerm);
}

function sameLoss(a: Loss<string>, b: Loss<string>): boolean {
  return a === b || JSON.stringify(a.terms) === JSON.stringify(b.terms);
}

/**
 * Like {@linkcode evaluate}, with the target side of the terms `fixed` covers taken from it
 * (broadcast over the predictions' batch). `target` is needed only when some term was not
 * precomputed (then one tape-free target pass covers exactly those terms).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/mod.ts";
 * import type { LossNetwork } from "../vgg/loss_network.ts";
 * import { evaluateWithTarget, precomputeTarget } from "./precompute.ts";
 * import { feature, plus, style } from "./loss.ts";
 * import { pipe } from "fp-ts/lib/function.js";
 * await initBackend("cpu");
 * const net: LossNetwork<"id"> = {
 *   name: "identity", layers: ["id"], inputConvention: { preprocessing: "none", range: "[0,1]" },
 *   depthOf: () => 0,
 *   extract: (x, layers) => Object.fromEntries(layers.map((l) => [l, tf.clone(x)])) as never,
 *   dispose() {}, [Symbol.dispose]() {},
 * };
 * const loss = pipe(feature("id"), plus(style("id")));
 * using fixed = precomputeTarget(loss, net, tf.ones([1, 8, 8, 3]), { kinds: ["style"] });
 * const lossFn = evaluateWithTarget(loss, net, fixed);
 * const content = tf.zeros([2, 8, 8, 3]) as tf.Tensor4D;
 * console.log(Object.keys(lossFn(content, content).terms)); // ["feature:id", "style:id"]
 * ```
 */
export function evaluateWithTarget<L extends string>(
  loss: Loss<NoInfer<L>>,
  net: LossNetwork<L>,
  fixed: PrecomputedTarget<NoInfer<L>>,
  options: EvaluateOptions = {},
): TargetLossFn {
  if (!sameLoss(loss, fixed.loss)) {
    throw new LossInputError(
      "the precomputed target was made for a different loss; call precomputeTarget with the " +
        "same loss you evaluate",
    );
  }
  if (fixed.network !== net.name) {
    throw new LossInputError(
      `the precomputed target was made with ${fixed.network}, not ${net.name}; precompute it ` +
        "with the network you evaluate with",
    );
  }
  const get = (): FixedTargets => ({ batch: fixed.batch, byTerm: fixed.byTerm });
  return makeEvaluator<L>(loss, net, get, fixed.terms, options);
}

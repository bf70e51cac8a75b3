/**
 * Fixed targets computed once (Johnson et al.'s style image): `precomputeTarget` and
 * `evaluate(loss, net, { target })`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { DisposedError, type Owner, scope } from "../lifetime/mod.ts";
import type { LossNetwork } from "../network/loss_network.ts";
import { ruleOf } from "./_kinds.ts";
import { checkImage, checkLossLayers, layersOf, sideOf } from "./_sides.ts";
import type { Loss } from "./loss.ts";
import { withoutTape } from "./_no_tape.ts";
import type { TermKind } from "./term.ts";

/**
 * The term kinds whose target can be precomputed (all that compare with a target).
 *
 * @example
 * ```ts
 * import type { PrecomputableKind } from "./precompute.ts";
 * import { TERM_KINDS } from "./term.ts";
 * const kinds = TERM_KINDS.filter((k): k is PrecomputableKind => k !== "tv");
 * console.log(kinds); // ["feature", "style", "pixel"]: tv compares with no target
 * ```
 */
export type PrecomputableKind = Exclude<TermKind, "tv">;

/**
 * Target activations (for `feature` terms), Gram matrices (for `style` terms) and images (for
 * `pixel` terms) of a fixed target, computed once; made by {@linkcode precomputeTarget}. Holds
 * tensors: `dispose()` it (or `using` it) when done.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/mod.ts";
 * import type { LossNetwork } from "../network/loss_network.ts";
 * import { PrecomputedTarget, precomputeTarget } from "./precompute.ts";
 * import { feature } from "./loss.ts";
 * await initBackend("cpu");
 * const net: LossNetwork<"id"> = {
 *   name: "identity", layers: ["id"], inputConvention: { preprocessing: "none", range: "[0,1]" },
 *   depthOf: () => 0,
 *   extract: (x, layers) => Object.fromEntries(layers.map((l) => [l, tf.clone(x)])) as never,
 *   dispose() {}, [Symbol.dispose]() {},
 * };
 * const before = tf.memory().numTensors;
 * {
 *   using fixed = precomputeTarget(feature("id"), net, tf.ones([1, 4, 4, 3]));
 *   console.log(fixed instanceof PrecomputedTarget); // true
 * }
 * console.log(tf.memory().numTensors - before); // 0
 * ```
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

/**
 * Options of {@linkcode precomputeTarget}.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/mod.ts";
 * import { vgg16 } from "../vgg/mod.ts";
 * import { concatLoss, feature, style } from "./loss.ts";
 * import { type PrecomputeOptions, precomputeTarget } from "./precompute.ts";
 * await initBackend("cpu");
 * using net = await vgg16({ weights: { random: 0 }, upTo: "relu1_2" });
 * const painting = tf.randomUniform([1, 16, 16, 3], 0, 1, "float32", 1) as tf.Tensor4D;
 * const options: PrecomputeOptions = { kinds: ["style"] }; // content still comes per call
 * const loss = concatLoss(feature("relu1_2"), style("relu1_2"));
 * using fixed = precomputeTarget(loss, net, painting, options);
 * console.log([...fixed.terms]); // [1]: only the style term (index 1) is fixed
 * painting.dispose();
 * ```
 */
export interface PrecomputeOptions {
  /** Which kinds of term to precompute (default all: feature, style, pixel). */
  readonly kinds?: readonly PrecomputableKind[];
}

/**
 * Compute the target side of `loss` once, from `image` (batch 1, or the predictions' batch), for
 * a target that does not change: Johnson et al.'s style image, say. Use it with
 * `evaluate(loss, net, { target })`; a batch-1 target broadcasts over any batch of predictions.
 * With `kinds: ["style"]`, only style terms are fixed and the others still compare with the
 * `target` passed per call (content images), in the same single target pass.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/mod.ts";
 * import type { LossNetwork } from "../network/loss_network.ts";
 * import { evaluate } from "./evaluate.ts";
 * import { precomputeTarget } from "./precompute.ts";
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
 * const lossFn = evaluate(loss, net, { target: fixed });
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
  const chosen = (i: number) => {
    const t = loss.terms[i]!;
    return ruleOf(t).compares !== undefined && kinds.includes(t.kind);
  };
  const layers = layersOf(loss, chosen);
  const anyNet = net as unknown as LossNetwork<string>;
  const made = withoutTape(() =>
    scope(() => {
      const acts = layers.length > 0 ? anyNet.extract(image, layers) : {};
      const side = sideOf(anyNet, image, acts, "target");
      const index: number[] = [];
      const tensors: tf.Tensor[] = [];
      loss.terms.forEach((t, i) => {
        if (!chosen(i)) return;
        const x = ruleOf(t).sideOf(t, side);
        index.push(i);
        // The caller's image stays the caller's: hold a copy.
        tensors.push(x === image ? side.memo("image", () => tf.clone(image)) : x);
      });
      return { index, tensors };
    })
  );
  const byTerm = new Map<number, tf.Tensor>();
  made.index.forEach((i, k) => byTerm.set(i, made.tensors[k]!));
  // Owned by the PrecomputedTarget, so a surrounding tidy must not free them.
  for (const x of new Set(made.tensors)) tf.keep(x);
  return new PrecomputedTarget<L>(loss, net.name, image.shape[0], byTerm);
}

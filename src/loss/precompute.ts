/**
 * Fixed targets computed once (Johnson et al.'s style image): `precomputeTarget` and
 * `evaluate(loss, net, { target })`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { DisposedError, type Owner, scope } from "../lifetime/mod.ts";
import type { LossNetwork } from "../network/loss_network.ts";
import { checkImage, extractAll, planOf, sidesOf, tapsByNetwork, tensorsOf } from "./_sides.ts";
import type { AnyLayer, Loss } from "./loss.ts";
import { withoutTape } from "./_no_tape.ts";
import { checkOptionKeys } from "../errors/unknown_option_error.ts";
import type { Representation } from "./kind.ts";
import { LossInputError } from "./errors.ts";

/**
 * A kind name whose target can be precomputed: any kind that compares with a target (`feature`,
 * `style`, `pixel`, or a kind of your own; `tv` needs no target).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { PrecomputableKind } from "@perceptual/loss/loss";
 * const kinds: PrecomputableKind[] = ["style", "mean_std"];
 * assert.equal(kinds.length, 2);
 * ```
 */
export type PrecomputableKind = string;

/**
 * Target activations (for `feature` terms), Gram matrices (for `style` terms) and images (for
 * `pixel` terms) of a fixed target, computed once; made by {@linkcode precomputeTarget}. Holds
 * tensors: `dispose()` it (or `using` it) when done.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import type { LossNetwork } from "@perceptual/loss/network";
 * import { PrecomputedTarget, precomputeTarget, feature } from "@perceptual/loss/loss";
 * await initBackend("cpu");
 * const net: LossNetwork<"id"> = {
 *   name: "identity", layers: ["id"], inputConvention: { preprocessing: "none", range: "[0,1]" },
 *   depthOf: () => 0,
 *   extract: (x, layers) => Object.fromEntries(layers.map((l) => [l, tf.clone(x)])) as never,
 *   dispose() {}, [Symbol.dispose]() {},
 * };
 * const target = tf.ones([1, 4, 4, 3]) as tf.Tensor4D;
 * const before = tf.memory().numTensors;
 * {
 *   using fixed = precomputeTarget(feature("id"), net, target);
 *   assert.ok(fixed instanceof PrecomputedTarget);
 * }
 * assert.equal(tf.memory().numTensors - before, 0); // its features went with it
 * target.dispose();
 * ```
 */
export class PrecomputedTarget<L extends string> implements Owner {
  /** The loss it was computed for. */
  readonly loss: Loss<L>;
  /** The network it was computed with (the main one's name). */
  readonly network: string;
  /** The target's batch size (1, or the predictions' batch). */
  readonly batch: number;
  /** Indices (in `loss.terms`) of the terms it covers. */
  readonly terms: ReadonlySet<number>;
  #byTerm: Map<number, Representation>;
  #networks: Map<number, string | undefined>;
  #disposed = false;

  /**
   * Use {@linkcode precomputeTarget}; this takes ownership of `byTerm`'s tensors. `networks`
   * names the network each covered term was computed with (undefined: none).
   */
  constructor(
    loss: Loss<L>,
    network: string,
    batch: number,
    byTerm: Map<number, Representation>,
    networks: Map<number, string | undefined> = new Map(),
  ) {
    this.loss = loss;
    this.network = network;
    this.batch = batch;
    this.#byTerm = byTerm;
    this.#networks = networks;
    this.terms = new Set(byTerm.keys());
  }

  /** The name of the network term `i` was precomputed with (undefined: it reads none). */
  networkOf(i: number): string | undefined {
    return this.#networks.get(i);
  }

  /** Whether `dispose()` has run. */
  get disposed(): boolean {
    return this.#disposed;
  }

  /** The tensors by term index; throws {@linkcode DisposedError} once disposed. */
  get byTerm(): ReadonlyMap<number, Representation> {
    if (this.#disposed) throw new DisposedError("this precomputed loss target");
    return this.#byTerm;
  }

  /** Dispose the held tensors. Idempotent. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    // A feature and a style term on the same layer may share nothing, but two terms with the
    // same key share one tensor: dispose each tensor once.
    tf.dispose([...new Set([...this.#byTerm.values()].flatMap(tensorsOf))]);
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
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { vgg16 } from "@perceptual/loss/vgg";
 * import {
 *   concatLoss,
 *   feature,
 *   style,
 *   type PrecomputeOptions,
 *   precomputeTarget,
 * } from "@perceptual/loss/loss";
 * await initBackend("cpu");
 * using net = await vgg16({ weights: { random: 0 }, upTo: "relu1_2" });
 * const painting = tf.randomUniform([1, 16, 16, 3], 0, 1, "float32", 1) as tf.Tensor4D;
 * const options: PrecomputeOptions = { kinds: ["style"] }; // content still comes per call
 * const loss = concatLoss(feature("relu1_2"), style("relu1_2"));
 * using fixed = precomputeTarget(loss, net, painting, options);
 * assert.deepEqual([...fixed.terms], [1]); // only the style term (index 1) is fixed
 * painting.dispose();
 * ```
 */
export interface PrecomputeOptions {
  /** Which kinds of term to precompute (default: every kind that compares with a target). */
  readonly kinds?: readonly PrecomputableKind[];
  /** Other networks the terms read, by `key` (as in `evaluate`). */
  readonly networks?: readonly LossNetwork<AnyLayer>[];
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
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import type { LossNetwork } from "@perceptual/loss/network";
 * import { evaluate, precomputeTarget, style } from "@perceptual/loss/loss";
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
 * assert.equal(lossFn(tf.ones([4, 6, 6, 3])).total.dataSync()[0], 0);
 * ```
 */
export function precomputeTarget<L extends string>(
  loss: Loss<NoInfer<L>>,
  net: LossNetwork<L>,
  image: tf.Tensor4D,
  options: PrecomputeOptions = {},
): PrecomputedTarget<L> {
  checkOptionKeys("precomputeTarget", options, ["kinds", "networks"]);
  const plans = planOf(loss, net as unknown as LossNetwork<string>, options.networks);
  checkImage("the target image", image);
  if (options.kinds !== undefined && !Array.isArray(options.kinds)) {
    throw new LossInputError(`precomputeTarget: kinds must be an array of kind names`);
  }
  const chosen = (i: number) =>
    plans[i]!.kind.needsTarget &&
    (options.kinds === undefined || options.kinds.includes(plans[i]!.kind.name));
  const taps = tapsByNetwork(plans, chosen);
  const made = withoutTape(() =>
    scope(() => {
      const side = sidesOf(image, extractAll(image, taps), "target");
      const index: number[] = [];
      const reps: Representation[] = [];
      plans.forEach((plan, i) => {
        if (!chosen(i)) return;
        const r = side(plan);
        index.push(i);
        // The caller's image stays the caller's: hold a copy.
        reps.push(r === image ? tf.clone(image) : r);
      });
      // scope() keeps what is returned: hand it every tensor of every representation.
      return { index, reps, all: reps.flatMap(tensorsOf) };
    })
  );
  const byTerm = new Map<number, Representation>();
  const networks = new Map<number, string | undefined>();
  made.index.forEach((i, k) => {
    byTerm.set(i, made.reps[k]!);
    networks.set(i, plans[i]!.net?.name);
  });
  // Owned by the PrecomputedTarget, so a surrounding tidy must not free them.
  for (const x of new Set(made.all)) tf.keep(x);
  return new PrecomputedTarget<L>(loss, net.name, image.shape[0], byTerm, networks);
}

/**
 * What `evaluate`, `precomputeTarget` and `calibrate` share: argument checks, which network each
 * term reads, and one side (prediction or target) of an evaluation as kinds see it.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { type LossNetwork, networkHasLayer } from "../network/loss_network.ts";
import { nearestName as suggest } from "../_internal/did_you_mean.ts";
import { type Kind, kindOf, type Representation, type SideView } from "./kind.ts";
import { UnknownLayerError } from "../network/errors.ts";
import { LossInputError } from "./errors.ts";
import { show } from "../_internal/show.ts";
import { checkNotEmpty } from "../errors/empty_input_error.ts";
import { type AnyLayer, networkOf, termNames } from "./loss.ts";
import type { TermCommon } from "./term.ts";

/** `[1,2,3]` as text for messages. */
export function shapeText(shape: readonly number[]): string {
  return `[${shape.join(",")}]`;
}

/** A loss as the evaluation sees it: terms only (its layer type does not matter here). */
export interface TermsOf {
  /** The terms. */
  readonly terms: readonly TermCommon[];
}

/** One term, resolved: its kind, its name in results, and the network it reads (if any). */
export interface TermPlan {
  /** The term. */
  readonly term: TermCommon;
  /** Its kind. */
  readonly kind: Kind;
  /** Its name in results. */
  readonly name: string;
  /** The layers it reads. */
  readonly taps: readonly string[];
  /** The network it reads (undefined when it reads no layer). */
  readonly net: LossNetwork<string> | undefined;
  /** Its representation's memo key: terms with equal fields (weight and name aside) share one. */
  readonly key: string;
}

/** The networks a loss may read: the main one and any others, found by `key`. */
export function networkFinder(
  main: LossNetwork<string>,
  others: readonly LossNetwork<AnyLayer>[] = [],
): (key: string | undefined, term: string) => LossNetwork<string> {
  return (key, term) => {
    if (key === undefined) return main;
    const found = [main, ...others].find((n) => n.key === key);
    if (found !== undefined) return found;
    const given = [main, ...others].map((n) => n.key ?? `${n.name} (no key)`).join(", ");
    throw new LossInputError(
      `term "${term}" reads the network "${key}", which was not given (given: ${given}); pass ` +
        `it in the options: evaluate(loss, net, { networks: [theNetworkWithKey("${key}")] })`,
    );
  };
}

/**
 * Every term resolved against the networks; throws `UnknownLayerError` for the first tap its
 * network lacks and {@linkcode LossInputError} for a network that was not given.
 */
export function planOf(
  loss: TermsOf,
  main: LossNetwork<string>,
  others?: readonly LossNetwork<AnyLayer>[],
): TermPlan[] {
  const names = termNames(loss);
  const find = networkFinder(main, others);
  return loss.terms.map((term, i) => {
    const kind = kindOf(term);
    const taps = kind.taps(term);
    const name = names[i]!;
    const key = representationKey(term);
    if (taps.length === 0) return { term, kind, name, taps, net: undefined, key };
    const net = find(networkOf(term), name);
    for (const layer of taps) {
      if (!networkHasLayer(net, layer)) {
        throw new UnknownLayerError(layer, net.name, suggest(layer, net.layers), name);
      }
    }
    return { term, kind, name, taps, net, key };
  });
}

/** The distinct networks of the chosen terms, each with the taps they read on it. */
export function tapsByNetwork(
  plans: readonly TermPlan[],
  chosen: (i: number) => boolean,
): Map<LossNetwork<string>, string[]> {
  const out = new Map<LossNetwork<string>, string[]>();
  plans.forEach((p, i) => {
    if (p.net === undefined || !chosen(i)) return;
    const taps = out.get(p.net) ?? [];
    for (const t of p.taps) if (!taps.includes(t)) taps.push(t);
    out.set(p.net, taps);
  });
  return out;
}

/** One forward pass per network over `image`; the caller's scope owns the activations. */
export function extractAll(
  image: tf.Tensor4D,
  taps: ReadonlyMap<LossNetwork<string>, readonly string[]>,
): Map<LossNetwork<string>, Record<string, tf.Tensor4D>> {
  const out = new Map<LossNetwork<string>, Record<string, tf.Tensor4D>>();
  for (const [net, layers] of taps) out.set(net, net.extract(image, layers));
  return out;
}

/**
 * Throws {@linkcode LossInputError} unless `x` is a float32 NHWC tensor, and `EmptyInputError`
 * when it holds no image or no pixel.
 */
export function checkImage(what: string, x: tf.Tensor | undefined): asserts x is tf.Tensor4D {
  if (!(x instanceof tf.Tensor)) {
    throw new LossInputError(
      `${what} must be a tf.Tensor4D (NHWC), got ${show(x)}` +
        (ArrayBuffer.isView(x) || Array.isArray(x)
          ? "; make it one with tf.tensor4d(data, [batch, height, width, channels])"
          : ""),
    );
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
  checkNotEmpty(what, x.shape);
}

/** A stable text of a term's fields that decide its representation (not its weight or name). */
function representationKey(term: TermCommon): string {
  const { weight: _w, name: _n, ...rest } = term as unknown as Record<string, unknown>;
  return `rep|${JSON.stringify(rest)}`;
}

/**
 * The sides of one image: one {@linkcode SideView} per network (tensors made from a network's
 * activations are cached per side and network; the caller's scope owns them), and each term's
 * representation, memoised (two terms with the same fields share it).
 */
export function sidesOf(
  image: tf.Tensor4D,
  acts: ReadonlyMap<LossNetwork<string>, Record<string, tf.Tensor4D>>,
  role: "prediction" | "target",
): (plan: TermPlan) => Representation {
  const views = new Map<LossNetwork<string> | undefined, SideView>();
  const viewOf = (net: LossNetwork<string> | undefined): SideView => {
    const hit = views.get(net);
    if (hit !== undefined) return hit;
    const cache = new Map<string, Representation>();
    const memo = <T extends Representation>(key: string, make: () => T): T => {
      const found = cache.get(key);
      if (found !== undefined) return found as T;
      const made = make();
      cache.set(key, made);
      return made;
    };
    const a = net === undefined ? {} : acts.get(net) ?? {};
    const view: SideView = {
      image,
      role,
      network: net,
      memo,
      tap: (layer) => {
        const t = a[layer];
        if (t === undefined) {
          throw new LossInputError(
            `${net?.name ?? "the loss"} gave no activation for layer "${layer}" of the ${role}; ` +
              "a kind may only tap the layers its taps() lists, and a network must return every " +
              "requested layer under the name it was asked for",
          );
        }
        return t;
      },
    };
    views.set(net, view);
    return view;
  };
  return (plan) => {
    const view = viewOf(plan.net);
    return view.memo(plan.key, () => plan.kind.represent(plan.term, view));
  };
}

/** The tensors of a representation. */
export function tensorsOf(r: Representation): tf.Tensor[] {
  return r instanceof tf.Tensor ? [r] : Object.values(r);
}

/** Shapes of a representation by part ("" for a single tensor), for precomputed-target checks. */
export function shapesOf(r: Representation): [string, readonly number[]][] {
  return r instanceof tf.Tensor ? [["", r.shape]] : Object.entries(r).map(([k, v]) => [k, v.shape]);
}

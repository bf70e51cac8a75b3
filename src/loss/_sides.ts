/**
 * What `evaluate` and `precomputeTarget` share: argument checks, and one side (prediction or
 * target) of an evaluation as the kind table sees it.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { type LossNetwork, networkHasLayer } from "../network/loss_network.ts";
import { nearestName as suggest } from "../_internal/did_you_mean.ts";
import type { Side } from "./_kinds.ts";
import { layerOf } from "./_kinds.ts";
import { UnknownLayerError } from "../network/errors.ts";
import { LossInputError } from "./errors.ts";
import { show } from "../_internal/show.ts";
import { checkNotEmpty } from "../errors/empty_input_error.ts";
import { type Loss, termNames } from "./loss.ts";

/** `[1,2,3]` as text for messages. */
export function shapeText(shape: readonly number[]): string {
  return `[${shape.join(",")}]`;
}

/** Throws {@linkcode UnknownLayerError} for the first term whose layer `net` lacks. */
export function checkLossLayers<L extends string>(loss: Loss<string>, net: LossNetwork<L>): void {
  const names = termNames(loss);
  loss.terms.forEach((t, i) => {
    const layer = layerOf(t);
    if (layer !== undefined && !networkHasLayer(net, layer)) {
      throw new UnknownLayerError(layer, net.name, suggest(layer, net.layers), names[i]!);
    }
  });
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

/** The distinct layers the given terms read, in first-use order. */
export function layersOf(loss: Loss<string>, chosen: (i: number) => boolean): string[] {
  const out: string[] = [];
  loss.terms.forEach((t, i) => {
    const l = layerOf(t);
    if (l !== undefined && chosen(i) && !out.includes(l)) out.push(l);
  });
  return out;
}

/**
 * One side of an evaluation over the activations `acts` (already extracted). Tensors it makes
 * are cached per side; the caller's scope owns them.
 */
export function sideOf(
  net: LossNetwork<string>,
  image: tf.Tensor4D,
  acts: Record<string, tf.Tensor4D>,
  who: string,
): Side {
  const cache = new Map<string, tf.Tensor>();
  const memo = <T extends tf.Tensor>(key: string, make: () => T): T => {
    const hit = cache.get(key);
    if (hit !== undefined) return hit as T;
    const made = make();
    cache.set(key, made);
    return made;
  };
  return {
    image,
    memo,
    feature: (layer, scale) =>
      memo(`f|${layer}|${scale}`, () => {
        const a = acts[layer];
        if (a === undefined) {
          throw new LossInputError(
            `${net.name}.extract returned no activation for layer "${layer}" of the ${who}; the ` +
              "network must return every requested layer under the name it was asked for",
          );
        }
        return scale === 1 ? a : tf.div(a, scale) as tf.Tensor4D;
      }),
  };
}

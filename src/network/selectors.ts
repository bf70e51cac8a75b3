/**
 * Layer selectors that work on any loss network's layer list.
 *
 * @module
 */

/**
 * Something with a layer list in forward order, e.g. any `LossNetwork`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type HasLayers, layersBeforePools } from "@perceptual/loss/network";
 * const net: HasLayers<string> = { layers: ["stem", "pool1", "res2a", "res2b", "pool2"] };
 * assert.deepEqual(layersBeforePools(net), ["stem", "res2b"]);
 * ```
 */
export interface HasLayers<L extends string> {
  /** Canonical layer names in forward order. */
  readonly layers: readonly L[];
}

/**
 * fastai's layer choice: the layers just before each pooling layer (the last activation of each
 * block), in order. Pools are the layers whose name contains `pool`. For VGG networks,
 * `beforePools` from the vgg module gives the same answer typed as a tuple.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { layersBeforePools } from "@perceptual/loss/network";
 * assert.deepEqual(
 *   layersBeforePools({ layers: ["c1", "c2", "pool1", "c3", "pool2"] }),
 *   ["c2", "c3"],
 * );
 * ```
 */
export function layersBeforePools<L extends string>(net: HasLayers<L>): L[] {
  const layers = net.layers;
  const out: L[] = [];
  layers.forEach((l, i) => {
    if (i > 0 && /pool/i.test(l) && !/pool/i.test(layers[i - 1]!)) out.push(layers[i - 1]!);
  });
  return out;
}

/**
 * VGG layer names as types: Keras names (`block2_conv2`, `block1_pool`) and the PyTorch/Johnson
 * aliases (`relu2_2`, `pool1`), generated from const tuples so a misspelt layer fails `deno check`.
 *
 * @module
 */
import { type HasLayers, layersBeforePools } from "../network/selectors.ts";

/**
 * VGG-16's layers in forward order, Keras names. Conv layers are post-ReLU, as in Keras.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { VGG16_LAYERS } from "@perceptual/loss/vgg";
 * assert.equal(VGG16_LAYERS.length, 18);
 * assert.equal(VGG16_LAYERS[2], "block1_pool");
 * ```
 */
export const VGG16_LAYERS: readonly [
  "block1_conv1",
  "block1_conv2",
  "block1_pool",
  "block2_conv1",
  "block2_conv2",
  "block2_pool",
  "block3_conv1",
  "block3_conv2",
  "block3_conv3",
  "block3_pool",
  "block4_conv1",
  "block4_conv2",
  "block4_conv3",
  "block4_pool",
  "block5_conv1",
  "block5_conv2",
  "block5_conv3",
  "block5_pool",
] = [
  "block1_conv1",
  "block1_conv2",
  "block1_pool",
  "block2_conv1",
  "block2_conv2",
  "block2_pool",
  "block3_conv1",
  "block3_conv2",
  "block3_conv3",
  "block3_pool",
  "block4_conv1",
  "block4_conv2",
  "block4_conv3",
  "block4_pool",
  "block5_conv1",
  "block5_conv2",
  "block5_conv3",
  "block5_pool",
] as const;

/**
 * VGG-19's layers in forward order, Keras names. Conv layers are post-ReLU, as in Keras.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { VGG19_LAYERS } from "@perceptual/loss/vgg";
 * assert.equal(VGG19_LAYERS.length, 21);
 * assert.equal(VGG19_LAYERS.at(-1), "block5_pool");
 * ```
 */
export const VGG19_LAYERS: readonly [
  "block1_conv1",
  "block1_conv2",
  "block1_pool",
  "block2_conv1",
  "block2_conv2",
  "block2_pool",
  "block3_conv1",
  "block3_conv2",
  "block3_conv3",
  "block3_conv4",
  "block3_pool",
  "block4_conv1",
  "block4_conv2",
  "block4_conv3",
  "block4_conv4",
  "block4_pool",
  "block5_conv1",
  "block5_conv2",
  "block5_conv3",
  "block5_conv4",
  "block5_pool",
] = [
  "block1_conv1",
  "block1_conv2",
  "block1_pool",
  "block2_conv1",
  "block2_conv2",
  "block2_pool",
  "block3_conv1",
  "block3_conv2",
  "block3_conv3",
  "block3_conv4",
  "block3_pool",
  "block4_conv1",
  "block4_conv2",
  "block4_conv3",
  "block4_conv4",
  "block4_pool",
  "block5_conv1",
  "block5_conv2",
  "block5_conv3",
  "block5_conv4",
  "block5_pool",
] as const;

/**
 * A VGG-16 layer, Keras name: `"block1_conv1"` … `"block5_pool"`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { VGG16_LAYERS, type Vgg16Layer } from "@perceptual/loss/vgg";
 * const content: Vgg16Layer = "block3_conv3";
 * assert.equal(VGG16_LAYERS.indexOf(content), 8); // the ninth layer in forward order
 * ```
 */
export type Vgg16Layer = typeof VGG16_LAYERS[number];

/**
 * A VGG-19 layer, Keras name: `"block1_conv1"` … `"block5_pool"`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { VGG19_LAYERS, type Vgg19Layer } from "@perceptual/loss/vgg";
 * const deepest: Vgg19Layer = "block5_conv4";
 * assert.equal(VGG19_LAYERS.indexOf(deepest), 19); // only block5_pool comes after it
 * ```
 */
export type Vgg19Layer = typeof VGG19_LAYERS[number];

/**
 * The PyTorch/Johnson alias of a Keras layer name: `blockB_convC` → `reluB_C` (the ReLU after
 * that conv, which is what Keras' conv layer outputs), `blockB_pool` → `poolB`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type VggAliasOf, vggAlias } from "@perceptual/loss/vgg";
 * const relu: VggAliasOf<"block4_conv2"> = "relu4_2";
 * const pool: VggAliasOf<"block4_pool"> = "pool4";
 * assert.ok(vggAlias("block4_conv2") === relu);
 * assert.ok(vggAlias("block4_pool") === pool);
 * ```
 */
export type VggAliasOf<L extends string> = L extends `block${infer B}_conv${infer C}`
  ? `relu${B}_${C}`
  : L extends `block${infer B}_pool` ? `pool${B}`
  : never;

/**
 * VGG-16 aliases: `"relu1_1"` … `"relu5_3"`, `"pool1"` … `"pool5"`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { canonicalVggLayer, type Vgg16Alias } from "@perceptual/loss/vgg";
 * const alias: Vgg16Alias = "relu3_3"; // the ReLU after block3_conv3
 * assert.equal(canonicalVggLayer("vgg16", alias), "block3_conv3");
 * ```
 */
export type Vgg16Alias = VggAliasOf<Vgg16Layer>;

/**
 * VGG-19 aliases: `"relu1_1"` … `"relu5_4"`, `"pool1"` … `"pool5"`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { canonicalVggLayer, type Vgg19Alias } from "@perceptual/loss/vgg";
 * const alias: Vgg19Alias = "relu5_4"; // VGG-16 has no such layer
 * assert.equal(canonicalVggLayer("vgg19", alias), "block5_conv4");
 * assert.equal(canonicalVggLayer("vgg16", alias), undefined);
 * ```
 */
export type Vgg19Alias = VggAliasOf<Vgg19Layer>;

/**
 * Any name VGG-16's networks accept: Keras names and aliases.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isVggLayerName, type Vgg16LayerName } from "@perceptual/loss/vgg";
 * const names: Vgg16LayerName[] = ["block2_conv2", "relu2_2"]; // one layer, two spellings
 * assert.ok(names.every((n) => isVggLayerName("vgg16", n)));
 * ```
 */
export type Vgg16LayerName = Vgg16Layer | Vgg16Alias;

/**
 * Any name VGG-19's networks accept: Keras names and aliases.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { canonicalVggLayer, isVggLayerName, type Vgg19LayerName } from "@perceptual/loss/vgg";
 * const input: string = "relu3_4"; // from a command line, say
 * if (isVggLayerName("vgg19", input)) {
 *   const layer: Vgg19LayerName = input; // narrowed by the check
 *   assert.equal(canonicalVggLayer("vgg19", layer), "block3_conv4");
 * }
 * ```
 */
export type Vgg19LayerName = Vgg19Layer | Vgg19Alias;

/**
 * The two VGG architectures.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type VggArchitecture, vggLayers } from "@perceptual/loss/vgg";
 * const arch: VggArchitecture = "vgg19";
 * assert.equal(vggLayers(arch).length, 21);
 * assert.equal(vggLayers("vgg16").length, 18);
 * ```
 */
export type VggArchitecture = "vgg16" | "vgg19";

/**
 * Every {@linkcode VggArchitecture}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { VGG_ARCHITECTURES } from "@perceptual/loss/vgg";
 * assert.deepEqual(VGG_ARCHITECTURES, ["vgg16", "vgg19"]);
 * ```
 */
export const VGG_ARCHITECTURES: readonly VggArchitecture[] = ["vgg16", "vgg19"];

/**
 * The Keras layer names of an architecture.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type VggLayerOf, vggLayers } from "@perceptual/loss/vgg";
 * const convs: VggLayerOf<"vgg16">[] = vggLayers("vgg16").filter((l) => l.includes("conv"));
 * assert.equal(convs.length, 13);
 * assert.equal(convs.at(-1), "block5_conv3");
 * ```
 */
export type VggLayerOf<A extends VggArchitecture> = A extends "vgg16" ? Vgg16Layer : Vgg19Layer;

/**
 * Every name (Keras names and aliases) an architecture accepts.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   canonicalVggLayer,
 *   type VggArchitecture,
 *   type VggLayerNameOf,
 * } from "@perceptual/loss/vgg";
 * const keras = <A extends VggArchitecture>(arch: A, name: VggLayerNameOf<A>) =>
 *   canonicalVggLayer(arch, name);
 * assert.equal(keras("vgg16", "relu1_2"), "block1_conv2");
 * assert.equal(keras("vgg19", "relu3_4"), "block3_conv4");
 * ```
 */
export type VggLayerNameOf<A extends VggArchitecture> = A extends "vgg16" ? Vgg16LayerName
  : Vgg19LayerName;

/**
 * The Keras layer names of an architecture, in forward order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { vggLayers } from "@perceptual/loss/vgg";
 * assert.ok(vggLayers("vgg19").includes("block3_conv4"));
 * ```
 */
export function vggLayers<A extends VggArchitecture>(arch: A): readonly VggLayerOf<A>[] {
  return (arch === "vgg16" ? VGG16_LAYERS : VGG19_LAYERS) as readonly VggLayerOf<A>[];
}

/**
 * The alias of a Keras layer name (`block2_conv2` → `relu2_2`, `block1_pool` → `pool1`), or
 * `undefined` for a name that is not of that form.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { vggAlias } from "@perceptual/loss/vgg";
 * assert.equal(vggAlias("block3_conv3"), "relu3_3");
 * assert.equal(vggAlias("block4_pool"), "pool4");
 * ```
 */
export function vggAlias(layer: string): string | undefined {
  const conv = /^block(\d+)_conv(\d+)$/.exec(layer);
  if (conv) return `relu${conv[1]}_${conv[2]}`;
  const pool = /^block(\d+)_pool$/.exec(layer);
  return pool ? `pool${pool[1]}` : undefined;
}

/** Keras name of `name` (itself or the layer it aliases) in `layers`, or `undefined`. */
function canonicalIn(name: string, layers: readonly string[]): string | undefined {
  if (layers.includes(name)) return name;
  const relu = /^relu(\d+)_(\d+)$/.exec(name);
  if (relu) {
    const c = `block${relu[1]}_conv${relu[2]}`;
    return layers.includes(c) ? c : undefined;
  }
  const pool = /^pool(\d+)$/.exec(name);
  if (pool) {
    const p = `block${pool[1]}_pool`;
    return layers.includes(p) ? p : undefined;
  }
  return undefined;
}

/**
 * The Keras name of a layer name or alias of `arch` (`relu2_2` → `block2_conv2`), or `undefined`
 * when `arch` has no such layer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { canonicalVggLayer } from "@perceptual/loss/vgg";
 * assert.equal(canonicalVggLayer("vgg16", "relu2_2"), "block2_conv2");
 * assert.equal(canonicalVggLayer("vgg16", "relu3_4"), undefined); // (VGG-19 only)
 * ```
 */
export function canonicalVggLayer<A extends VggArchitecture>(
  arch: A,
  name: string,
): VggLayerOf<A> | undefined {
  return canonicalIn(name, vggLayers(arch)) as VggLayerOf<A> | undefined;
}

/**
 * Whether `name` is a layer name or alias of `arch`; narrows the type.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isVggLayerName } from "@perceptual/loss/vgg";
 * assert.ok(isVggLayerName("vgg16", "pool3"));
 * assert.equal(isVggLayerName("vgg16", "block3_conv4"), false);
 * ```
 */
export function isVggLayerName<A extends VggArchitecture>(
  arch: A,
  name: string,
): name is VggLayerNameOf<A> {
  return canonicalVggLayer(arch, name) !== undefined;
}

/**
 * The layers fastai's feature loss takes from VGG-16: the activation just before each pool.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { beforePools, type Vgg16BeforePools } from "@perceptual/loss/vgg";
 * const layers: Vgg16BeforePools = beforePools("vgg16");
 * // (fastai's)
 * assert.deepEqual(
 *   layers.slice(2),
 *   ["block3_conv3", "block4_conv3", "block5_conv3"],
 * );
 * ```
 */
export type Vgg16BeforePools = readonly [
  "block1_conv2",
  "block2_conv2",
  "block3_conv3",
  "block4_conv3",
  "block5_conv3",
];

/**
 * The activation just before each pool of VGG-19.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { beforePools, type Vgg19BeforePools } from "@perceptual/loss/vgg";
 * const layers: Vgg19BeforePools = beforePools("vgg19");
 * assert.deepEqual(layers.slice(2), ["block3_conv4", "block4_conv4", "block5_conv4"]);
 * ```
 */
export type Vgg19BeforePools = readonly [
  "block1_conv2",
  "block2_conv2",
  "block3_conv4",
  "block4_conv4",
  "block5_conv4",
];

/**
 * Something that names its architecture: a VGG network built by `vgg16`/`vgg19`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { beforePools, type HasVggArchitecture } from "@perceptual/loss/vgg";
 * const net: HasVggArchitecture<"vgg19"> = { architecture: "vgg19" }; // e.g. a Vgg19Network
 * assert.equal(beforePools(net)[2], "block3_conv4"); // typed as that literal
 * ```
 */
export interface HasVggArchitecture<A extends VggArchitecture> {
  /** Which VGG it is. */
  readonly architecture: A;
}

/**
 * fastai's layer choice: the activations just before each pooling layer (the last ReLU of each
 * block), in order. For `"vgg16"`/`"vgg19"` or a network built by `vgg16`/`vgg19` the answer is
 * the architecture's five layers (typed as a tuple), even when the network was loaded only part
 * way; for any other network it is computed from its `layers` (pools are names containing
 * `pool`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { beforePools } from "@perceptual/loss/vgg";
 * const [, , b3, b4, b5] = beforePools("vgg16");
 * assert.equal(b3, "block3_conv3");
 * assert.equal(b4, "block4_conv3");
 * assert.equal(b5, "block5_conv3");
 * assert.equal(beforePools("vgg19")[2], "block3_conv4");
 * ```
 */
export function beforePools(net: "vgg16" | HasVggArchitecture<"vgg16">): Vgg16BeforePools;
/** The VGG-19 layers just before each pool. */
export function beforePools(net: "vgg19" | HasVggArchitecture<"vgg19">): Vgg19BeforePools;
/** The layers of any network just before each of its pools. */
export function beforePools<L extends string>(net: HasLayers<L>): readonly L[];
export function beforePools(
  net: VggArchitecture | HasVggArchitecture<VggArchitecture> | HasLayers<string>,
): readonly string[] {
  if (typeof net === "string") return layersBeforePools({ layers: vggLayers(net) });
  if ("architecture" in net && (net.architecture === "vgg16" || net.architecture === "vgg19")) {
    return layersBeforePools({ layers: vggLayers(net.architecture) });
  }
  return layersBeforePools(net as HasLayers<string>);
}

/**
 * Johnson et al.'s style layers, as aliases valid for both VGG-16 and VGG-19.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { johnsonStyle, type JohnsonStyleLayers } from "@perceptual/loss/vgg";
 * const layers: JohnsonStyleLayers = johnsonStyle;
 * assert.equal(layers.join(" "), "relu1_2 relu2_2 relu3_3 relu4_3");
 * ```
 */
export type JohnsonStyleLayers = readonly ["relu1_2", "relu2_2", "relu3_3", "relu4_3"];

/**
 * Johnson et al. (2016)'s style layers: relu1_2, relu2_2, relu3_3, relu4_3 (aliases, accepted
 * by VGG-16 and VGG-19 networks alike).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { johnsonStyle } from "@perceptual/loss/vgg";
 * assert.equal(johnsonStyle.join(","), "relu1_2,relu2_2,relu3_3,relu4_3");
 * ```
 */
export const johnsonStyle: JohnsonStyleLayers = ["relu1_2", "relu2_2", "relu3_3", "relu4_3"];

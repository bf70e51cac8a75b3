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
 * import { VGG16_LAYERS } from "./layers.ts";
 * console.log(VGG16_LAYERS.length, VGG16_LAYERS[2]); // 18 "block1_pool"
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
 * import { VGG19_LAYERS } from "./layers.ts";
 * console.log(VGG19_LAYERS.length, VGG19_LAYERS.at(-1)); // 21 "block5_pool"
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
 * import { VGG16_LAYERS, type Vgg16Layer } from "./layers.ts";
 * const content: Vgg16Layer = "block3_conv3";
 * console.log(VGG16_LAYERS.indexOf(content)); // 8: the ninth layer in forward order
 * ```
 */
export type Vgg16Layer = typeof VGG16_LAYERS[number];

/**
 * A VGG-19 layer, Keras name: `"block1_conv1"` … `"block5_pool"`.
 *
 * @example
 * ```ts
 * import { VGG19_LAYERS, type Vgg19Layer } from "./layers.ts";
 * const deepest: Vgg19Layer = "block5_conv4";
 * console.log(VGG19_LAYERS.indexOf(deepest)); // 19: only block5_pool comes after it
 * ```
 */
export type Vgg19Layer = typeof VGG19_LAYERS[number];

/**
 * The PyTorch/Johnson alias of a Keras layer name: `blockB_convC` → `reluB_C` (the ReLU after
 * that conv, which is what Keras' conv layer outputs), `blockB_pool` → `poolB`.
 *
 * @example
 * ```ts
 * import { vggAlias, type VggAliasOf } from "./layers.ts";
 * const relu: VggAliasOf<"block4_conv2"> = "relu4_2";
 * const pool: VggAliasOf<"block4_pool"> = "pool4";
 * console.log(vggAlias("block4_conv2") === relu, vggAlias("block4_pool") === pool); // true true
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
 * import { canonicalVggLayer, type Vgg16Alias } from "./layers.ts";
 * const alias: Vgg16Alias = "relu3_3"; // the ReLU after block3_conv3
 * console.log(canonicalVggLayer("vgg16", alias)); // block3_conv3
 * ```
 */
export type Vgg16Alias = VggAliasOf<Vgg16Layer>;

/**
 * VGG-19 aliases: `"relu1_1"` … `"relu5_4"`, `"pool1"` … `"pool5"`.
 *
 * @example
 * ```ts
 * import { canonicalVggLayer, type Vgg19Alias } from "./layers.ts";
 * const alias: Vgg19Alias = "relu5_4"; // VGG-16 has no such layer
 * console.log(canonicalVggLayer("vgg19", alias)); // block5_conv4
 * console.log(canonicalVggLayer("vgg16", alias)); // undefined
 * ```
 */
export type Vgg19Alias = VggAliasOf<Vgg19Layer>;

/**
 * Any name VGG-16's networks accept: Keras names and aliases.
 *
 * @example
 * ```ts
 * import { isVggLayerName, type Vgg16LayerName } from "./layers.ts";
 * const names: Vgg16LayerName[] = ["block2_conv2", "relu2_2"]; // one layer, two spellings
 * console.log(names.every((n) => isVggLayerName("vgg16", n))); // true
 * ```
 */
export type Vgg16LayerName = Vgg16Layer | Vgg16Alias;

/**
 * Any name VGG-19's networks accept: Keras names and aliases.
 *
 * @example
 * ```ts
 * import { canonicalVggLayer, isVggLayerName, type Vgg19LayerName } from "./layers.ts";
 * const input: string = "relu3_4"; // from a command line, say
 * if (isVggLayerName("vgg19", input)) {
 *   const layer: Vgg19LayerName = input; // narrowed by the check
 *   console.log(canonicalVggLayer("vgg19", layer)); // block3_conv4
 * }
 * ```
 */
export type Vgg19LayerName = Vgg19Layer | Vgg19Alias;

/**
 * The two VGG architectures.
 *
 * @example
 * ```ts
 * import { type VggArchitecture, vggLayers } from "./layers.ts";
 * const arch: VggArchitecture = "vgg19";
 * console.log(vggLayers(arch).length, vggLayers("vgg16").length); // 21 18
 * ```
 */
export type VggArchitecture = "vgg16" | "vgg19";

/**
 * Every {@linkcode VggArchitecture}.
 *
 * @example
 * ```ts
 * import { VGG_ARCHITECTURES } from "./layers.ts";
 * console.log(VGG_ARCHITECTURES); // ["vgg16", "vgg19"]
 * ```
 */
export const VGG_ARCHITECTURES: readonly VggArchitecture[] = ["vgg16", "vgg19"];

/**
 * The Keras layer names of an architecture.
 *
 * @example
 * ```ts
 * import { type VggLayerOf, vggLayers } from "./layers.ts";
 * const convs: VggLayerOf<"vgg16">[] = vggLayers("vgg16").filter((l) => l.includes("conv"));
 * console.log(convs.length, convs.at(-1)); // 13 block5_conv3
 * ```
 */
export type VggLayerOf<A extends VggArchitecture> = A extends "vgg16" ? Vgg16Layer : Vgg19Layer;

/**
 * Every name (Keras names and aliases) an architecture accepts.
 *
 * @example
 * ```ts
 * import { canonicalVggLayer, type VggArchitecture, type VggLayerNameOf } from "./layers.ts";
 * const keras = <A extends VggArchitecture>(arch: A, name: VggLayerNameOf<A>) =>
 *   canonicalVggLayer(arch, name);
 * console.log(keras("vgg16", "relu1_2"), keras("vgg19", "relu3_4")); // block1_conv2 block3_conv4
 * ```
 */
export type VggLayerNameOf<A extends VggArchitecture> = A extends "vgg16" ? Vgg16LayerName
  : Vgg19LayerName;

/**
 * The Keras layer names of an architecture, in forward order.
 *
 * @example
 * ```ts
 * import { vggLayers } from "./layers.ts";
 * console.log(vggLayers("vgg19").includes("block3_conv4")); // true
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
 * import { vggAlias } from "./layers.ts";
 * console.log(vggAlias("block3_conv3"), vggAlias("block4_pool")); // "relu3_3" "pool4"
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
 * import { canonicalVggLayer } from "./layers.ts";
 * console.log(canonicalVggLayer("vgg16", "relu2_2")); // "block2_conv2"
 * console.log(canonicalVggLayer("vgg16", "relu3_4")); // undefined (VGG-19 only)
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
 * import { isVggLayerName } from "./layers.ts";
 * console.log(isVggLayerName("vgg16", "pool3"), isVggLayerName("vgg16", "block3_conv4")); // true false
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
 * import { beforePools, type Vgg16BeforePools } from "./layers.ts";
 * const layers: Vgg16BeforePools = beforePools("vgg16");
 * console.log(layers.slice(2)); // ["block3_conv3", "block4_conv3", "block5_conv3"] (fastai's)
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
 * import { beforePools, type Vgg19BeforePools } from "./layers.ts";
 * const layers: Vgg19BeforePools = beforePools("vgg19");
 * console.log(layers.slice(2)); // ["block3_conv4", "block4_conv4", "block5_conv4"]
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
 * import { beforePools, type HasVggArchitecture } from "./layers.ts";
 * const net: HasVggArchitecture<"vgg19"> = { architecture: "vgg19" }; // e.g. a Vgg19Network
 * console.log(beforePools(net)[2]); // block3_conv4, typed as that literal
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
 * import { beforePools } from "./layers.ts";
 * const [, , b3, b4, b5] = beforePools("vgg16");
 * console.log(b3, b4, b5); // "block3_conv3" "block4_conv3" "block5_conv3"
 * console.log(beforePools("vgg19")[2]); // "block3_conv4"
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
 * import { johnsonStyle, type JohnsonStyleLayers } from "./layers.ts";
 * const layers: JohnsonStyleLayers = johnsonStyle;
 * console.log(layers.join(" ")); // relu1_2 relu2_2 relu3_3 relu4_3
 * ```
 */
export type JohnsonStyleLayers = readonly ["relu1_2", "relu2_2", "relu3_3", "relu4_3"];

/**
 * Johnson et al. (2016)'s style layers: relu1_2, relu2_2, relu3_3, relu4_3 (aliases, accepted
 * by VGG-16 and VGG-19 networks alike).
 *
 * @example
 * ```ts
 * import { johnsonStyle } from "./layers.ts";
 * console.log(johnsonStyle.join(",")); // relu1_2,relu2_2,relu3_3,relu4_3
 * ```
 */
export const johnsonStyle: JohnsonStyleLayers = ["relu1_2", "relu2_2", "relu3_3", "relu4_3"];

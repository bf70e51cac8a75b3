/**
 * The contract every loss network fulfils: layer order, input convention, one-pass extraction.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import type { Owner } from "../lifetime/mod.ts";

/**
 * The value range the caller's images are in. The network converts from it to what it needs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type InputRange, RANGE_BOUNDS } from "@perceptual/loss/network";
 * const tanhOutputs: InputRange = "[-1,1]";
 * assert.deepEqual(RANGE_BOUNDS[tanhOutputs], [-1, 1]);
 * ```
 */
export type InputRange = "[0,1]" | "[0,255]" | "[-1,1]" | readonly [lo: number, hi: number];

/**
 * What a network's weights expect as input.
 *
 * - `caffe`: Keras VGG weights: RGB→BGR, 0–255, minus the ImageNet mean [103.939, 116.779, 123.68].
 * - `torch`: torchvision weights: RGB in [0,1], minus mean [0.485, 0.456, 0.406], divided by
 *   std [0.229, 0.224, 0.225].
 * - `none`: the network takes the caller's tensor as it is.
 * - `{ mean, std, scale?, bgr? }` ({@linkcode ChannelNormalisation}): any other weights — the
 *   image is brought to [0, scale] (default 1), then (x − mean) / std per RGB channel, then
 *   optionally reordered to BGR.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type Preprocessing, channelAffine } from "@perceptual/loss/network";
 * const torchvision: Preprocessing = "torch"; // (x − 0.485) / 0.229 on the red channel
 * const a = channelAffine({ preprocessing: torchvision, range: "[0,1]" });
 * assert.equal(a.scale[0].toFixed(3), "4.367");
 * assert.equal(a.offset[0].toFixed(3), "-2.118");
 * ```
 */
export type Preprocessing = "caffe" | "torch" | "none" | ChannelNormalisation;

/**
 * A custom input normalisation: the image in [0, `scale`] (default 1), minus `mean`, divided by
 * `std`, per RGB channel; `bgr` reorders the channels for weights trained on BGR.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { ChannelNormalisation } from "@perceptual/loss/network";
 * // CLIP's image normalisation
 * const clip: ChannelNormalisation = {
 *   mean: [0.48145466, 0.4578275, 0.40821073],
 *   std: [0.26862954, 0.26130258, 0.27577711],
 * };
 * assert.equal(clip.std.length, 3);
 * ```
 */
export interface ChannelNormalisation {
  /** Per-channel mean (RGB), in the units of [0, `scale`]. */
  readonly mean: readonly [number, number, number];
  /** Per-channel standard deviation (RGB), > 0. */
  readonly std: readonly [number, number, number];
  /** The value of white the weights expect (default 1; 255 for 8-bit conventions). */
  readonly scale?: number;
  /** Whether the weights read BGR. */
  readonly bgr?: boolean;
}

/**
 * The input convention of a loss network.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type InputConvention, channelAffine } from "@perceptual/loss/network";
 * const kerasOn8Bit: InputConvention = { preprocessing: "caffe", range: "[0,255]" };
 * const a = channelAffine(kerasOn8Bit); // x·scale + offset per channel, then RGB → BGR
 * assert.equal(a.scale[0], 1);
 * assert.ok(Math.abs(a.offset[0] + 123.68) < 1e-4);
 * assert.ok(a.bgr);
 * ```
 */
export interface InputConvention {
  /** The preprocessing its weights need. */
  readonly preprocessing: Preprocessing;
  /** The range the caller promised for its images. */
  readonly range: InputRange;
}

/**
 * A frozen network whose intermediate activations feed perceptual losses.
 *
 * `extract` computes exactly the requested layers in ONE forward pass that stops at the deepest of
 * them, and returns a record keyed by the names as requested (aliases included). The caller owns
 * the returned tensors. Inputs are NHWC with 1 or 3 channels in the convention's range.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initBackend } from "@perceptual/loss/backend";
 * import type { LossNetwork } from "@perceptual/loss/network";
 * import { vgg16 } from "@perceptual/loss/vgg";
 * function deepest<L extends string>(net: LossNetwork<L>, wanted: readonly L[]): L {
 *   return wanted.reduce((a, b) => net.depthOf(a) >= net.depthOf(b) ? a : b);
 * }
 * await initBackend("cpu");
 * using net = await vgg16({ weights: { random: 0 }, upTo: "block2_conv2" });
 * assert.equal(deepest(net, ["relu1_2", "block2_conv1", "block1_conv1"]), "block2_conv1");
 * ```
 */
export interface LossNetwork<L extends string> extends Owner {
  /** A readable name, e.g. `vgg16(imagenet)`. */
  readonly name: string;
  /**
   * The key terms use to name this network when a loss reads several (`lpips-alex`); terms
   * without a `network` read the main network given to `evaluate`.
   */
  readonly key?: string;
  /** The canonical layer names in forward order. */
  readonly layers: readonly L[];
  /** How inputs are interpreted and preprocessed. */
  readonly inputConvention: InputConvention;
  /** Position of a layer (or alias) in forward order; deeper layers have larger numbers. */
  depthOf(layer: L): number;
  /** The requested activations of `x`, from one forward pass truncated at the deepest of them. */
  extract<K extends L>(x: tf.Tensor4D, layers: readonly K[]): Record<K, tf.Tensor4D>;
}

/**
 * Whether `net` can give activations at `layer` (a name or an alias): a network built only up to
 * some layer knows deeper names (`depthOf` answers) but cannot compute them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type LossNetwork, networkHasLayer } from "@perceptual/loss/network";
 * const net = { layers: ["a", "b"], depthOf: (l: string) => ["a", "b", "c"].indexOf(l) };
 * assert.equal(networkHasLayer(net as unknown as LossNetwork<string>, "c"), false);
 * ```
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

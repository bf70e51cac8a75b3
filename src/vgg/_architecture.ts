/**
 * The VGG-16 / VGG-19 convolutional stacks as data: which op each layer is and its channels.
 *
 * @module
 */
import { type VggArchitecture, type VggLayerOf, vggLayers } from "./layers.ts";

/** A 3×3 'same' convolution followed by ReLU (Keras `Conv2D(activation="relu")`). */
export interface VggConvSpec {
  /** Always `"conv"`. */
  readonly kind: "conv";
  /** Keras layer name. */
  readonly name: string;
  /** Input channels. */
  readonly inChannels: number;
  /** Output channels (filters). */
  readonly outChannels: number;
}

/** A 2×2 max pool with stride 2, 'valid' padding (odd sizes are floored, as in Keras and PyTorch). */
export interface VggPoolSpec {
  /** Always `"pool"`. */
  readonly kind: "pool";
  /** Keras layer name. */
  readonly name: string;
}

/** One layer of a VGG stack. */
export type VggOpSpec = VggConvSpec | VggPoolSpec;

const WIDTHS = [64, 128, 256, 512, 512] as const;

/**
 * The layers of `arch` in forward order, with channel counts.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { vggOps } from "./_architecture.ts";
 * const ops = vggOps("vgg16");
 * assert.equal(ops.length, 18);
 * assert.deepEqual(
 *   ops[3],
 *   { kind: "conv", name: "block2_conv1", inChannels: 64, outChannels: 128 },
 * );
 * ```
 */
export function vggOps<A extends VggArchitecture>(arch: A): readonly VggOpSpec[] {
  let channels = 3;
  return vggLayers(arch).map((name: VggLayerOf<A>): VggOpSpec => {
    const conv = /^block(\d)_conv\d$/.exec(name);
    if (conv === null) return { kind: "pool", name };
    const out = WIDTHS[Number(conv[1]) - 1]!;
    const spec: VggConvSpec = { kind: "conv", name, inChannels: channels, outChannels: out };
    channels = out;
    return spec;
  });
}

/** The expected kernel shape of a conv layer: [3, 3, in, out] (HWIO, as Keras and tfjs store it). */
export function kernelShape(spec: VggConvSpec): [number, number, number, number] {
  return [3, 3, spec.inChannels, spec.outChannels];
}

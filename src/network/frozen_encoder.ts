/**
 * A frozen convolutional stack as plain data, for models that reuse a loss network's early
 * layers as their encoder (a pretrained encoder, as fastai's DynamicUnet uses ResNet's).
 *
 * @module
 */

/**
 * One frozen 3×3 'same' convolution followed by ReLU.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { FrozenConvWeights } from "@perceptual/loss/network";
 * const identityish: FrozenConvWeights = {
 *   name: "c1", inChannels: 1, outChannels: 1,
 *   kernel: Float32Array.from([0, 0, 0, 0, 1, 0, 0, 0, 0]), bias: new Float32Array(1),
 * };
 * assert.equal(identityish.kernel.length, 9);
 * ```
 */
export interface FrozenConvWeights {
  /** The layer's name in the source network (e.g. `block2_conv2`). */
  readonly name: string;
  /** Kernel, row-major HWIO `[3, 3, inChannels, outChannels]`. */
  readonly kernel: Float32Array;
  /** Bias `[outChannels]`. */
  readonly bias: Float32Array;
  /** Input channels. */
  readonly inChannels: number;
  /** Output channels. */
  readonly outChannels: number;
}

/**
 * A frozen encoder: an input affine, then stages of conv + ReLU layers with a 2×2 max pool
 * before every stage but the first. Each stage's last activation is a skip for a decoder, at
 * 1/2^stage of the input size.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { FrozenEncoder } from "@perceptual/loss/network";
 * const tiny: FrozenEncoder = {
 *   source: "hand-made",
 *   inputScale: [1, 1, 1],
 *   inputOffset: [0, 0, 0],
 *   stages: [[{
 *     name: "c1", inChannels: 3, outChannels: 1,
 *     kernel: new Float32Array(27).fill(1 / 27), bias: new Float32Array(1),
 *   }]],
 *   skipScales: [1],
 * };
 * assert.equal(tiny.stages.length, 1);
 * ```
 */
export interface FrozenEncoder {
  /** Where the weights came from, for model names and run configs. */
  readonly source: string;
  /**
   * Per RGB channel, what the first conv expects from an image in [0, 1]: `scale·x + offset`
   * (a grey image is used as R = G = B).
   */
  readonly inputScale: readonly [number, number, number];
  /** See `inputScale`. */
  readonly inputOffset: readonly [number, number, number];
  /** The stages in forward order; a 2×2 max pool precedes every stage after the first. */
  readonly stages: readonly (readonly FrozenConvWeights[])[];
  /**
   * A positive factor per stage for its skip (e.g. 1 / mean |activation| on some photos), so a
   * decoder without normalisation sees inputs of order 1; it does not change the stack itself.
   */
  readonly skipScales: readonly number[];
}

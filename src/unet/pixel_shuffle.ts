/**
 * Pixel shuffle (depth to space) built from reshape and transpose, so it has gradients on every
 * backend: `tf.depthToSpace` has none in TensorFlow.js 4.22.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { firstInput, firstShape, type Kwargs, type LayerArgs } from "./_layer_io.ts";

/**
 * Rearrange `[b, h, w, r·r·c]` into `[b, h·r, w·r, c]`, exactly as `tf.depthToSpace(x, r)`
 * (TensorFlow's DCR order: input channel `(i·r + j)·c + k` lands at row offset i, column offset j,
 * channel k), but differentiable.
 *
 * Only rank-4 transposes are used (some backends cap transpose rank).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { pixelShuffle } from "@perceptual/loss/unet";
 * await initBackend("cpu");
 * const y = pixelShuffle(tf.ones([1, 2, 2, 12]) as tf.Tensor4D, 2);
 * assert.deepEqual(y.shape, [1, 4, 4, 3]);
 * ```
 */
export function pixelShuffle(x: tf.Tensor4D, factor: number): tf.Tensor4D {
  const [b, h, w, depth] = x.shape;
  const r = factor;
  if (!Number.isInteger(r) || r < 1) {
    throw new RangeError(`pixelShuffle: factor must be a positive integer, got ${factor}`);
  }
  if (depth % (r * r) !== 0) {
    throw new RangeError(
      `pixelShuffle: ${depth} channels are not divisible by factor² = ${r * r}; the conv before ` +
        `the shuffle must output factor²·channels`,
    );
  }
  if (r === 1) return tf.clone(x);
  const c = depth / (r * r);
  return tf.tidy(() => {
    // [b·h, w, i, (j, c)] → [b·h, i, w, (j, c)] → rows (h, i) and columns (w, j) merge.
    const split = tf.reshape(x, [b * h, w, r, r * c]);
    const moved = tf.transpose(split, [0, 2, 1, 3]);
    return tf.reshape(moved, [b, h * r, w * r, c]);
  });
}

/** Arguments of {@linkcode PixelShuffle}. */
export interface PixelShuffleArgs extends LayerArgs {
  /** The upscale factor r: channels shrink by r², height and width grow by r. */
  readonly factor: number;
}

/**
 * The layer form of {@linkcode pixelShuffle}; serializes as `PerceptualPixelShuffle`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tfl from "@tensorflow/tfjs-layers";
 * import { PixelShuffle } from "@perceptual/loss/browser";
 * const x = tfl.input({ shape: [null, null, 12] });
 * const y = new PixelShuffle({ factor: 2 }).apply(x) as tfl.SymbolicTensor;
 * assert.deepEqual(y.shape, [null, null, null, 3]);
 * ```
 */
export class PixelShuffle extends tfl.layers.Layer {
  /** The name this layer serializes under. */
  static className = "PerceptualPixelShuffle";
  /** The upscale factor. */
  readonly factor: number;

  /** Build the layer. */
  constructor(args: PixelShuffleArgs) {
    super(args);
    this.factor = args.factor;
  }

  /** `[b, h, w, r²c]` → `[b, h·r, w·r, c]`; unknown sizes stay unknown. */
  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const s = firstShape(inputShape);
    const r = this.factor;
    const times = (n: number | null) => n === null ? null : n * r;
    const c = s[3] === null ? null : s[3]! / (r * r);
    return [s[0]!, times(s[1]!), times(s[2]!), c];
  }

  /** Apply the shuffle. */
  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    const x = firstInput(inputs);
    return pixelShuffle(x as tf.Tensor4D, this.factor);
  }

  /** The factor, plus the base layer's fields. */
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), factor: this.factor };
  }
}

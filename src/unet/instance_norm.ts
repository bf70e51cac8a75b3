/**
 * Instance normalisation (Ulyanov, Vedaldi & Lempitsky 2016): each image's channels normalised
 * over height and width, then a learnt scale and offset per channel. The usual choice for style
 * networks: unlike batch norm it keeps no running statistics (training and inference compute the
 * same thing) and one image's contrast cannot leak into another's.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { firstInput, firstShape, type Kwargs, type LayerArgs } from "./_layer_io.ts";

/** PyTorch's `InstanceNorm2d` default, so results compare with it. */
const DEFAULT_EPSILON = 1e-5;

/**
 * Options of {@linkcode InstanceNorm}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { InstanceNormArgs } from "@perceptual/loss/unet";
 * const args: InstanceNormArgs = { epsilon: 1e-5, name: "dec1_in1" };
 * assert.equal(args.epsilon, 1e-5);
 * ```
 */
export interface InstanceNormArgs extends LayerArgs {
  /** Added to the variance before the square root (default 1e-5, as PyTorch). */
  readonly epsilon?: number;
}

/**
 * `y = γ · (x − mean) / √(var + ε) + β`, mean and (biased) variance per image and channel over
 * height and width; γ starts at 1, β at 0 (PyTorch's `InstanceNorm2d(affine=True)`). NHWC in,
 * NHWC out; the same computation in training and inference.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { InstanceNorm } from "@perceptual/loss/unet";
 * await initBackend("cpu");
 * const layer = new InstanceNorm({ name: "in" });
 * const x = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);
 * const y = layer.apply(x) as tf.Tensor;
 * assert.deepEqual(
 *   Array.from(await y.data()).map((v) => v.toFixed(3)),
 *   ["-1.342", "-0.447", "0.447", "1.342"],
 * );
 * tf.dispose([x, y]);
 * layer.dispose();
 * ```
 */
export class InstanceNorm extends tfl.layers.Layer {
  /** The name this layer serializes under. */
  static className = "PerceptualInstanceNorm";
  /** Added to the variance before the square root. */
  readonly epsilon: number;
  #gamma: tfl.LayerVariable | undefined;
  #beta: tfl.LayerVariable | undefined;

  /** Build the layer. */
  constructor(args: InstanceNormArgs = {}) {
    super(args);
    this.epsilon = args.epsilon ?? DEFAULT_EPSILON;
    if (!(this.epsilon > 0)) {
      throw new RangeError(`InstanceNorm: epsilon must be > 0, got ${this.epsilon}`);
    }
  }

  /** One scale and one offset per channel. */
  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const shape = firstShape(inputShape);
    const channels = shape[shape.length - 1];
    if (shape.length !== 4 || typeof channels !== "number") {
      throw new RangeError(
        `InstanceNorm: needs NHWC input with a known channel count, got [${shape.join(", ")}]`,
      );
    }
    this.#gamma = this.addWeight("gamma", [channels], "float32", tfl.initializers.ones());
    this.#beta = this.addWeight("beta", [channels], "float32", tfl.initializers.zeros());
    this.built = true;
  }

  /** The same shape as the input. */
  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    return firstShape(inputShape);
  }

  /** Normalise over height and width per image and channel, then scale and shift. */
  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    const x = firstInput(inputs);
    return tf.tidy(() => {
      const { mean, variance } = tf.moments(x, [1, 2], true);
      const normalised = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, this.epsilon)));
      return tf.add(tf.mul(normalised, this.#gamma!.read()), this.#beta!.read());
    });
  }

  /** ε, plus the base layer's fields. */
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), epsilon: this.epsilon };
  }
}

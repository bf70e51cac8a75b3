/**
 * A pass-through layer that rejects input sizes the U-Net cannot take, with a message that says
 * why and what to do, instead of a shape error deep inside a concatenation.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { UNetInputSizeError } from "./errors.ts";
import { firstInput, firstShape, type Kwargs, type LayerArgs } from "./_layer_io.ts";

/** Arguments of {@linkcode SizeCheck}. */
export interface SizeCheckArgs extends LayerArgs {
  /** Height and width must be multiples of this (2^depth). */
  readonly divisor: number;
}

/**
 * Throw {@linkcode UNetInputSizeError} unless height and width are multiples of `divisor`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkInputSize } from "@perceptual/loss/unet";
 * checkInputSize(64, 48, 8); // fine
 * assert.throws(() => checkInputSize(30, 32, 8), /U-Net input size 30×32 .*not divisible by 8/);
 * ```
 */
export function checkInputSize(height: number, width: number, divisor: number): void {
  if (height % divisor !== 0 || width % divisor !== 0 || height === 0 || width === 0) {
    throw new UNetInputSizeError(height, width, divisor);
  }
}

/**
 * The identity on sizes that are multiples of `divisor`; serializes as `PerceptualSizeCheck`.
 * Placed right after the model's input, so the error comes before any computation.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tfl from "@tensorflow/tfjs-layers";
 * import { SizeCheck } from "@perceptual/loss/browser";
 * const x = tfl.input({ shape: [null, null, 3] });
 * const y = new SizeCheck({ divisor: 8 }).apply(x) as tfl.SymbolicTensor;
 * assert.deepEqual(y.shape, [null, null, null, 3]);
 * ```
 */
export class SizeCheck extends tfl.layers.Layer {
  /** The name this layer serializes under. */
  static className = "PerceptualSizeCheck";
  /** What height and width must be multiples of. */
  readonly divisor: number;

  /** Build the layer. */
  constructor(args: SizeCheckArgs) {
    super(args);
    this.divisor = args.divisor;
  }

  /** Same shape; a known size is checked already here. */
  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const s = firstShape(inputShape);
    const [, h, w] = s;
    if (h !== null && h !== undefined && w !== null && w !== undefined) {
      checkInputSize(h, w, this.divisor);
    }
    return s;
  }

  /** Check, then pass the input through (as a new tensor handle, so ownership stays simple). */
  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    const x = firstInput(inputs);
    checkInputSize(x.shape[1]!, x.shape[2]!, this.divisor);
    return tf.clone(x);
  }

  /** The divisor, plus the base layer's fields. */
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), divisor: this.divisor };
  }
}

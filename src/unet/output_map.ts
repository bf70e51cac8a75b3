/**
 * The U-Net's last step: add the residual to the (upsampled) input, and map into the output range.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { firstShape, type Kwargs, type LayerArgs } from "./_layer_io.ts";

/**
 * Arguments of {@linkcode OutputMap}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { OutputMap, type OutputMapArgs } from "@perceptual/loss/browser";
 * await initBackend("cpu");
 * const args: OutputMapArgs = { range: [0, 255], residual: false }; // a sigmoid onto [0, 255]
 * const x = tf.tensor4d([-100, 0, 100], [1, 1, 3, 1]);
 * const y = new OutputMap(args).apply(x) as tf.Tensor;
 * assert.deepEqual(Array.from(await y.data(), (v) => +v.toFixed(1)), [0, 127.5, 255]);
 * tf.dispose([x, y]);
 * ```
 */
export interface OutputMapArgs extends LayerArgs {
  /** `null` for an unbounded output, or `[low, high]`. */
  readonly range: readonly [number, number] | null;
  /** Whether a second input (the base the network's output is a residual over) is given. */
  readonly residual: boolean;
}

/**
 * How far inside the range the base is clamped before its logit is taken: keeps the logit
 * finite for base pixels exactly at the range's ends (so black stays learnable).
 */
const LOGIT_EPS = 1e-3;

/**
 * Combine the network's head `z` with the base `b` (the input, upsampled when scale > 1; a
 * 1-channel base broadcasts over the output channels):
 *
 * | range | residual | output |
 * |---|---|---|
 * | none | no | z |
 * | none | yes | b + z |
 * | [lo, hi] | no | lo + (hi − lo)·σ(z) |
 * | [lo, hi] | yes | lo + (hi − lo)·σ(z + logit(clamp((b − lo)/(hi − lo), ε, 1 − ε))) |
 *
 * With a range the residual lives in logit space, so the output never leaves the range and a
 * zero residual returns the base (up to ε). Serializes as `PerceptualOutputMap`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tfl from "@tensorflow/tfjs-layers";
 * import { OutputMap } from "@perceptual/loss/browser";
 * const z = tfl.input({ shape: [8, 8, 3] });
 * const b = tfl.input({ shape: [8, 8, 1] });
 * const y = new OutputMap({ range: [0, 1], residual: true }).apply([z, b]) as tfl.SymbolicTensor;
 * assert.deepEqual(y.shape, [null, 8, 8, 3]);
 * ```
 */
export class OutputMap extends tfl.layers.Layer {
  /** The name this layer serializes under. */
  static className = "PerceptualOutputMap";
  /** The output range, or null. */
  readonly range: readonly [number, number] | null;
  /** Whether the layer takes a base to add the residual to. */
  readonly residual: boolean;

  /** Build the layer. */
  constructor(args: OutputMapArgs) {
    super(args);
    this.range = args.range === null || args.range === undefined
      ? null
      : [args.range[0], args.range[1]];
    this.residual = args.residual;
  }

  /** The head's shape. */
  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    return firstShape(inputShape);
  }

  /** Apply the table above. */
  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    const list = Array.isArray(inputs) ? inputs : [inputs];
    const z = list[0]!;
    const base = this.residual ? list[1] : undefined;
    if (this.residual && base === undefined) {
      throw new Error("OutputMap with residual: true needs two inputs, [head, base]");
    }
    return tf.tidy(() => {
      if (this.range === null) return base === undefined ? tf.clone(z) : tf.add(z, base);
      const [lo, hi] = this.range;
      let logits = z;
      if (base !== undefined) {
        const unit = tf.clipByValue(tf.div(tf.sub(base, lo), hi - lo), LOGIT_EPS, 1 - LOGIT_EPS);
        logits = tf.add(z, tf.sub(tf.log(unit), tf.log1p(tf.neg(unit))));
      }
      return tf.add(tf.mul(tf.sigmoid(logits), hi - lo), lo);
    });
  }

  /** Range and residual flag, plus the base layer's fields. */
  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      range: this.range === null ? null : [...this.range],
      residual: this.residual,
    };
  }
}

/**
 * What the U-Net's custom layers need from tfjs-layers' loosely typed `Layer` API: the types of
 * its constructor arguments and `call` options, and the first input (or input shape) of a call
 * that may be handed one tensor or a list. Internal.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import type * as tfl from "@tensorflow/tfjs-layers";

/** A tfjs-layers `Layer`'s constructor arguments (name, trainable, …). */
export type LayerArgs = NonNullable<ConstructorParameters<typeof tfl.layers.Layer>[0]>;

/** The options tfjs-layers passes to `Layer.call` (training, mask). */
export type Kwargs = Parameters<tfl.layers.Layer["call"]>[1];

/** The shape of a layer's first input: `inputShape` itself, or its first entry for a list. */
export function firstShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
  return (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
}

/** A layer's first input: `inputs` itself, or its first entry for a list. */
export function firstInput(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
  return Array.isArray(inputs) ? inputs[0]! : inputs;
}

// The small trainable model several trainer and optimizer tests share.
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";

/**
 * conv (`filters`, ReLU) → batch norm → conv to 3 channels, on 8×8 RGB. With `init`, trainable
 * weight `i` of shape `shape` is `init(shape, i)` (the same weights every time); without it,
 * tfjs's own random initialisation.
 */
export function convBnConv(
  filters: number,
  init?: (shape: number[], i: number) => tf.Tensor,
): tfl.LayersModel {
  const inp = tfl.input({ shape: [8, 8, 3] });
  let h = tfl.layers.conv2d({ filters, kernelSize: 3, padding: "same", activation: "relu" })
    .apply(inp) as tfl.SymbolicTensor;
  h = tfl.layers.batchNormalization().apply(h) as tfl.SymbolicTensor;
  const out = tfl.layers.conv2d({ filters: 3, kernelSize: 3, padding: "same" })
    .apply(h) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: inp, outputs: out });
  if (init !== undefined) {
    tf.tidy(() => {
      const trainable = new Set(model.trainableWeights.map((w) => w.name));
      model.setWeights(
        model.weights.map((w, i) =>
          trainable.has(w.name) ? init(w.read().shape, i) : tf.clone(w.read())
        ),
      );
    });
  }
  return model;
}

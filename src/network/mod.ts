/**
 * The loss-network contract: what a network must offer a perceptual loss ({@linkcode LossNetwork}:
 * layer order, input convention, one-pass extraction), the input conventions and their range
 * bounds, layer selectors, and {@linkcode fromLayersModel} to use any tfjs model as one. The VGG
 * networks of the `vgg` module implement it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { layersBeforePools, RANGE_BOUNDS } from "@perceptual/loss/network";
 * assert.deepEqual(RANGE_BOUNDS["[0,255]"], [0, 255]);
 * assert.deepEqual(layersBeforePools({ layers: ["a", "pool1"] }), ["a"]);
 * ```
 *
 * @module
 */
export {
  type ChannelNormalisation,
  type InputConvention,
  type InputRange,
  type LossNetwork,
  networkHasLayer,
  type Preprocessing,
} from "./loss_network.ts";
export {
  applyAffine,
  assertInputRange,
  type ChannelAffine,
  channelAffine,
  checkInput,
  checkInputConvention,
  type InputCheckOptions,
  type InputCheckSettings,
  RANGE_BOUNDS,
  rangeBounds,
  rangeText,
} from "./preprocess.ts";
export { type HasLayers, layersBeforePools } from "./selectors.ts";
export type { FrozenConvWeights, FrozenEncoder } from "./frozen_encoder.ts";
export { fromLayersModel, type FromLayersModelOptions } from "./from_layers_model.ts";
export { InputRangeError, NetworkInputError, UnknownLayerError } from "./errors.ts";

/**
 * The VGG loss network types (`VggNetwork`, `Vgg16Network`, `Vgg19Network`); the object behind
 * them is made by `vgg16` / `vgg19`.
 *
 * @module
 */
import type { Precision } from "../backend/native/precision.ts";
import type * as tf from "@tensorflow/tfjs-core";
import type { HasVggArchitecture, VggArchitecture, VggLayerNameOf, VggLayerOf } from "./layers.ts";
import type { LossNetwork } from "../network/loss_network.ts";
import type { FrozenEncoder } from "../network/frozen_encoder.ts";

/**
 * A VGG-16 or VGG-19 loss network, as built by `vgg16` / `vgg19`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { vgg16 } from "@perceptual/loss/vgg";
 * await initBackend("cpu");
 * using net = await vgg16({ weights: { random: 1 }, upTo: "relu2_2" });
 * const f = net.extract(tf.zeros([1, 16, 16, 3]), ["relu1_2", "block2_conv2"]);
 * assert.equal(net.architecture, "vgg16");
 * assert.deepEqual(f.relu1_2.shape, [1, 16, 16, 64]);
 * assert.deepEqual(f.block2_conv2.shape, [1, 8, 8, 128]);
 * tf.dispose(f);
 * ```
 */
export interface VggNetwork<A extends VggArchitecture>
  extends LossNetwork<VggLayerNameOf<A>>, HasVggArchitecture<A> {
  /** The layers loaded, in forward order (a prefix of the architecture). */
  readonly layers: readonly VggLayerOf<A>[];
  /** Where the weights came from (`imagenet`, a path, `random:SEED`). */
  readonly weightsSource: string;
  /** Why loading stopped before the last layer, when it did (absent weights, `upTo`). */
  readonly truncation: string | undefined;
  /** The arithmetic of its convs: `"f32"`, or `"bf16"` (see `VggOptions.precision`). */
  readonly precision: Precision;
  /**
   * The convs up to and including `upTo` as a {@linkcode FrozenEncoder}, one stage per block
   * (copies of the weights, with this network's input preprocessing), for a model that uses
   * them as its encoder. With `calibration` images (RGB or grey, in the input range) each
   * stage's skip scale is 1 / the mean activation of its last conv on them; without, 1.
   *
   * @throws {UnknownLayerError} for a name that is not a layer of this network.
   * @throws {RangeError} for a pooling layer.
   * @throws {LayerNotLoadedError} when `upTo` was not loaded.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { initBackend } from "@perceptual/loss/backend";
   * import { vgg16 } from "@perceptual/loss/vgg";
   * await initBackend("cpu");
   * using net = await vgg16({ weights: { random: 0 }, upTo: "block2_conv2" });
   * const enc = await net.encoder("block2_conv2");
   * assert.deepEqual(
   *   enc.stages.map((s) => s.map((c) => c.name)),
   *   [["block1_conv1","block1_conv2"],["block2_conv1","block2_conv2"]],
   * );
   * ```
   */
  encoder(upTo: VggLayerNameOf<A>, calibration?: tf.Tensor4D): Promise<FrozenEncoder>;
}

/**
 * A VGG-16 loss network.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { vgg16, type Vgg16Network } from "@perceptual/loss/vgg";
 * await initBackend("cpu");
 * using net: Vgg16Network = await vgg16({ weights: { random: 0 }, upTo: "block2_pool" });
 * assert.equal(net.architecture, "vgg16");
 * assert.equal(net.layers.length, 6);
 * assert.equal(net.truncation, 'upTo: "block2_pool"');
 * ```
 */
export type Vgg16Network = VggNetwork<"vgg16">;

/**
 * A VGG-19 loss network.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { vgg19, type Vgg19Network } from "@perceptual/loss/vgg";
 * await initBackend("cpu");
 * using net: Vgg19Network = await vgg19({ weights: { random: 0 }, upTo: "relu3_4" });
 * assert.equal(net.depthOf("relu3_4"), 9);
 * assert.equal(net.depthOf("block1_conv1"), 0); // (forward positions)
 * ```
 */
export type Vgg19Network = VggNetwork<"vgg19">;

/**
 * Colourisation that cannot lose its input: the network predicts chroma only (full-range
 * YCbCr Cb and Cr, as in JPEG), and a weightless layer puts it on the input's luma, so the
 * output's BT.601 luma equals the input and a network that outputs zero returns the grey input.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import type { FrozenEncoder } from "../network/frozen_encoder.ts";
import { Builder, type Sym } from "./_builder.ts";
import { ChromaToRgb } from "./chroma_layer.ts";
import { decodeUNetConfigOrThrow, type UNetConfig } from "./config.ts";
import { MaxPool2x2 } from "./max_pool.ts";
import { registerLayers } from "./register.ts";
import { SizeCheck } from "./size_check.ts";
import { unet } from "./unet.ts";

/**
 * Options of {@linkcode colorizer} beyond the U-Net's config.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { vgg16 } from "@perceptual/loss/vgg";
 * import { colorizer, type ColorizerOptions } from "@perceptual/loss/unet";
 * await initBackend("cpu");
 * using net = await vgg16({ weights: { random: 0 }, upTo: "block2_conv2" });
 * const options: ColorizerOptions = { encoder: await net.encoder("block2_conv2") };
 * const model = colorizer({ baseFilters: 4 }, options);
 * assert.equal(model.getLayer("encoder_block2_conv2").trainable, false);
 * model.dispose();
 * ```
 */
export interface ColorizerOptions {
  /**
   * A frozen pretrained encoder (e.g. `await vggNet.encoder(3, photos)`: VGG blocks 1-3) in
   * place of the U-Net's trainable one, as fastai's DynamicUnet does: the decoder sees features
   * that already tell sky from skin from foliage. The depth is then the encoder's stages − 1.
   */
  readonly encoder?: FrozenEncoder;
}

/**
 * A colouriser: a U-Net from 1 grey channel to 2 chroma channels (Cb, Cr; no residual, no output
 * range), ending in a {@linkcode ChromaToRgb} layer on the input, so the model maps grey
 * [b, h, w, 1] to RGB [b, h, w, 3] whose luma is the input's. The head starts near zero, so an
 * untrained colouriser returns (nearly) the grey input and training only adds colour. The rest
 * of `config` is the U-Net's (depth, filters, norm, seed, name, ...). With `options.encoder`,
 * that frozen encoder replaces the U-Net's trainable one (layers `encoder_*`, `trainable: false`,
 * saved with the model) and the decoder has one level per encoder stage after the first.
 *
 * @throws {RangeError} when `config` asks for other channels, a scale, a residual or a range.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { colorizer } from "@perceptual/loss/unet";
 * await initBackend("cpu");
 * const model = colorizer({ depth: 2, baseFilters: 4, seed: 1 });
 * const rgb = model.predict(tf.zeros([1, 16, 16, 1])) as tf.Tensor;
 * assert.deepEqual(rgb.shape, [1, 16, 16, 3]);
 * tf.dispose(rgb);
 * model.dispose();
 * ```
 *
 * @example On a frozen pretrained encoder (here random VGG weights, for brevity)
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { vgg19 } from "@perceptual/loss/vgg";
 * import { colorizer } from "@perceptual/loss/unet";
 * await initBackend("cpu");
 * using net = await vgg19({ weights: { random: 0 }, upTo: "block3_conv1" });
 * const photos = tf.randomUniform([2, 32, 32, 1]) as tf.Tensor4D;
 * const model = colorizer({ baseFilters: 8, norm: "none" }, {
 *   encoder: await net.encoder("block3_conv1", photos), // skips scaled to mean 1 on `photos`
 * });
 * const rgb = model.predict(photos) as tf.Tensor;
 * assert.deepEqual(rgb.shape, [2, 32, 32, 3]);
 * tf.dispose([photos, rgb]);
 * model.dispose();
 * ```
 */
export function colorizer(
  config: Partial<UNetConfig> = {},
  options: ColorizerOptions = {},
): tfl.LayersModel {
  const fixed = {
    inChannels: 1,
    outChannels: 2,
    scale: 1,
    residual: false,
    outputRange: null,
  } as const;
  for (const [k, v] of Object.entries(fixed)) {
    const given = (config as Record<string, unknown>)[k];
    if (given !== undefined && given !== v) {
      throw new RangeError(
        `colorizer: ${k} is fixed to ${JSON.stringify(v)} (grey in, chroma out), got ` +
          `${JSON.stringify(given)}; leave it out of the config`,
      );
    }
  }
  const name = config.name ?? "colorizer";
  if (options.encoder !== undefined) {
    return encoderColorizer(
      decodeUNetConfigOrThrow({ ...config, ...fixed, depth: options.encoder.stages.length - 1 }),
      options.encoder,
      name,
    );
  }
  const core = unet({ ...config, ...fixed, name: `${name}_core` });
  const rgb = new ChromaToRgb({ name: "chroma_to_rgb" }).apply([
    core.outputs[0]!,
    core.inputs[0]!,
  ]) as tfl.SymbolicTensor;
  return tfl.model({ inputs: core.inputs, outputs: rgb, name });
}

/** A frozen conv layer of the encoder and the weights it gets once built. */
interface Frozen {
  readonly layer: tfl.layers.Layer;
  readonly kernel: Float32Array;
  readonly kernelShape: [number, number, number, number];
  readonly bias: Float32Array;
}

function scaled(values: Float32Array, factor: number): Float32Array {
  return factor === 1 ? values : values.map((v) => v * factor);
}

function encoderColorizer(c: UNetConfig, enc: FrozenEncoder, name: string): tfl.LayersModel {
  const n = enc.stages.length;
  if (n < 1 || enc.skipScales.length !== n || enc.skipScales.some((s) => !(s > 0))) {
    throw new RangeError(
      `colorizer: the encoder needs at least one stage and one positive skip scale per stage ` +
        `(got ${n} stages, skip scales ${JSON.stringify(enc.skipScales)})`,
    );
  }
  registerLayers();
  const input = tfl.input({ shape: [null, null, 1], name: "input" });
  const checked = n > 1
    ? new SizeCheck({ divisor: 2 ** (n - 1), name: "size_check" }).apply(input) as Sym
    : input;
  const frozen: Frozen[] = [];
  const freeze = (layer: tfl.layers.Layer, x: Sym, w: Omit<Frozen, "layer">): Sym => {
    frozen.push({ layer, ...w });
    return layer.apply(x) as Sym;
  };
  // Grey → the three channels the first conv expects (R = G = B = the grey value).
  let h = freeze(
    tfl.layers.conv2d({ filters: 3, kernelSize: 1, trainable: false, name: "encoder_input" }),
    checked,
    {
      kernel: Float32Array.from(enc.inputScale),
      kernelShape: [1, 1, 1, 3],
      bias: Float32Array.from(enc.inputOffset),
    },
  );
  const skips: Sym[] = [];
  enc.stages.forEach((stage, i) => {
    if (i > 0) h = new MaxPool2x2({ name: `encoder_pool${i}` }).apply(h) as Sym;
    stage.forEach((conv, j) => {
      // Each skip is scaled to order 1 by folding its factor into the stage's last conv, and
      // its inverse into the next stage's first conv (ReLU and max-pool commute with a positive
      // factor), so the stack computes exactly the source network's features.
      const out = j === stage.length - 1 ? enc.skipScales[i]! : 1;
      const back = j === 0 && i > 0 ? 1 / enc.skipScales[i - 1]! : 1;
      h = freeze(
        tfl.layers.conv2d({
          filters: conv.outChannels,
          kernelSize: 3,
          padding: "same",
          activation: "relu",
          trainable: false,
          name: `encoder_${conv.name}`,
        }),
        h,
        {
          kernel: scaled(conv.kernel, out * back),
          kernelShape: [3, 3, conv.inChannels, conv.outChannels],
          bias: scaled(conv.bias, out),
        },
      );
    });
    skips.push(h);
  });
  const b = new Builder(c);
  const x = b.decoder(skips[n - 1]!, skips.slice(0, n - 1));
  const rgb = new ChromaToRgb({ name: "chroma_to_rgb" }).apply([b.head(x), input]) as Sym;
  const model = tfl.model({ inputs: input, outputs: rgb, name });
  for (const f of frozen) {
    const weights = [tf.tensor4d(f.kernel, f.kernelShape), tf.tensor1d(f.bias)];
    try {
      f.layer.setWeights(weights);
    } finally {
      tf.dispose(weights);
    }
  }
  return model;
}

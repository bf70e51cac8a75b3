/**
 * Colourisation that cannot lose its input: the network predicts chroma only (full-range
 * YCbCr Cb and Cr, as in JPEG), and a weightless layer puts it on the input's luma, so the
 * output's BT.601 luma equals the input and a network that outputs zero returns the grey input.
 *
 * @module
 */
import * as tfl from "@tensorflow/tfjs-layers";
import { ChromaToRgb } from "./chroma_layer.ts";
import type { UNetConfig } from "./config.ts";
import { unet } from "./unet.ts";

/**
 * A colouriser: a U-Net from 1 grey channel to 2 chroma channels (Cb, Cr; no residual, no output
 * range), ending in a {@linkcode ChromaToRgb} layer on the input, so the model maps grey
 * [b, h, w, 1] to RGB [b, h, w, 3] whose luma is the input's. The head starts near zero, so an
 * untrained colouriser returns (nearly) the grey input and training only adds colour. The rest
 * of `config` is the U-Net's (depth, filters, norm, seed, name, ...).
 *
 * @throws {RangeError} when `config` asks for other channels, a scale, a residual or a range.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/mod.ts";
 * import { colorizer } from "./colorizer.ts";
 * await initBackend("cpu");
 * const model = colorizer({ depth: 2, baseFilters: 4, seed: 1 });
 * const rgb = model.predict(tf.zeros([1, 16, 16, 1])) as tf.Tensor;
 * console.log(rgb.shape); // [1, 16, 16, 3]
 * tf.dispose(rgb);
 * model.dispose();
 * ```
 */
export function colorizer(config: Partial<UNetConfig> = {}): tfl.LayersModel {
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
  const core = unet({ ...config, ...fixed, name: `${name}_core` });
  const rgb = new ChromaToRgb({ name: "chroma_to_rgb" }).apply([
    core.outputs[0]!,
    core.inputs[0]!,
  ]) as tfl.SymbolicTensor;
  return tfl.model({ inputs: core.inputs, outputs: rgb, name });
}

/**
 * The U-Net builder.
 *
 * Where the super-resolution scale-up happens: the whole U-Net runs at the input (low)
 * resolution, and a tail of upsample blocks (the configured mode, ×2 twice for scale 4, ×3 once
 * for scale 3) brings the features to the output size just before the head. That costs about
 * scale² less than upsampling the input first (SRCNN/VDSR style), and is the ESPCN/EDSR layout.
 * The head's output is a residual over an interpolated copy of the input (bicubic by default),
 * computed by a weightless layer with gradients, so an untrained model already returns roughly
 * the interpolation and training only learns the detail.
 *
 * @module
 */
import * as tfl from "@tensorflow/tfjs-layers";
import { Builder, type Sym } from "./_builder.ts";
import { decodeUNetConfigOrThrow, type UNetConfig } from "./config.ts";
import { MaxPool2x2 } from "./max_pool.ts";
import { OutputMap } from "./output_map.ts";
import { registerLayers } from "./register.ts";
import { Upsample } from "./resize.ts";
import { SizeCheck } from "./size_check.ts";

function tailFactors(scale: number): number[] {
  return scale === 4 ? [2, 2] : scale === 1 ? [] : [scale];
}

/**
 * Build a U-Net as a tfjs-layers functional model; see {@linkcode UNetConfig} for the fields.
 *
 * The model takes `[batch, h, w, inChannels]` for any h and w that are multiples of 2^depth
 * (others raise `UNetInputSizeError` naming the size and the divisor) and returns
 * `[batch, h·scale, w·scale, outChannels]`. Layers: a size check; per level two 3×3 convs
 * (+ batch norm) + activation, then 2×2 max-pool; a bottleneck block; per level an upsample
 * block, concatenation with the skip, and a conv block; the super-resolution tail; the head; and
 * the residual/range mapping. Layer names are fixed (`enc1_conv1`, `dec1_bn2`, `head`, ...).
 *
 * @param config a full config or any part of one (the rest from `defaultUNetConfig`); it is
 *   validated like JSON.
 * @throws {DecodeError} for an invalid config, naming each bad field.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { parameterCount, unet } from "@perceptual/loss/unet";
 * await initBackend("cpu");
 * const model = unet({ depth: 2, baseFilters: 8, scale: 2, seed: 1 });
 * const y = model.predict(tf.zeros([1, 16, 16, 3])) as tf.Tensor;
 * assert.deepEqual(y.shape, [1, 32, 32, 3]);
 * assert.ok(parameterCount(model) > 0);
 * y.dispose();
 * model.dispose();
 * ```
 */
export function unet(config: Partial<UNetConfig> = {}): tfl.LayersModel {
  const c = decodeUNetConfigOrThrow(config);
  registerLayers();
  const b = new Builder(c);
  const input = tfl.input({ shape: [null, null, c.inChannels], name: "input" });
  const x0 = c.depth > 0
    ? new SizeCheck({ divisor: 2 ** c.depth, name: "size_check" }).apply(input) as Sym
    : input;

  const skips: Sym[] = [];
  let x = x0;
  for (let level = 1; level <= c.depth; level++) {
    x = b.convBlock(x, c.baseFilters * 2 ** (level - 1), `enc${level}`);
    skips.push(x);
    // Not tfl.layers.maxPooling2d: wasm's MaxPoolGrad kernel is wrong (see max_pool.ts).
    x = new MaxPool2x2({ name: `pool${level}` }).apply(x) as Sym;
  }
  x = b.decoder(x, skips);
  tailFactors(c.scale).forEach((factor, i) => {
    x = b.upBlock(x, c.baseFilters, factor, `tail${i + 1}`);
  });
  let y = b.head(x);

  if (c.residual || c.outputRange !== null) {
    const inputs: Sym[] = [y];
    if (c.residual) {
      inputs.push(
        c.scale > 1
          ? new Upsample({
            factor: c.scale,
            method: c.residualUpsample,
            name: "residual_upsample",
          }).apply(x0) as Sym
          : x0,
      );
    }
    y = new OutputMap({ range: c.outputRange, residual: c.residual, name: "output" })
      .apply(inputs.length === 1 ? inputs[0]! : inputs) as Sym;
  }
  return tfl.model({ inputs: input, outputs: y, name: c.name });
}

/**
 * The number of weights in a model: all of them, or only the trainable or non-trainable ones
 * (batch norm's moving mean and variance are non-trainable).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { parameterCount, unet } from "@perceptual/loss/unet";
 * await initBackend("cpu");
 * const model = unet({ depth: 1, baseFilters: 4 });
 * const [all, trainable] = [parameterCount(model), parameterCount(model, "trainable")];
 * assert.equal(all, trainable + parameterCount(model, "nonTrainable"));
 * assert.ok(all > trainable); // batch norm's moving statistics are not trained
 * model.dispose();
 * ```
 */
export function parameterCount(
  model: tfl.LayersModel,
  which: "all" | "trainable" | "nonTrainable" = "all",
): number {
  const weights = which === "all"
    ? model.weights
    : which === "trainable"
    ? model.trainableWeights
    : model.nonTrainableWeights;
  return weights.reduce((n, w) => n + w.shape.reduce((a: number, d) => a * (d ?? 0), 1), 0);
}

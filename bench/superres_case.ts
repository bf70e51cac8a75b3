/**
 * The main job's training step as a benchmark case: `examples/superres.ts` at its defaults — the
 * ×2 U-Net (depth 2, 32 filters, pixel shuffle, bicubic residual) on 4×32² → 4×64² crops, the
 * embedded ImageNet VGG-19 blocks 1–3 (block1_conv2, block2_conv2, block3_conv4) with a pixel,
 * three feature and three Gram L1 terms — built from the library's pieces the example uses:
 * `pickLossNetwork`, `decodeLossSpecOrThrow`, `evaluate`, `unet`, and the trainer's own step
 * (`optimizerStep`: forward, loss, gradients, the finite checks and the read-back, tfjs's Adam
 * fused on native). The U-Net and loss settings are the ones a default run writes to its
 * config.json, kept in superres_case.json.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { EMBEDDED_VGG19_DIR, pickLossNetwork } from "../src/experiment/mod.ts";
import { decodeLossSpecOrThrow, evaluate } from "../src/loss/mod.ts";
import { unet } from "../src/unet/mod.ts";
import type { UNetConfig } from "../src/unet/mod.ts";
import { layersTrainable, oneCycle } from "../src/train/mod.ts";
import { optimizerStep } from "../src/train/_step.ts";

/** What superres_case.json holds (see its `note`). */
interface SuperresCaseConfig {
  readonly batch: number;
  readonly crop: number;
  readonly lrMax: number;
  readonly layers: string[];
  readonly unet: Partial<UNetConfig>;
  readonly loss: unknown;
}

/** A prepared case (the same shape as cases.ts' `PreparedCase`). */
export interface SuperresCase {
  run(): Promise<void>;
  dispose(): void;
}

/**
 * Build the main job's step on the active backend; `run` does one training step at the
 * one-cycle schedule's peak learning rate (its momentum there) and waits for its values.
 */
export async function prepareSuperres(): Promise<SuperresCase> {
  const config = JSON.parse(
    await Deno.readTextFile(new URL("./superres_case.json", import.meta.url)),
  ) as SuperresCaseConfig;
  const picked = await pickLossNetwork({
    vgg: EMBEDDED_VGG19_DIR,
    net: "vgg19",
    layers: config.layers,
    seed: 0,
    checkRange: true,
  });
  const loss = evaluate(decodeLossSpecOrThrow(config.loss, picked.net), picked.net);
  const model = unet(config.unet);
  const trainable = layersTrainable(model);
  const optimizer = tf.train.adam(config.lrMax);
  const schedule = oneCycle({ lrMax: config.lrMax });
  const { batch, crop } = config;
  const scale = config.unet.scale ?? 2;
  const input = tf.randomUniform([batch, crop / scale, crop / scale, 3], 0, 1, "float32", 8);
  const target = tf.randomUniform([batch, crop, crop, 3], 0, 1, "float32", 9);
  let number = 0;
  return {
    run: async () => {
      number++;
      await optimizerStep(trainable, loss, optimizer, {
        input: input as tf.Tensor4D,
        target: target as tf.Tensor4D,
      }, { number, lr: schedule(50, 200), momentum: schedule.momentum?.(50, 200) });
    },
    dispose: () => {
      tf.dispose([input, target]);
      optimizer.dispose();
      model.dispose();
      picked.net.dispose();
    },
  };
}

/**
 * Colourisation: a U-Net learns to turn grayscale photos into colour ones, trained with a
 * perceptual (VGG feature) loss plus a pixel loss.
 *
 * ```sh
 * deno run -A examples/colorize.ts            # the shipped photos, a few minutes on 2 cores
 * deno run -A examples/colorize.ts --help     # every flag
 * # real ImageNet features (VGG-19 blocks 1-3; the default layers block2_conv2, block3_conv4 fit):
 * deno run -A examples/colorize.ts --net vgg19 --vgg ../shared/data/vgg19_imagenet_blocks1-3
 * ```
 *
 * Writes `runs/colorize-<time>/` (or `--out`): `config.json`, `metrics.csv`, side-by-side
 * samples `samples/step-*.png` (gray | model | truth) on held-out crops, `checkpoints/`, the
 * final `model/`, and `results.json` with the final table (model vs the gray input). Training
 * crops come from the left three quarters of each photo; the held-out crops (samples, the final
 * table) from the right quarter.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type * as tfl from "@tensorflow/tfjs-layers";
import { concatAll } from "fp-ts/lib/Monoid.js";
import {
  grayscaleDegradation,
  imagePairs,
  type Pixels,
  stackPixels,
  toGrayscale,
} from "../src/data/mod.ts";
import { scope } from "../src/lifetime/mod.ts";
import {
  calibrate,
  concatLoss,
  encodeLossSpec,
  evaluate,
  feature,
  type LossFn,
  LossMonoid,
  pixel,
} from "../src/loss/mod.ts";
import { psnr, ssim } from "../src/metrics/mod.ts";
import { oneCycle } from "../src/train/mod.ts";
import { unet } from "../src/unet/mod.ts";
import { command, type FlagValues, list, UsageError, weight } from "./common/cli.ts";
import { sharedFlags } from "./common/flags.ts";
import { centreCrop, sideBySide } from "./common/images.ts";
import { openSession, stepsDone, train, unetConfig } from "./common/session.ts";
import { heldOutCrops, loadSplitImages } from "./common/split_images.ts";

const FLAGS = {
  ...sharedFlags({
    prefix: "colorize",
    data: "folder of colour training photos (PNG/JPEG)",
    steps: "200",
    lr: "2e-3",
    crop: "training crop size in pixels (a multiple of 2^depth)",
    depth: "3",
    filters: "16",
    samples: ["4", "held-out crops in the samples and the final table"],
    sampleEvery: ["100", "write samples (and a checkpoint) every N steps"],
  }),
  layers: list("L1,L2", "feature-loss layers (default: block2_conv2 and the last conv of block 3)"),
  "feature-weight": weight("1", "weight of the feature loss (features normalised to mean |a| = 1)"),
  "pixel-weight": weight("1", "weight of the L1 pixel loss"),
};

/** The validated command line. */
export type ColorizeOptions = FlagValues<typeof FLAGS>;

/**
 * `HELP` is what `--help` prints; `parseOptions(args)` validates a command line (throwing a
 * `UsageError` that names every bad flag); `main(args)` runs the example and returns its exit
 * status (0 done, 1 failed, 2 bad usage), printing errors as one line. Tests call all three.
 */
export const { help: HELP, parse: parseOptions, main } = command(
  "colorize",
  "Trains a 1→3-channel U-Net to colourise grayscale photos with a VGG feature loss + L1 pixel loss.",
  FLAGS,
  run,
);

/** Whether an RGB image has colour at all (a grey photo teaches a colouriser nothing). */
function hasColour(p: Pixels): boolean {
  const d = p.data;
  for (let i = 0; i < d.length; i += 3) {
    if (Math.abs(d[i]! - d[i + 1]!) > 2 / 255 || Math.abs(d[i + 1]! - d[i + 2]!) > 2 / 255) {
      return true;
    }
  }
  return false;
}

async function run(o: ColorizeOptions): Promise<void> {
  if (o.crop % 2 ** o.depth !== 0) {
    throw new UsageError(`--crop ${o.crop} is not a multiple of 2^depth = ${2 ** o.depth}`);
  }
  const images = await loadSplitImages(
    o.data,
    o.crop,
    (p) => hasColour(p) ? undefined : "has no colour",
  );
  const layers = o.layers.length > 0
    ? o.layers
    : ["block2_conv2", o.net === "vgg16" ? "block3_conv3" : "block3_conv4"];
  using session = await openSession("colorize", o, layers);
  const { net, runDir } = session;

  const heldTarget = stackPixels(heldOutCrops(images, o.samples, o.crop));
  const heldInput = toGrayscale(heldTarget);
  // Calibrated on the centre of each training part: every layer's activations get mean |a| = 1,
  // so the weights mean the same with ImageNet or random VGG weights.
  const calibration = stackPixels(images.map((i) => centreCrop(i.train, 1, o.crop, o.crop)));
  const unetOptions = unetConfig(o, { inChannels: 1, name: "colorize" });
  const model = unet(unetOptions);
  try {
    const features = concatAll(LossMonoid)(
      layers.map((l) => feature(l, { distance: "l1", weight: o["feature-weight"] })),
    );
    const loss = concatLoss(
      await calibrate(features, net, calibration),
      pixel({ distance: "l1", weight: o["pixel-weight"] }),
    );
    const lossFn = evaluate(loss, net);
    const result = await train(session, {
      trainee: { model },
      loss: lossFn,
      schedule: oneCycle({ lrMax: o.lr }),
      data: imagePairs({
        images: images.map((i) => i.train),
        crop: o.crop,
        batchSize: o.batch,
        seed: o.seed,
        degrade: grayscaleDegradation(),
      }),
      steps: o.steps,
      config: session.config({
        loss: encodeLossSpec(loss),
        unet: unetOptions,
        data: images.map((i) => i.path),
      }),
      validation: { data: () => [{ input: tf.clone(heldInput), target: tf.clone(heldTarget) }] },
      samples: {
        batch: { input: heldInput, target: heldTarget },
        count: o.samples,
        dir: "samples",
        image: (e) => sideBySide(e.input, e.prediction, e.target),
      },
    });
    const table = await report(model, lossFn, heldInput, heldTarget, session.random);
    const results = { heldOutCrops: o.samples, randomLossNetwork: session.random, table };
    await Deno.writeTextFile(`${runDir}/results.json`, JSON.stringify(results, null, 2) + "\n");
    console.log(
      `${stepsDone(result)}; wrote ${runDir}/ (config.json, metrics.csv, samples/, ` +
        "checkpoints/, model/, results.json)",
    );
  } finally {
    model.dispose();
    tf.dispose([heldInput, heldTarget, calibration]);
  }
}

/** Prints model vs the gray input on the held-out crops: PSNR, SSIM and each loss term. */
async function report(
  model: tfl.LayersModel,
  lossFn: LossFn,
  input: tf.Tensor4D,
  target: tf.Tensor4D,
  randomVgg: boolean,
): Promise<Record<string, Record<string, string>>> {
  const prediction = scope(() => model.predict(input) as tf.Tensor4D);
  const gray = tf.tile(input, [1, 1, 1, 3]);
  try {
    const rows: [string, tf.Tensor4D][] = [["gray input", gray], ["model", prediction]];
    const table: Record<string, Record<string, string>> = {};
    for (const [name, x] of rows) {
      let names: string[] = [];
      const terms = scope(() => {
        const r = lossFn(x, target);
        names = ["loss", ...Object.keys(r.terms)];
        return tf.stack([r.total, ...Object.values(r.terms)]);
      });
      const values = await terms.data();
      terms.dispose();
      table[name] = {
        "PSNR (dB)": (await psnr(x, target)).toFixed(2),
        SSIM: (await ssim(x, target)).toFixed(4),
        ...Object.fromEntries(names.map((n, i) => [n, values[i]!.toPrecision(4)])),
      };
    }
    console.log(
      `held-out crops (${target.shape[0]} of ${target.shape[1]}x${target.shape[2]}), RGB:`,
    );
    console.table(table);
    if (randomVgg) console.log("(loss terms from a RANDOM-weight VGG: not ImageNet features)");
    return table;
  } finally {
    tf.dispose([prediction, gray]);
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));

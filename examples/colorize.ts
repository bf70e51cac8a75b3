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
 * final `model/`, and `results.json` with the final table (model vs the gray input). Training crops come from the left three quarters of each photo; the held-out
 * crops (samples, the final table) from the right quarter.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type * as tfl from "@tensorflow/tfjs-layers";
import * as t from "io-ts";
import { describeBackend, initBackend } from "../src/backend/mod.ts";
import {
  cropPixels,
  grayscaleDegradation,
  imagePairs,
  type Pixels,
  saveImage,
  stackPixels,
  toGrayscale,
} from "../src/data/mod.ts";
import { scope } from "../src/lifetime/mod.ts";
import {
  calibrateAsync,
  concatLoss,
  emptyLoss,
  encodeLossSpec,
  evaluate,
  feature,
  type Loss,
  type LossFn,
  pixel,
} from "../src/loss/mod.ts";
import { psnr, ssim } from "../src/metrics/mod.ts";
import { oneCycle, trainer } from "../src/train/mod.ts";
import { saveModel, unet, type UNetConfig } from "../src/unet/mod.ts";
import {
  BackendFlag,
  Depth,
  type FlagSpec,
  helpText,
  LayerList,
  NetFlag,
  NonNegativeInt,
  NonNegativeNumber,
  parseFlags,
  PositiveInt,
  PositiveNumber,
  runMain,
  timestamp,
  UsageError,
} from "./common/cli.ts";
import { heldOutCrops, loadSplitImages } from "./common/split_images.ts";
import { sideBySide } from "./common/images.ts";
import { openLossNetwork } from "./common/loss_network.ts";

const PROGRAM = "colorize";

/** Every flag: its kind, default (as typed on the command line) and help text. */
const FLAGS: Record<string, FlagSpec> = {
  data: {
    type: "string",
    default: "examples/data",
    arg: "DIR",
    help: "folder of colour training photos (PNG/JPEG)",
  },
  steps: { type: "string", default: "200", arg: "N", help: "training steps" },
  batch: { type: "string", default: "4", arg: "N", help: "crops per step" },
  crop: {
    type: "string",
    default: "64",
    arg: "N",
    help: "training crop size in pixels (a multiple of 2^depth)",
  },
  lr: {
    type: "string",
    default: "2e-3",
    arg: "X",
    help: "peak learning rate (one-cycle schedule, Adam)",
  },
  backend: {
    type: "string",
    default: "auto",
    arg: "NAME",
    help: "auto | tensorflow | webgpu | native | wasm | cpu",
  },
  vgg: {
    type: "string",
    default: "auto",
    arg: "SRC",
    help:
      "loss network weights: auto (ImageNet if cached/downloadable, else random) | random | PATH (.h5 or tfjs dir)",
  },
  net: { type: "string", default: "vgg16", arg: "NAME", help: "vgg16 | vgg19" },
  layers: {
    type: "string",
    default: "",
    arg: "L1,L2",
    help: "feature-loss layers (default: block2_conv2 and the last conv of block 3)",
  },
  "feature-weight": {
    type: "string",
    default: "1",
    arg: "X",
    help: "weight of the feature loss (features normalised to mean |a| = 1)",
  },
  "pixel-weight": { type: "string", default: "1", arg: "X", help: "weight of the L1 pixel loss" },
  depth: { type: "string", default: "3", arg: "N", help: "U-Net depth (down-sampling levels)" },
  filters: { type: "string", default: "16", arg: "N", help: "U-Net base filters" },
  samples: {
    type: "string",
    default: "4",
    arg: "N",
    help: "held-out crops in the samples and the final table",
  },
  "sample-every": {
    type: "string",
    default: "100",
    arg: "N",
    help: "write samples (and a checkpoint) every N steps",
  },
  seed: {
    type: "string",
    default: "0",
    arg: "N",
    help: "seed for data order, crops and initial weights",
  },
  out: {
    type: "string",
    default: "",
    arg: "DIR",
    help: "run directory (default runs/colorize-<date>-<time>)",
  },
  resume: { type: "boolean", help: "continue the run in --out from its latest checkpoint" },
  quiet: { type: "boolean", help: "no progress bar" },
  help: { type: "boolean", help: "print this help" },
};

/** The help text `--help` prints. */
export const HELP: string = helpText(
  "deno run -A examples/colorize.ts [flags]",
  "Trains a 1→3-channel U-Net to colourise grayscale photos with a VGG feature loss + L1 pixel loss.",
  FLAGS,
);

// ---- validation with io-ts: strings from the command line → typed options -------------------

const Options = t.type({
  data: t.string,
  steps: PositiveInt,
  batch: PositiveInt,
  crop: PositiveInt,
  lr: PositiveNumber,
  backend: BackendFlag,
  vgg: t.string,
  net: NetFlag,
  layers: LayerList,
  "feature-weight": NonNegativeNumber,
  "pixel-weight": NonNegativeNumber,
  depth: Depth,
  filters: PositiveInt,
  samples: PositiveInt,
  "sample-every": PositiveInt,
  seed: NonNegativeInt,
  out: t.string,
  resume: t.boolean,
  quiet: t.boolean,
});

/** The validated command line. */
export type ColorizeOptions = t.TypeOf<typeof Options>;

/**
 * Parse and validate the command line. Returns `"help"` for `--help`.
 *
 * @throws {UsageError} naming the bad flag and what it needs.
 */
export function parseOptions(args: readonly string[]): ColorizeOptions | "help" {
  return parseFlags(args, FLAGS, Options);
}

/**
 * The example's entry point, callable from tests: parses `args`, trains, writes the run
 * directory, prints the final table. Returns the exit status (0 done, 1 failed, 2 bad usage)
 * and prints one-line errors instead of throwing.
 */
export function main(args: string[]): Promise<number> {
  return runMain(PROGRAM, HELP, () => parseOptions(args), run);
}

// ---- the run ----------------------------------------------------------------------------------

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
  if (o.resume && o.out === "") {
    throw new UsageError("--resume needs --out DIR: the run directory to continue");
  }
  if (o.crop % 2 ** o.depth !== 0) {
    throw new UsageError(`--crop ${o.crop} is not a multiple of 2^depth = ${2 ** o.depth}`);
  }
  const runDir = o.out !== "" ? o.out : `runs/colorize-${timestamp()}`;
  const images = await loadSplitImages(
    o.data,
    o.crop,
    (p) => hasColour(p) ? undefined : "has no colour",
  );

  const choice = await initBackend(o.backend === "auto" ? undefined : o.backend);
  console.log(describeBackend(choice));

  const layers = o.layers.length > 0
    ? o.layers
    : ["block2_conv2", o.net === "vgg16" ? "block3_conv3" : "block3_conv4"];
  // The range check reads values back synchronously, which webgpu cannot do under Deno.
  using lossNet = await openLossNetwork(o.net, o.vgg, layers, o.seed, choice.name !== "webgpu");
  console.log(lossNet.description);

  const samplePixels = heldOutCrops(images, o.samples, o.crop);
  const heldTarget = stackPixels(samplePixels);
  const heldInput = toGrayscale(heldTarget);
  let model: tfl.LayersModel | undefined;
  try {
    // Calibrated on training crops (the centre of each training part): every layer's
    // activations get mean |a| = 1, so the weights mean the same with ImageNet or random VGG
    // weights.
    const features = layers.reduce<Loss<string>>(
      (acc, l) => concatLoss(acc, feature(l, { distance: "l1", weight: o["feature-weight"] })),
      emptyLoss,
    );
    const calibration = stackPixels(
      images.map(({ train: p }) =>
        cropPixels(p, (p.height - o.crop) >> 1, (p.width - o.crop) >> 1, o.crop, o.crop)
      ),
    );
    let calibrated: Loss<string>;
    try {
      calibrated = await calibrateAsync(features, lossNet.net, calibration);
    } finally {
      calibration.dispose();
    }
    const loss = concatLoss(calibrated, pixel({ distance: "l1", weight: o["pixel-weight"] }));
    const lossFn = evaluate(loss, lossNet.net, { checkFinite: false });

    const unetConfig: Partial<UNetConfig> = {
      inChannels: 1,
      outChannels: 3,
      depth: o.depth,
      baseFilters: o.filters,
      // Batch norm's running statistics lag behind in a run of a few hundred steps (inference
      // uses them), and it doubles the U-Net's training time on wasm.
      norm: "none",
      // pixelShuffle: 4-5x faster to train on wasm than "bilinear" (measured at 4x64x64, depth 3).
      upsample: "pixelShuffle",
      outputRange: [0, 1],
      residual: true,
      seed: o.seed,
      name: "colorize",
    };
    model = unet(unetConfig);
    const config = {
      example: "colorize",
      options: o,
      backend: choice.name,
      lossNetwork: lossNet.description,
      randomLossNetwork: lossNet.random,
      loss: encodeLossSpec(loss),
      unet: unetConfig,
      data: images.map((i) => i.path),
    };
    using training = trainer({
      model,
      loss: lossFn,
      schedule: oneCycle({ lrMax: o.lr }),
      seed: o.seed,
      config,
    });
    const data = imagePairs({
      images: images.map((i) => i.train),
      crop: o.crop,
      batchSize: o.batch,
      seed: o.seed,
      degrade: grayscaleDegradation(),
    });
    const heldOut = { input: heldInput, target: heldTarget };
    const marker = lossNet.random ? "_random-vgg" : "";
    const result = await training.fit(data, {
      steps: o.steps,
      runDir,
      resume: o.resume,
      checkpointEvery: o["sample-every"],
      quiet: o.quiet,
      validation: {
        data: () => [{ input: tf.clone(heldInput), target: tf.clone(heldTarget) }],
        every: o["sample-every"],
      },
      samples: {
        every: o["sample-every"],
        batch: heldOut,
        count: o.samples,
        onSample: async (e) => {
          const image = sideBySide(e.input, e.prediction, e.target);
          try {
            await saveImage(
              `${runDir}/samples/step-${String(e.step).padStart(6, "0")}${marker}.png`,
              image,
            );
          } finally {
            image.dispose();
          }
        },
      },
      callbacks: [{
        async onFitStart() {
          await Deno.writeTextFile(`${runDir}/config.json`, JSON.stringify(config, null, 2) + "\n");
        },
      }],
    });
    await saveModel(model, `${runDir}/model`);
    const table = await report(model, lossFn, heldInput, heldTarget, lossNet.random);
    await Deno.writeTextFile(
      `${runDir}/results.json`,
      JSON.stringify(
        { heldOutCrops: o.samples, randomLossNetwork: lossNet.random, table },
        null,
        2,
      ) +
        "\n",
    );
    console.log(
      `${result.stepsRun} steps (${result.step} in total)${
        result.resumedFrom ? ` after resuming from ${result.resumedFrom}` : ""
      }; ` +
        `wrote ${runDir}/ (config.json, metrics.csv, samples/, checkpoints/, model/, results.json)`,
    );
  } finally {
    model?.dispose();
    tf.dispose([heldInput, heldTarget]);
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

/**
 * Colourisation: a U-Net learns to colour grey photos, trained with a perceptual (VGG feature)
 * loss plus a pixel loss. The network predicts chroma only (full-range YCbCr Cb and Cr, as in
 * JPEG) and its last layer (`ChromaToRgb`) puts that chroma on the grey input, so the output's
 * luma (BT.601) is exactly the input's: an untrained model returns the grey photo, and training
 * can only add colour. The saved model maps grey to RGB by itself.
 *
 * ```sh
 * deno run -A examples/colorize.ts            # the shipped photos, a few minutes on 2 cores
 * deno run -A examples/colorize.ts --help     # every flag
 * ```
 *
 * Writes `runs/colorize-<time>/` (or `--out`): `config.json`, `metrics.csv`, side-by-side
 * samples `samples/step-*.png` (grey | model | truth) on held-out crops, `panels/<photo>.png`
 * (every photo of `--data`, whole: grey | model | truth with a ×4 inset; grey | model for a
 * photo that is grey already), `checkpoints/`, the final `model/`, and `results.json` with the
 * final table (grey input, model and truth: PSNR, SSIM, loss terms, colourfulness). Training
 * crops come from the left three quarters of each photo; the held-out crops (samples, the final
 * table) from the right quarter.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type * as tfl from "@tensorflow/tfjs-layers";
import { concatAll } from "fp-ts/lib/Monoid.js";
import {
  comparisonPanel,
  grayscaleDegradation,
  imageFolder,
  imagePairs,
  type Pixels,
  pixelsToTensor,
  readPixels,
  stackPixels,
  tensorToPixels,
  toGrayscale,
  writePixels,
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
import { colourfulness, psnr, ssim } from "../src/metrics/mod.ts";
import { oneCycle } from "../src/train/mod.ts";
import { colorizer } from "../src/unet/mod.ts";
import { predictImage } from "../src/unet/predict_image.ts";
import { command, type FlagValues, list, UsageError, weight } from "./common/cli.ts";
import { sharedFlags } from "./common/flags.ts";
import { centreCrop, sideBySide } from "./common/images.ts";
import { openSession, stepsDone, train, unetConfig } from "./common/session.ts";
import { heldOutCrops, loadSplitImages } from "./common/split_images.ts";
import { formatTable } from "./common/table.ts";

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
  "Trains a U-Net to colourise grey photos (it predicts YCbCr chroma on the input's luma) with a\n" +
    "VGG feature loss + L1 pixel loss.",
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
  // Grey in, chroma (Cb, Cr) out, put on the input's luma by the model's last layer: the
  // output keeps the input's luminance exactly, so training can only add colour.
  const unetOptions = {
    ...unetConfig(o, { name: "colorize" }),
    inChannels: 1,
    outChannels: 2,
    residual: false,
    outputRange: null,
  };
  const model = colorizer(unetOptions);
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
        output: "RGB from the input's luma and predicted full-range YCbCr chroma (Cb, Cr)",
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
    const table = await scoreCrops(model, lossFn, heldInput, heldTarget);
    printTable(table, heldTarget.shape, session.random);
    const panels = await writePanels(model, o.data, `${runDir}/panels`, session.marker);
    const results = {
      heldOutCrops: o.samples,
      lossNetwork: session.config({}).lossNetwork,
      randomLossNetwork: session.random,
      table,
      panels,
    };
    await Deno.writeTextFile(`${runDir}/results.json`, JSON.stringify(results, null, 2) + "\n");
    console.log(
      `${stepsDone(result)}; wrote ${runDir}/ (config.json, metrics.csv, samples/, panels/, ` +
        "checkpoints/, model/, results.json)",
    );
  } finally {
    model.dispose();
    tf.dispose([heldInput, heldTarget, calibration]);
  }
}

/** One row of the final table: what made the image, and its scores against the truth. */
export interface ColorizeRow {
  /** `grey input`, `model` or `truth`. */
  readonly method: string;
  /** PSNR on RGB (undefined for the truth itself). */
  readonly psnr?: number;
  /** SSIM on RGB. */
  readonly ssim?: number;
  /** The training loss and its terms. */
  readonly loss?: Record<string, number>;
  /** Hasler & Süsstrunk colourfulness (0 for grey). */
  readonly colourfulness: number;
}

/** The grey input, the model and the truth on the held-out crops. */
async function scoreCrops(
  model: tfl.LayersModel,
  lossFn: LossFn,
  input: tf.Tensor4D,
  target: tf.Tensor4D,
): Promise<ColorizeRow[]> {
  const prediction = scope(() => tf.clipByValue(model.predict(input) as tf.Tensor4D, 0, 1));
  const grey = tf.tile(input, [1, 1, 1, 3]);
  try {
    const rows: ColorizeRow[] = [];
    for (const [method, x] of [["grey input", grey], ["model", prediction]] as const) {
      let names: string[] = [];
      const terms = scope(() => {
        const r = lossFn(x, target);
        names = ["loss", ...Object.keys(r.terms)];
        return tf.stack([r.total, ...Object.values(r.terms)]);
      });
      const values = await terms.data();
      terms.dispose();
      rows.push({
        method,
        psnr: await psnr(x, target),
        ssim: await ssim(x, target),
        loss: Object.fromEntries(names.map((n, i) => [n, values[i]!])),
        colourfulness: await colourfulness(x),
      });
    }
    rows.push({ method: "truth", colourfulness: await colourfulness(target) });
    return rows;
  } finally {
    tf.dispose([prediction, grey]);
  }
}

/** Print the table in the examples' format (numbers, right-aligned). */
function printTable(rows: readonly ColorizeRow[], shape: readonly number[], random: boolean) {
  const terms = Object.keys(rows[0]!.loss ?? {});
  console.log(
    `\nheld-out crops (${shape[0]} of ${shape[1]}x${shape[2]}), RGB; colourfulness: Hasler & ` +
      "Süsstrunk 2003 (0 = grey):",
  );
  console.log(formatTable(
    [
      { name: "method" },
      { name: "PSNR (dB)", format: (n) => n.toFixed(2) },
      { name: "SSIM", format: (n) => n.toFixed(4) },
      ...terms.map((name) => ({ name })),
      { name: "colourfulness", format: (n) => n.toFixed(1) },
    ],
    rows.map((r) => [r.method, r.psnr, r.ssim, ...terms.map((t) => r.loss?.[t]), r.colourfulness]),
  ));
  if (random) console.log("(loss terms from a RANDOM-weight VGG: not ImageNet features)");
}

/**
 * Every photo of `dir`, whole, through the model: `grey | model | truth` panels (`grey | model`
 * for a photo that is grey already), with a ×4 inset where model and grey differ most.
 */
async function writePanels(
  model: tfl.LayersModel,
  dir: string,
  outDir: string,
  marker: string,
): Promise<string[]> {
  const written: string[] = [];
  for (const path of await imageFolder(dir)) {
    const truth = await readPixels(path, { channels: 3 });
    const rgb = pixelsToTensor(truth);
    const grey = toGrayscale(rgb);
    const colourised = scope(() => tf.clipByValue(predictImage(model, grey), 0, 1));
    const greyPixels = await tensorToPixels(grey);
    const modelPixels = await tensorToPixels(colourised);
    tf.dispose([rgb, grey, colourised]);
    const panel = comparisonPanel(
      hasColour(truth) ? [greyPixels, modelPixels, truth] : [greyPixels, modelPixels],
    );
    const name = path.slice(path.lastIndexOf("/") + 1).replace(/\.[^.]+$/, "");
    const file = `${outDir}/${name}${marker}.png`;
    await writePixels(file, panel.pixels);
    written.push(file);
  }
  return written;
}

if (import.meta.main) Deno.exit(await main(Deno.args));

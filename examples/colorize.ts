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
 * Writes `runs/colorize-<time>/` (or `--out`): `report.html`, `config.json`, `metrics.csv`, side-by-side
 * samples `samples/step-*.png` (grey | model | truth) on held-out crops, `samples/panel-<photo>.png`
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
import { colorizer, predictImage } from "../src/unet/mod.ts";
import { oneOf } from "../src/_internal/decode.ts";
import {
  command,
  flag,
  type FlagValues,
  List,
  list,
  toggle,
  UsageError,
  weight,
} from "./common/cli.ts";
import { sharedFlags } from "./common/flags.ts";
import { centreCrop, sideBySide } from "./common/images.ts";
import { openSession, stepsDone, train, unetConfig } from "./common/session.ts";
import { heldOutCrops, loadSplitImages } from "./common/split_images.ts";
import { type Cell, type Column, formatTable } from "./common/table.ts";

const FLAGS = {
  ...sharedFlags({
    prefix: "colorize",
    data: "folder of colour training photos (PNG/JPEG)",
    steps: "200",
    lr: "5e-4",
    crop: "training crop size in pixels (a multiple of 2^depth)",
    depth: "3",
    filters: "16",
    samples: [
      "12",
      "held-out crops in the final table, 2 per default photo (the first 4 in the samples)",
    ],
    sampleEvery: ["100", "write samples (and a checkpoint) every N steps"],
  }),
  layers: list(
    "L1,L2",
    "feature-loss layers (default: the 2 deepest fastai layers; embedded VGG-19: " +
      "block2_conv2, block3_conv4)",
  ),
  "more-data": flag(
    List,
    "examples/data/colour",
    "D1,D2",
    "further folders of colour photos, trained on and held out like --data ('' for none); by " +
      "default two more photos (temple and sky, an orange dahlia on dark teal leaves) that the superres example does " +
      "not read",
  ),
  exclude: flag(
    List,
    "skimage_retina.jpg",
    "F1,F2",
    "photos of --data left out, by file name ('' for none); the retina scan by default: " +
      "one red hue, it pulls every colour towards red (see README)",
  ),
  "feature-weight": weight(
    "0.2",
    "weight of the feature loss (features normalised to mean |a| = 1)",
  ),
  "pixel-weight": weight("10", "weight of the pixel loss"),
  "random-head": toggle(
    "start from the head's random initial weights (a random colour cast) instead of zeros (the " +
      "grey photo exactly)",
  ),
  "log-mse-weight": weight(
    "0",
    "weight of the per-crop log error, mean over crops of ln(1 + MSE/1e-4): what the table's " +
      "PSNR (a mean of per-crop PSNRs) measures, up to 40 dB",
  ),
  "pixel-distance": flag(
    oneOf(["l1", "l2"] as const),
    "l2",
    "D",
    "pixel loss distance: l1 | l2 (l2's optimum is the mean colour, which PSNR rewards)",
  ),
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
    "VGG feature loss + squared pixel loss.",
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
  const excluded = (path: string) => o.exclude.includes(path.slice(path.lastIndexOf("/") + 1));
  const folders = [o.data, ...o["more-data"]];
  const skip = (p: Pixels, path: string) =>
    excluded(path) ? "is in --exclude" : hasColour(p) ? undefined : "has no colour";
  const images = (await Promise.all(folders.map((d) => loadSplitImages(d, o.crop, skip)))).flat();
  using session = await openSession("colorize", o, o.layers);
  const { net, runDir } = session;
  // Default: the two deepest of the network's fastai layers (block2_conv2 and block3_conv4 of
  // the embedded VGG-19 blocks 1-3).
  const layers = o.layers.length > 0 ? o.layers : session.layers.slice(-2);

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
  if (!o["random-head"]) zeroHead(model);
  try {
    const features = concatAll(LossMonoid)(
      layers.map((l) => feature(l, { distance: "l1", weight: o["feature-weight"] })),
    );
    const loss = concatLoss(
      await calibrate(features, net, calibration),
      pixel({ distance: o["pixel-distance"], weight: o["pixel-weight"] }),
    );
    const lossFn = withLogMse(evaluate(loss, net), o["log-mse-weight"]);
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
        logMse: { weight: o["log-mse-weight"], epsilon: LOG_MSE_EPSILON },
        unet: unetOptions,
        output: "RGB from the input's luma and predicted full-range YCbCr chroma (Cb, Cr)",
        data: images.map((i) => i.path),
      }),
      validation: { data: () => [{ input: tf.clone(heldInput), target: tf.clone(heldTarget) }] },
      samples: {
        batch: { input: heldInput, target: heldTarget },
        count: Math.min(o.samples, 4),
        dir: "samples",
        image: (e) => sideBySide(e.input, e.prediction, e.target),
      },
    });
    const table = await scoreCrops(model, lossFn, heldInput, heldTarget);
    const columns = printTable(table, heldTarget.shape, session.random);
    const panels = await writePanels(model, folders, excluded, `${runDir}/samples`, session.marker);
    const results = {
      heldOutCrops: o.samples,
      lossNetwork: session.description,
      lossNetworkKind: session.kind,
      randomLossNetwork: session.random,
      table,
      panels,
    };
    await Deno.writeTextFile(`${runDir}/results.json`, JSON.stringify(results, null, 2) + "\n");
    await result.report.finish({
      table: {
        columns: columns.map((c) => c.name),
        rows: table.map((r) => tableRow(r, columns).map((v) => v ?? "-")),
      },
    });
    console.log(
      `${stepsDone(result)}; wrote ${runDir}/ (report.html, config.json, metrics.csv, samples/ ` +
        "with panel-*.png, checkpoints/, model/, results.json)",
    );
  } finally {
    model.dispose();
    tf.dispose([heldInput, heldTarget, calibration]);
  }
}

/** Zero the chroma head, so the untrained model returns the grey input exactly. */
function zeroHead(model: tfl.LayersModel): void {
  const head = model.getLayer("head");
  const zeros = head.getWeights().map((w) => tf.zerosLike(w));
  head.setWeights(zeros);
  tf.dispose(zeros);
}

/** The per-crop squared error below which the log-error term stops caring (40 dB). */
const LOG_MSE_EPSILON = 1e-4;

/**
 * `lossFn` plus `weight` × the mean over crops of ln(1 + MSE/ε): the pooled pixel loss is
 * optimal at the mean colour, which a mean of per-crop PSNRs punishes on nearly neutral crops
 * (where grey is already close); this term weighs each crop by 1/(ε + its MSE), as that PSNR
 * does. Weight 0: `lossFn` unchanged.
 */
function withLogMse(lossFn: LossFn, weight: number): LossFn {
  if (weight === 0) return lossFn;
  return (pred, target) => {
    const r = lossFn(pred, target);
    const term = scope(() => {
      const mse = tf.mean(tf.squaredDifference(pred, target), [1, 2, 3]);
      return tf.mul(tf.mean(tf.log1p(tf.div(mse, LOG_MSE_EPSILON))), weight) as tf.Scalar;
    });
    const total = tf.add(r.total, term) as tf.Scalar;
    return { total, terms: { ...r.terms, "log-mse": term } };
  };
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

/** The table's columns: PSNR, SSIM, the loss and its terms, colourfulness. */
function tableColumns(rows: readonly ColorizeRow[]): Column[] {
  return [
    { name: "method" },
    { name: "PSNR (dB)", format: (n) => n.toFixed(2) },
    { name: "SSIM", format: (n) => n.toFixed(4) },
    ...Object.keys(rows[0]!.loss ?? {}).map((name) => ({ name })),
    { name: "colourfulness", format: (n) => n.toFixed(1) },
  ];
}

/** One row's cells under `columns`. */
function tableRow(r: ColorizeRow, columns: readonly Column[]): Cell[] {
  const terms = columns.slice(3, -1).map((c) => r.loss?.[c.name]);
  return [r.method, r.psnr, r.ssim, ...terms, r.colourfulness];
}

/** Print the table in the examples' format (numbers, right-aligned); returns its columns. */
function printTable(
  rows: readonly ColorizeRow[],
  shape: readonly number[],
  random: boolean,
): Column[] {
  const columns = tableColumns(rows);
  console.log(
    `\nheld-out crops (${shape[0]} of ${shape[1]}x${shape[2]}), RGB; colourfulness: Hasler & ` +
      "Süsstrunk 2003 (0 = grey):",
  );
  console.log(formatTable(columns, rows.map((r) => tableRow(r, columns))));
  if (random) console.log("(loss terms from a RANDOM-weight VGG: not ImageNet features)");
  return columns;
}

/**
 * Every photo of `dirs`, whole, through the model: `grey | model | truth` panels (`grey | model`
 * for a photo that is grey already), with a ×4 inset where model and grey differ most.
 */
async function writePanels(
  model: tfl.LayersModel,
  dirs: readonly string[],
  excluded: (path: string) => boolean,
  outDir: string,
  marker: string,
): Promise<string[]> {
  const written: string[] = [];
  const paths = (await Promise.all(dirs.map((d) => imageFolder(d)))).flat();
  for (const path of paths.filter((p) => !excluded(p))) {
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
    const file = `${outDir}/panel-${name}${marker}.png`;
    await writePixels(file, panel.pixels);
    written.push(file);
  }
  return written;
}

if (import.meta.main) Deno.exit(await main(Deno.args));

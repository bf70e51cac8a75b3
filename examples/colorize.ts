/**
 * Colourisation: a U-Net learns to colour grey photos, trained with a perceptual (VGG feature)
 * loss plus a pixel loss. The network predicts chroma only (full-range YCbCr Cb and Cr, as in
 * JPEG) and its last layer (`ChromaToRgb`) puts that chroma on the grey input, so the output's
 * luma (BT.601) is exactly the input's: an untrained model returns the grey photo, and training
 * can only add colour. The saved model maps grey to RGB by itself. Its encoder is the loss
 * network's own ImageNet VGG layers up to block3_conv1, frozen (fastai's DynamicUnet idea): the
 * decoder learns from features that already tell sky from fur, so it colours by content instead
 * of casting one average tint over everything.
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
import { concatAll } from "fp-ts/lib/Monoid.js";
import {
  grayscaleDegradation,
  imagePairs,
  type Pixels,
  stackPixels,
  toGrayscale,
} from "../src/data/mod.ts";
import {
  calibrate,
  concatLoss,
  encodeLossSpec,
  evaluate,
  feature,
  LossMonoid,
  pixel,
} from "../src/loss/mod.ts";
import type { FrozenEncoder, LossNetwork } from "../src/network/mod.ts";
import { oneCycle } from "../src/train/mod.ts";
import type { Vgg19Network } from "../src/vgg/mod.ts";
import { colorizer, parameterCount } from "../src/unet/mod.ts";
import { oneOf } from "../src/_internal/decode.ts";
import { lpips } from "../src/lpips/mod.ts";
import { centreCrop } from "./common/images.ts";
import { heldOutCrops, loadSplitImages } from "./common/split_images.ts";
import {
  hasColour,
  LOG_MSE_EPSILON,
  printTable,
  scoreCrops,
  tableRow,
  withLogMse,
  writePanels,
  zeroHead,
} from "./common/colour_eval.ts";
import {
  command,
  flag,
  type FlagValues,
  List,
  list,
  openSession,
  sharedFlags,
  sideBySide,
  stepsDone,
  toggle,
  train,
  unetConfig,
  UsageError,
  weight,
} from "../src/experiment/mod.ts";

/** Where the frozen VGG encoder ends (`--encoder vgg`). */
const ENCODER_UP_TO = "block3_conv1";
/** The default feature-loss layers: the last convs of blocks 1 and 2 (so named on VGG-16 and -19). */
const DEFAULT_LOSS_LAYERS = ["block1_conv2", "block2_conv2"];

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
    "feature-loss layers (default: block1_conv2, block2_conv2: as good on the held-out crops " +
      "as block2_conv2 + block3_conv4, at a cheaper loss)",
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
  encoder: flag(
    oneOf(["vgg", "unet"] as const),
    "vgg",
    "E",
    "vgg: the loss network's ImageNet layers to block3_conv1, frozen, as the encoder (its features tell sky " +
      "from skin from foliage; --depth is then 2) | unet: a U-Net trained from scratch (--depth)",
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

async function run(o: ColorizeOptions): Promise<void> {
  if (o.crop % 2 ** o.depth !== 0) {
    throw new UsageError(`--crop ${o.crop} is not a multiple of 2^depth = ${2 ** o.depth}`);
  }
  const excluded = (path: string) => o.exclude.includes(path.slice(path.lastIndexOf("/") + 1));
  const folders = [o.data, ...o["more-data"]];
  const skip = (p: Pixels, path: string) =>
    excluded(path) ? "is in --exclude" : hasColour(p) ? undefined : "has no colour";
  const images = (await Promise.all(folders.map((d) => loadSplitImages(d, o.crop, skip)))).flat();
  const layers = o.layers.length > 0 ? o.layers : DEFAULT_LOSS_LAYERS;
  // The frozen encoder needs the network loaded to its last layer, also when the loss stops
  // earlier (the loss's forward pass still stops at its own deepest layer).
  const encoderLayer = o.encoder === "vgg" ? [ENCODER_UP_TO] : [];
  using session = await openSession("colorize", o, layers, "colorize", encoderLayer);
  const { net, runDir } = session;

  // Calibrated on the centre of each training part: every layer's activations get mean |a| = 1,
  // so the weights mean the same with ImageNet or random VGG weights.
  const calibration = stackPixels(images.map((i) => centreCrop(i.train, 1, o.crop, o.crop)));
  const encoder = o.encoder === "vgg"
    ? await frozenVggEncoder(net, calibration).catch((e) => {
      calibration.dispose();
      throw e;
    })
    : undefined;
  const heldTarget = stackPixels(heldOutCrops(images, o.samples, o.crop));
  const heldInput = toGrayscale(heldTarget);
  // Grey in, chroma (Cb, Cr) out, put on the input's luma by the model's last layer: the
  // output keeps the input's luminance exactly, so training can only add colour.
  const unetOptions = {
    ...unetConfig(o, { name: "colorize" }),
    inChannels: 1,
    outChannels: 2,
    residual: false,
    outputRange: null,
  };
  const model = colorizer(unetOptions, { encoder });
  console.log(
    `model: ${
      encoder === undefined
        ? `U-Net depth ${o.depth}`
        : `frozen ${encoder.source} to ${ENCODER_UP_TO} as encoder`
    }` +
      ` + trained decoder (${parameterCount(model, "trainable")} trainable weights); loss: ` +
      `${o["feature-weight"]} × L1 on features at ${layers.join(", ")} + ${o["pixel-weight"]} × ` +
      `${o["pixel-distance"]} pixel`,
  );
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
        encoder: encoder === undefined ? "unet" : `frozen ${encoder.source} to ${ENCODER_UP_TO}`,
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
    using metric = await lpips({ net: "alex" });
    const table = await scoreCrops(model, lossFn, heldInput, heldTarget, metric);
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
        rows: table.map((r) =>
          tableRow(r, columns).map((v) => v === undefined ? "-" : Number.isNaN(v) ? "n/a" : v)
        ),
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

/**
 * A VGG loss network to ENCODER_UP_TO as a frozen encoder, skips scaled to mean 1 on the grey
 * versions of `photos` (what the encoder will see).
 */
async function frozenVggEncoder(
  net: LossNetwork<string>,
  photos: tf.Tensor4D,
): Promise<FrozenEncoder> {
  if (!("encoder" in net)) {
    throw new UsageError(
      `--encoder vgg needs a VGG loss network, not ${net.name}; or --encoder unet`,
    );
  }
  const grey = toGrayscale(photos);
  try {
    return await (net as unknown as Vgg19Network).encoder(ENCODER_UP_TO, grey);
  } finally {
    grey.dispose();
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));

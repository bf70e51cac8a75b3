/**
 * Colourisation: a U-Net learns to colour grey photos with a VGG feature loss plus a pixel loss.
 * It predicts chroma (YCbCr Cb, Cr) put on the grey input, so an untrained model returns the grey
 * photo; its frozen encoder is the loss network's ImageNet VGG to block3_conv1 (fastai's
 * DynamicUnet idea). Writes `runs/colorize-<time>/`: report.html, config.json, metrics.csv,
 * samples/ (grey | model | truth), checkpoints/, model/, results.json. `--help` lists the flags.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import { concatAll } from "fp-ts/lib/Monoid.js";
import * as data from "../src/data/mod.ts";
import * as L from "../src/loss/mod.ts";
import type { FrozenEncoder, LossNetwork } from "../src/network/mod.ts";
import { oneCycle, type SampleEvent } from "../src/train/mod.ts";
import type { Vgg19Network } from "../src/vgg/mod.ts";
import { colorizer, parameterCount } from "../src/unet/mod.ts";
import { oneOf } from "../src/_internal/decode.ts";
import { lpips } from "../src/lpips/mod.ts";
import * as colour from "./common/colour_eval.ts";
import * as x from "../src/experiment/mod.ts";

/** Where the frozen VGG encoder ends (`--encoder vgg`). */
const ENCODER_UP_TO = "block3_conv1";
/** The default feature-loss layers: the last convs of blocks 1 and 2 (so named on VGG-16 and -19). */
const DEFAULT_LOSS_LAYERS = ["block1_conv2", "block2_conv2"];

const FLAGS = {
  ...x.sharedFlags({
    prefix: "colorize",
    data: "folder of colour training photos (PNG/JPEG)",
    steps: "200",
    lr: "5e-4",
    crop: "training crop size in pixels (a multiple of 2^depth)",
    depth: "3",
    filters: "16",
    samples: ["12", "held-out crops in the table (the first 4 in the samples)"],
    sampleEvery: ["100", "write samples (and a checkpoint) every N steps"],
  }),
  layers: x.list("L1,L2", "feature-loss layers (default: block1_conv2, block2_conv2)"),
  "more-data": x.flag(x.List, "examples/data/colour", "D1,D2", "more folders of colour photos"),
  exclude: x.flag(x.List, "skimage_retina.jpg", "F1,F2", "photos of --data left out, by name"),
  "feature-weight": x.weight("0.2", "weight of the feature loss (features scaled to mean |a| = 1)"),
  "pixel-weight": x.weight("10", "weight of the pixel loss"),
  "random-head": x.toggle("start from a random head (a colour cast), not from the grey photo"),
  "log-mse-weight": x.weight("0", "weight of the per-crop log error ln(1 + MSE/1e-4)"),
  encoder: x.flag(oneOf(["vgg", "unet"] as const), "vgg", "E", "vgg (frozen) | unet (--depth)"),
  "pixel-distance": x.flag(oneOf(["l1", "l2"] as const), "l2", "D", "pixel loss: l1 | l2"),
};

/** The validated command line. */
export type ColorizeOptions = x.FlagValues<typeof FLAGS>;

/** `--help`'s text; `parseOptions(args)` validates a command line; `main(args)` runs (exit status). */
export const { help: HELP, parse: parseOptions, main } = x.command(
  "colorize",
  "Trains a U-Net to colourise grey photos (it predicts YCbCr chroma on the input's luma) with a\nVGG feature loss + squared pixel loss.",
  FLAGS,
  run,
);

async function run(o: ColorizeOptions): Promise<void> {
  if (o.crop % 2 ** o.depth !== 0) {
    throw new x.UsageError(`--crop ${o.crop} is not a multiple of 2^depth = ${2 ** o.depth}`);
  }
  const excluded = (path: string) => o.exclude.includes(path.slice(path.lastIndexOf("/") + 1));
  const skip = (p: data.Pixels, path: string) =>
    excluded(path) ? "is in --exclude" : data.hasColour(p) ? undefined : "has no colour";
  const folders = [o.data, ...o["more-data"]];
  const images = (await Promise.all(folders.map((d) => x.loadSplitImages(d, o.crop, skip)))).flat();
  const layers = o.layers.length > 0 ? o.layers : DEFAULT_LOSS_LAYERS;
  // The frozen encoder needs the network loaded to its last layer, also when the loss stops earlier.
  const alsoLoad = o.encoder === "vgg" ? [ENCODER_UP_TO] : [];
  using session = await x.openSession("colorize", o, layers, "colorize", alsoLoad);
  using bin = new DisposableStack(); // what is made below, disposed in reverse order
  const keep = <T extends tf.Tensor>(t: T): T => bin.adopt(t, (t) => t.dispose());
  // Calibrated on the centre of each training part: mean |a| = 1 at every layer.
  const centres = images.map((i) => data.centreCrop(i.train, 1, o.crop, o.crop));
  const calibration = keep(data.stackPixels(centres));
  const encoder = o.encoder === "vgg" ? await vggEncoder(session.net, calibration) : undefined;
  const target = keep(data.stackPixels(data.heldOutCrops(images, o.samples, o.crop)));
  const input = keep(data.toGrayscale(target));
  const held = { input, target };
  // Grey in, chroma out, put on the input's luma by the model's last layer.
  const unetOptions = { ...x.unetConfig(o, { name: "colorize" }), ...COLOURISER };
  const model = bin.adopt(colorizer(unetOptions, { encoder }), (m) => m.dispose());
  if (!o["random-head"]) colour.zeroHead(model);
  const encoded = encoder === undefined ? "unet" : `frozen ${encoder.source} to ${ENCODER_UP_TO}`;
  const what = encoder === undefined ? `U-Net depth ${o.depth}` : `${encoded} as encoder`;
  const weight = o["feature-weight"];
  const n = parameterCount(model, "trainable");
  console.log(`model: ${what} + trained decoder (${n} trainable weights)`);
  const pixelLoss = `${o["pixel-weight"]} × ${o["pixel-distance"]} pixel`;
  console.log(`loss: ${weight} × L1 on features at ${layers.join(", ")} + ${pixelLoss}`);
  const features = concatAll(L.LossMonoid)(
    layers.map((l) => L.feature(l, { distance: "l1", weight })),
  );
  const pixels = L.pixel({ distance: o["pixel-distance"], weight: o["pixel-weight"] });
  const loss = L.concatLoss(await L.calibrate(features, session.net, calibration), pixels);
  const lossFn = colour.withLogMse(L.evaluate(loss, session.net), o["log-mse-weight"]);
  const crops = { images: images.map((i) => i.train), crop: o.crop, batchSize: o.batch };
  const result = await x.train(session, {
    trainee: { model },
    loss: lossFn,
    schedule: oneCycle({ lrMax: o.lr }),
    data: data.imagePairs({ ...crops, seed: o.seed, degrade: data.grayscaleDegradation() }),
    steps: o.steps,
    config: session.config({
      loss: L.encodeLossSpec(loss),
      logMse: { weight: o["log-mse-weight"], epsilon: colour.LOG_MSE_EPSILON },
      unet: unetOptions,
      encoder: encoded,
      output: "RGB from the input's luma and predicted full-range YCbCr chroma (Cb, Cr)",
      data: images.map((i) => i.path),
    }),
    validation: x.heldOutValidation(input, target),
    samples: { batch: held, count: Math.min(o.samples, 4), dir: "samples", image: SAMPLE },
  });
  using metric = await lpips({ net: "alex" });
  const { table, text, report } = await colour.colourTable(model, lossFn, held, metric);
  const dir = `${session.runDir}/samples`;
  const panels = await colour.writePanels(model, folders, excluded, dir, session.marker);
  await x.finishRun(session, result, {
    heading: `held-out crops (${target.shape[0]} of ${o.crop}x${o.crop}), RGB; ${COLOURFULNESS}`,
    table: { ...report, text },
    notes: session.random ? ["(loss terms from a RANDOM-weight VGG: not ImageNet features)"] : [],
    results: { heldOutCrops: o.samples, ...session.facts, table, panels },
    wrote:
      "report.html, config.json, metrics.csv, samples/ with panel-*.png, checkpoints/, model/, results.json",
  });
}

const COLOURISER = { inChannels: 1, outChannels: 2, residual: false, outputRange: null };
const COLOURFULNESS = "colourfulness: Hasler & Süsstrunk 2003 (0 = grey):";
const SAMPLE = (e: SampleEvent) => x.sideBySide(e.input, e.prediction, e.target);

/** The VGG loss network to ENCODER_UP_TO, frozen, skips scaled to mean 1 on grey `photos`. */
async function vggEncoder(net: LossNetwork<string>, photos: tf.Tensor4D): Promise<FrozenEncoder> {
  if (!("encoder" in net)) {
    throw new x.UsageError(
      `--encoder vgg needs a VGG loss network, not ${net.name}; or --encoder unet`,
    );
  }
  const grey = data.toGrayscale(photos);
  return await (net as unknown as Vgg19Network).encoder(ENCODER_UP_TO, grey)
    .finally(() => grey.dispose());
}

if (import.meta.main) Deno.exit(await main(Deno.args));

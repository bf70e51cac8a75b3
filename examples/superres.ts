/**
 * Super-resolution: a U-Net learns to upscale photos ×2 (or ×4), trained with a fastai-style
 * perceptual loss (pixel L1 + VGG feature and Gram terms), and is scored against bicubic.
 *
 * ```sh
 * deno run -A examples/superres.ts            # the shipped photos, ×2, a few minutes on 2 cores
 * deno run -A examples/superres.ts --help     # every flag
 * deno run -A examples/superres.ts --net vgg19 --vgg ../shared/data/vgg19_imagenet_blocks1-3 \
 *   --layers block1_conv2,block2_conv2,block3_conv4 --eval ../shared/data/Set5/image_SRF_2
 * ```
 *
 * Writes `runs/superres-<time>/` (or `--out`): `config.json`, `metrics.csv`, side-by-side samples
 * `samples/step-*.png` (bicubic | model | truth) on held-out crops, `checkpoints/`, the final
 * `model/`, and `results.json` with the final table. Training crops come from the left three
 * quarters of each photo; the held-out crops from the right quarter.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type * as tfl from "@tensorflow/tfjs-layers";
import * as t from "io-ts";
import { isLeft } from "fp-ts/lib/Either.js";
import { describeBackend, initBackend } from "../src/backend/mod.ts";
import {
  bicubicDownscale,
  bicubicUpscale,
  cropPixels,
  imageFolder,
  pixelsToTensor,
  readPixels,
  saveImage,
  srPairs,
  stackPixels,
} from "../src/data/mod.ts";
import { scope } from "../src/lifetime/mod.ts";
import {
  calibrateAsync,
  concatLoss,
  decodeLossSpec,
  emptyLoss,
  encodeLossSpec,
  evaluate,
  fastaiFeatureLoss,
  feature,
  featureScalesAsync,
  layersBeforePools,
  type Loss,
  type LossFn,
  lossOf,
  weighted,
  withFeatureScales,
} from "../src/loss/mod.ts";
import { psnr, ssim } from "../src/metrics/mod.ts";
import { type DataFactory, oneCycle, trainer } from "../src/train/mod.ts";
import { parameterCount, saveModel, unet, type UNetConfig } from "../src/unet/mod.ts";
import type { LossNetwork } from "../src/vgg/mod.ts";
import {
  BackendFlag,
  Depth,
  type FlagSpec,
  helpText,
  LayerList,
  NetFlag,
  NonNegativeInt,
  NonNegativeNumber,
  numberFrom,
  parseFlags,
  PositiveInt,
  PositiveNumber,
  runMain,
  timestamp,
  UsageError,
} from "./common/cli.ts";
import { sideBySide } from "./common/images.ts";
import { openLossNetwork } from "./common/loss_network.ts";
import { heldOutCrops, loadSplitImages, trainingCrops } from "./common/split_images.ts";

const PROGRAM = "superres";

/** Every flag: its kind, default (as typed on the command line) and help text. */
const FLAGS: Record<string, FlagSpec> = {
  data: {
    type: "string",
    default: "examples/data",
    arg: "DIR",
    help: "training photos (PNG/JPEG)",
  },
  eval: {
    type: "string",
    default: "",
    arg: "DIR[,DIR]",
    help: "Set5-style folders (*_HR.png, optional *_LR.png) to score on after training",
  },
  scale: { type: "string", default: "2", arg: "2|4", help: "upscaling factor" },
  steps: { type: "string", default: "150", arg: "N", help: "training steps" },
  batch: { type: "string", default: "4", arg: "N", help: "crops per step" },
  crop: {
    type: "string",
    default: "64",
    arg: "N",
    help: "high-resolution crop size (a multiple of scale·2^depth)",
  },
  lr: { type: "string", default: "3e-3", arg: "X", help: "peak learning rate (one-cycle, Adam)" },
  loss: {
    type: "string",
    default: "",
    arg: "SPEC.json",
    help: "a JSON loss spec instead of the fastai-style loss (see README)",
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
      "loss network weights: auto (ImageNet if cached/downloadable, else random) | random | PATH",
  },
  net: { type: "string", default: "vgg16", arg: "NAME", help: "vgg16 | vgg19" },
  layers: {
    type: "string",
    default: "",
    arg: "L1,L2,L3",
    help: "loss layers (default: the layers just before pools 3, 4, 5)",
  },
  depth: { type: "string", default: "2", arg: "N", help: "U-Net depth (down-sampling levels)" },
  filters: { type: "string", default: "32", arg: "N", help: "U-Net base filters" },
  balance: {
    type: "string",
    default: "0.1",
    arg: "X",
    help: "perceptual terms start at X x the pixel term (0: the preset's raw weights)",
  },
  samples: {
    type: "string",
    default: "8",
    arg: "N",
    help: "held-out crops for samples and the table",
  },
  "sample-every": {
    type: "string",
    default: "50",
    arg: "N",
    help: "validate, write samples and a checkpoint every N steps",
  },
  seed: {
    type: "string",
    default: "0",
    arg: "N",
    help: "seed for data, crops and initial weights",
  },
  out: {
    type: "string",
    default: "",
    arg: "DIR",
    help: "run directory (default runs/superres-<time>)",
  },
  resume: { type: "boolean", help: "continue the run in --out from its latest checkpoint" },
  quiet: { type: "boolean", help: "no progress bar" },
  help: { type: "boolean", help: "print this help" },
};

/** The help text `--help` prints. */
export const HELP: string = helpText(
  "deno run -A examples/superres.ts [flags]",
  "Trains a super-resolution U-Net with a perceptual loss and scores it against bicubic.",
  FLAGS,
);

const Scale = numberFrom("2 or 4", (n) => n === 2 || n === 4);

const Options = t.type({
  data: t.string,
  eval: LayerList,
  scale: Scale,
  steps: PositiveInt,
  batch: PositiveInt,
  crop: PositiveInt,
  lr: PositiveNumber,
  loss: t.string,
  backend: BackendFlag,
  vgg: t.string,
  net: NetFlag,
  layers: LayerList,
  depth: Depth,
  filters: PositiveInt,
  balance: NonNegativeNumber,
  samples: PositiveInt,
  "sample-every": PositiveInt,
  seed: NonNegativeInt,
  out: t.string,
  resume: t.boolean,
  quiet: t.boolean,
});

/** The validated command line. */
export type SuperresOptions = t.TypeOf<typeof Options>;

/**
 * Parse and validate the command line; `"help"` for `--help`.
 *
 * @throws {UsageError} naming the bad flag and what it needs.
 */
export function parseOptions(args: readonly string[]): SuperresOptions | "help" {
  return parseFlags(args, FLAGS, Options);
}

/**
 * The example's entry point, callable from tests: parses `args`, trains, writes the run
 * directory, prints the final table. Returns the exit status (0 done, 1 failed, 2 bad usage) and
 * prints one-line errors instead of throwing.
 */
export function main(args: string[]): Promise<number> {
  return runMain(PROGRAM, HELP, () => parseOptions(args), run);
}

// ---- data ---------------------------------------------------------------------------------------

/** One evaluation image: high-resolution truth and its low-resolution input. */
interface EvalPair {
  readonly name: string;
  readonly highRes: tf.Tensor3D;
  readonly lowRes: tf.Tensor3D;
}

/**
 * Set5-style pairs from `dir`: every `*HR.png` with its `*LR.png` when present (else a MATLAB-style
 * bicubic downscale of the HR image, as the Set5 LR files were made).
 */
async function loadEvalPairs(dir: string, scale: number): Promise<EvalPair[]> {
  const files = await imageFolder(dir);
  const highs = files.filter((f) => /HR\.(png|jpe?g)$/i.test(f));
  const list = highs.length > 0 ? highs : files;
  const pairs: EvalPair[] = [];
  for (const hrPath of list) {
    const hrPixels = await readPixels(hrPath, { channels: 3 });
    // Crop the truth to a multiple of the scale, as SR benchmarks do.
    const h = hrPixels.height - (hrPixels.height % scale);
    const w = hrPixels.width - (hrPixels.width % scale);
    const highRes = pixelsToTensor(cropPixels(hrPixels, 0, 0, h, w));
    const lrPath = hrPath.replace(/HR(\.[a-z]+)$/i, "LR$1");
    let lowRes: tf.Tensor3D;
    if (lrPath !== hrPath && files.includes(lrPath)) {
      lowRes = pixelsToTensor(await readPixels(lrPath, { channels: 3 }));
      if (lowRes.shape[0] * scale !== h || lowRes.shape[1] * scale !== w) {
        tf.dispose([lowRes, highRes]);
        throw new UsageError(
          `--eval: ${lrPath} is ${lowRes.shape[1]}x${
            lowRes.shape[0]
          }, not 1/${scale} of ${hrPath} ` +
            `(${w}x${h}); is --scale ${scale} right for this folder?`,
        );
      }
    } else {
      lowRes = bicubicDownscale(highRes, scale, { quantize: "uint8" });
    }
    const name = hrPath.split("/").pop()!.replace(/[_-]?HR\.[a-z]+$/i, "");
    pairs.push({ name, highRes, lowRes });
  }
  return pairs;
}

// ---- loss ---------------------------------------------------------------------------------------

/** The loss the run trains with, before calibration, and the layers it reads. */
async function chooseLoss(o: SuperresOptions): Promise<{ spec?: Loss<string>; layers: string[] }> {
  if (o.loss === "") return { layers: o.layers };
  let text: string;
  try {
    text = await Deno.readTextFile(o.loss);
  } catch (e) {
    throw new UsageError(`--loss ${o.loss}: cannot read it (${(e as Error).message})`);
  }
  const decoded = decodeLossSpec(text);
  if (isLeft(decoded)) {
    throw new UsageError(`--loss ${o.loss}: ${decoded.left.message}`);
  }
  return { spec: decoded.right as Loss<string>, layers: [...decoded.right.layers] };
}

/** fastai's layers just before pools 3, 4, 5, or as many as a truncated network has. */
function defaultLayers(net: LossNetwork<string>): string[] {
  const before = layersBeforePools(net);
  return before.length >= 5 ? before.slice(2, 5) : before.slice(-3);
}

function fastaiWeights(count: number): number[] {
  // fastai's [5, 15, 2] for three layers; an even split of their sum otherwise.
  return count === 3 ? [5, 15, 2] : Array.from({ length: count }, () => 22 / count);
}

/** The pixel terms of `loss`. */
function pixelTerms(loss: Loss<string>): Loss<string> {
  return lossOf(loss.terms.filter((t) => t.kind === "pixel"));
}

/** Every term of `loss` but the pixel ones: what the loss network computes. */
function perceptualTerms(loss: Loss<string>): Loss<string> {
  return lossOf(loss.terms.filter((t) => t.kind !== "pixel"));
}

/** `loss` with `scales` applied to the feature and style terms that have none of their own. */
function scaleUnscaled(loss: Loss<string>, scales: Record<string, number>): Loss<string> {
  const unscaled = Object.fromEntries(
    Object.entries(scales).filter(([layer]) =>
      loss.terms.every((t) => !("layer" in t) || t.layer !== layer || t.scale === 1)
    ),
  );
  return withFeatureScales(loss, unscaled);
}

/**
 * The factor that makes the perceptual terms start at `ratio` × the pixel term, measured on the
 * bicubic upscale of `highRes`'s downscale (where an untrained residual U-Net starts). fastai's
 * weights balance the terms for torchvision vgg16_bn features; with other weights (Keras 'caffe',
 * random) even calibrated Gram terms come out orders of magnitude larger, and the pixel term
 * (which PSNR measures) would vanish in the total.
 */
async function startingBalance(
  loss: Loss<string>,
  net: LossNetwork<string>,
  highRes: tf.Tensor4D,
  scale: number,
  ratio: number,
): Promise<number> {
  const perceptual = perceptualTerms(loss);
  const pixels = pixelTerms(loss);
  if (perceptual.terms.length === 0 || pixels.terms.length === 0) return 1;
  const [p, q] = scope(() => {
    const bicubic = bicubicUpscale(bicubicDownscale(highRes, scale, { quantize: "uint8" }), scale);
    return [
      evaluate(perceptual, net, { checkFinite: false })(bicubic, highRes).total,
      evaluate(pixels, net, { checkFinite: false })(bicubic, highRes).total,
    ];
  });
  // Asynchronous reads: webgpu under Deno has no synchronous one.
  const [pv, qv] = [(await p.data())[0]!, (await q.data())[0]!];
  tf.dispose([p, q]);
  return pv > 0 && qv > 0 ? (ratio * qv) / pv : 1;
}

// ---- the run ------------------------------------------------------------------------------------

async function run(o: SuperresOptions): Promise<void> {
  if (o.resume && o.out === "") {
    throw new UsageError("--resume needs --out DIR: the run directory to continue");
  }
  const multiple = o.scale * 2 ** o.depth;
  if (o.crop % multiple !== 0) {
    throw new UsageError(
      `--crop ${o.crop} is not a multiple of scale·2^depth = ${o.scale}·${
        2 ** o.depth
      } = ${multiple}`,
    );
  }
  const runDir = o.out !== "" ? o.out : `runs/superres-${timestamp()}`;
  const images = await loadSplitImages(o.data, o.crop);
  const choice = await initBackend(o.backend === "auto" ? undefined : o.backend);
  console.log(describeBackend(choice));
  const chosen = await chooseLoss(o);
  const evalSets: [string, EvalPair[]][] = [];
  try {
    for (const dir of o.eval) evalSets.push([dir, await loadEvalPairs(dir, o.scale)]);

    // Open the network up to the deepest requested layer; without a choice, the full network
    // (its default layers are known only once it is open).
    using lossNet = await openLossNetwork(
      o.net,
      o.vgg,
      chosen.layers.length > 0
        ? chosen.layers
        : [o.net === "vgg16" ? "block5_conv3" : "block5_conv4"],
      o.seed,
      choice.name !== "webgpu",
    );
    console.log(lossNet.description);
    const net = lossNet.net;
    const layers = chosen.layers.length > 0 ? chosen.layers : defaultLayers(net);

    const heldHR = stackPixels(heldOutCrops(images, o.samples, o.crop));
    const heldLR = bicubicDownscale(heldHR, o.scale, { quantize: "uint8" });
    const heldBicubic = bicubicUpscale(heldLR, o.scale);
    try {
      // Per-layer feature scales from training crops, so that fastai's weights mean the same
      // with ImageNet or random weights (mean |activation| = 1 at every loss layer). A spec's
      // terms that carry their own scale keep it.
      const calibrationHR = stackPixels(trainingCrops(images, 8, o.crop));
      let loss: Loss<string>;
      let balance = 1;
      try {
        const scales = await featureScalesAsync(net, layers, calibrationHR);
        loss = chosen.spec !== undefined ? scaleUnscaled(chosen.spec, scales) : withFeatureScales(
          fastaiFeatureLoss(net, { layers, layerWeights: fastaiWeights(layers.length) }),
          scales,
        );
        if (chosen.spec === undefined && o.balance > 0) {
          balance = await startingBalance(loss, net, calibrationHR, o.scale, o.balance);
          loss = concatLoss(pixelTerms(loss), weighted(balance, perceptualTerms(loss)));
          console.log(
            `perceptual terms weighted x${balance.toPrecision(3)}: at the start (bicubic input) ` +
              `they sum to ${o.balance} x the pixel term (--balance)`,
          );
        }
      } finally {
        calibrationHR.dispose();
      }
      const lossFn = evaluate(loss, net, { checkFinite: false });
      // The table's feature distance: L1 of calibrated features, averaged over the loss layers.
      const featureDistance = evaluate(
        await calibrateAsync(
          layers.reduce<Loss<string>>(
            (acc, l) => concatLoss(acc, feature(l, { distance: "l1", weight: 1 / layers.length })),
            emptyLoss,
          ),
          net,
          heldHR,
        ),
        net,
        { checkFinite: false },
      );

      const unetConfig: Partial<UNetConfig> = {
        inChannels: 3,
        outChannels: 3,
        depth: o.depth,
        baseFilters: o.filters,
        // Batch norm's running statistics lag behind in a run of a few hundred steps, which
        // costs more PSNR at inference than it gains in training here.
        norm: "none",
        upsample: "pixelShuffle",
        scale: o.scale as 2 | 4,
        outputRange: [0, 1],
        residual: true,
        residualUpsample: "bicubic",
        seed: o.seed,
        name: "superres",
      };
      const model = unet(unetConfig);
      console.log(
        `U-Net x${o.scale}: depth ${o.depth}, ${o.filters} base filters, ` +
          `${parameterCount(model, "trainable").toLocaleString("en")} trainable parameters`,
      );
      const config = {
        example: "superres",
        options: o,
        backend: choice.name,
        lossNetwork: lossNet.description,
        randomLossNetwork: lossNet.random,
        loss: encodeLossSpec(loss),
        perceptualBalance: balance,
        unet: unetConfig,
        data: images.map((i) => i.path),
      };
      using tr = trainer({
        model,
        loss: lossFn,
        schedule: oneCycle({ lrMax: o.lr }),
        seed: o.seed,
        config,
      });
      const data: DataFactory = ({ seed, batch }) =>
        srPairs({
          images: images.map((i) => i.train),
          scale: o.scale,
          crop: o.crop,
          batchSize: o.batch,
          seed,
          startBatch: batch,
        });
      const marker = lossNet.random ? "_random-vgg" : "";
      const metricOptions = { yChannel: true, crop: o.scale } as const;
      const result = await tr.fit(data, {
        steps: o.steps,
        runDir,
        resume: o.resume,
        checkpointEvery: o["sample-every"],
        quiet: o.quiet,
        validation: {
          data: () => [{ lowRes: tf.clone(heldLR), highRes: tf.clone(heldHR) }],
          every: o["sample-every"],
          metrics: async (prediction, target) => {
            const p = tf.clipByValue(prediction, 0, 1);
            try {
              return {
                psnr_y: await psnr(p, target, metricOptions),
                ssim_y: await ssim(p, target, metricOptions),
              };
            } finally {
              p.dispose();
            }
          },
        },
        samples: {
          every: o["sample-every"],
          batch: { lowRes: heldLR, highRes: heldHR },
          count: Math.min(o.samples, 4),
          onSample: async (e) => {
            const image = scope(() =>
              sideBySide(bicubicUpscale(e.input, o.scale), e.prediction, e.target)
            );
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
            await Deno.writeTextFile(
              `${runDir}/config.json`,
              JSON.stringify(config, null, 2) + "\n",
            );
          },
        }],
      });
      await saveModel(model, `${runDir}/model`);

      const rows: ResultRow[] = [];
      rows.push(
        ...(await scoreBatch(
          "held-out crops",
          model,
          featureDistance,
          heldLR,
          heldBicubic,
          heldHR,
          o.scale,
        )),
      );
      for (const [dir, pairs] of evalSets) {
        rows.push(...(await scoreFolder(dir, pairs, model, featureDistance, o.scale, o.depth)));
      }
      printTable(rows, o.scale, lossNet.random);
      await Deno.writeTextFile(
        `${runDir}/results.json`,
        JSON.stringify({ scale: o.scale, randomLossNetwork: lossNet.random, rows }, null, 2) + "\n",
      );
      console.log(
        `${result.stepsRun} steps (${result.step} in total)${
          result.resumedFrom ? ` after resuming from ${result.resumedFrom}` : ""
        }; wrote ${runDir}/ (config.json, metrics.csv, samples/, checkpoints/, model/, ` +
          "results.json)",
      );
      model.dispose();
    } finally {
      tf.dispose([heldHR, heldLR, heldBicubic]);
    }
  } finally {
    for (const [, pairs] of evalSets) for (const p of pairs) tf.dispose([p.highRes, p.lowRes]);
  }
}

// ---- scoring ------------------------------------------------------------------------------------

/** One row of the final table. */
interface ResultRow {
  readonly set: string;
  readonly method: "bicubic" | "model";
  readonly psnrY: number;
  readonly ssimY: number;
  readonly featureL1: number;
}

/** The feature distance of `prediction` to `target`, read back asynchronously (webgpu has no sync read). */
async function featureL1(
  fn: LossFn,
  prediction: tf.Tensor4D,
  target: tf.Tensor4D,
): Promise<number> {
  const value = scope(() => fn(prediction, target).total);
  const v = (await value.data())[0]!;
  value.dispose();
  return v;
}

async function scoreBatch(
  set: string,
  model: tfl.LayersModel,
  featureDistance: LossFn,
  lowRes: tf.Tensor4D,
  bicubic: tf.Tensor4D,
  highRes: tf.Tensor4D,
  scale: number,
): Promise<ResultRow[]> {
  const prediction = scope(() => tf.clipByValue(model.predict(lowRes) as tf.Tensor4D, 0, 1));
  try {
    const opts = { yChannel: true, crop: scale } as const;
    const rows: ResultRow[] = [];
    for (const [method, x] of [["bicubic", bicubic], ["model", prediction]] as const) {
      rows.push({
        set,
        method,
        psnrY: await psnr(x, highRes, opts),
        ssimY: await ssim(x, highRes, opts),
        featureL1: await featureL1(featureDistance, x, highRes),
      });
    }
    return rows;
  } finally {
    prediction.dispose();
  }
}

/** Runs the model on a whole image whose size the depth may not divide: edge-pad, predict, crop. */
function predictWhole(
  model: tfl.LayersModel,
  lowRes: tf.Tensor3D,
  scale: number,
  depth: number,
): tf.Tensor4D {
  return scope(() => {
    const m = 2 ** depth;
    const [h, w] = lowRes.shape;
    const ph = (m - (h % m)) % m;
    const pw = (m - (w % m)) % m;
    // Symmetric padding keeps borders natural; it needs the pad smaller than the image.
    const padded = tf.mirrorPad(lowRes, [[0, ph], [0, pw], [0, 0]], "symmetric");
    const out = model.predict(tf.expandDims(padded, 0)) as tf.Tensor4D;
    return tf.clipByValue(tf.slice(out, [0, 0, 0, 0], [1, h * scale, w * scale, -1]), 0, 1);
  });
}

async function scoreFolder(
  dir: string,
  pairs: readonly EvalPair[],
  model: tfl.LayersModel,
  featureDistance: LossFn,
  scale: number,
  depth: number,
): Promise<ResultRow[]> {
  const sums = { bicubic: [0, 0, 0], model: [0, 0, 0] };
  const opts = { yChannel: true, crop: scale } as const;
  for (const pair of pairs) {
    const hr = tf.expandDims(pair.highRes, 0) as tf.Tensor4D;
    const bicubic = scope(() =>
      tf.clipByValue(bicubicUpscale(tf.expandDims(pair.lowRes, 0) as tf.Tensor4D, scale), 0, 1)
    );
    const prediction = predictWhole(model, pair.lowRes, scale, depth);
    try {
      for (const [method, x] of [["bicubic", bicubic], ["model", prediction]] as const) {
        const s = sums[method];
        s[0]! += await psnr(x, hr, opts);
        s[1]! += await ssim(x, hr, opts);
        s[2]! += await featureL1(featureDistance, x as tf.Tensor4D, hr);
      }
    } finally {
      tf.dispose([hr, bicubic, prediction]);
    }
  }
  const n = pairs.length;
  return (["bicubic", "model"] as const).map((method) => ({
    set: `${dir} (${n} images)`,
    method,
    psnrY: sums[method][0]! / n,
    ssimY: sums[method][1]! / n,
    featureL1: sums[method][2]! / n,
  }));
}

function printTable(rows: readonly ResultRow[], scale: number, randomVgg: boolean): void {
  console.log(`\nx${scale} super-resolution, Y channel (BT.601), ${scale}-pixel border shaved:`);
  const header = ["set", "method", "PSNR (dB)", "SSIM", "feature L1"];
  const body = rows.map((r) => [
    r.set,
    r.method,
    r.psnrY.toFixed(2),
    r.ssimY.toFixed(4),
    r.featureL1.toPrecision(4),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  console.log(line(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const b of body) console.log(line(b));
  if (randomVgg) {
    console.log("(feature L1 from a RANDOM-weight VGG: not ImageNet features)");
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));

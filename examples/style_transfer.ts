/**
 * Style transfer with perceptual losses (Johnson, Alahi & Fei-Fei 2016).
 *
 * Default (fast) mode: a transformation network (a U-Net with a residual over its input) is
 * trained on crops of the content photos against ONE style image, whose Gram matrices are
 * computed once (`precomputeTarget`); afterwards any photo is stylised in a single forward pass.
 * `--optimize` instead optimises the pixels of one content image directly (Gatys et al. 2016),
 * with the same loss.
 *
 * ```sh
 * deno run -A examples/style_transfer.ts                           # train on examples/data
 * deno run -A examples/style_transfer.ts --optimize --content examples/data/skimage_chelsea.png
 * deno run -A examples/style_transfer.ts --help
 * # real ImageNet features (VGG-19 blocks 1-3 only, so layers from those blocks), ~2 min:
 * deno run -A examples/style_transfer.ts --optimize --net vgg19 \
 *   --vgg ../shared/data/vgg19_imagenet_blocks1-3 --content-layer relu3_2 \
 *   --style-layers relu1_1,relu2_1,relu3_1
 * ```
 *
 * The default style image is `examples/data/skimage_coffee.png` (a shipped CC0 photo; it is left
 * out of the content images). Writes `runs/style-<time>/` (or `--out`): `config.json`,
 * `metrics.csv`, `samples/` (content | stylised | style), `stylised/<photo>.png` for every content
 * photo, `checkpoints/` and `model/` (fast mode); `config.json`, `metrics.csv`, `steps/` and
 * `stylised.png` (`--optimize`).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type * as tfl from "@tensorflow/tfjs-layers";
import * as t from "io-ts";
import { describeBackend, initBackend } from "../src/backend/mod.ts";
import {
  bicubicResizePixels,
  cropPixels,
  imageFolder,
  imagePairs,
  type Pixels,
  pixelsToTensor,
  readPixels,
  saveImage,
  stackPixels,
} from "../src/data/mod.ts";
import { scope } from "../src/lifetime/mod.ts";
import {
  encodeLossSpec,
  evaluateWithTarget,
  johnson2016StyleTransfer,
  precomputeTarget,
  type TargetLossFn,
} from "../src/loss/mod.ts";
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
  numberFrom,
  parseFlags,
  PositiveInt,
  runMain,
  timestamp,
  UsageError,
} from "./common/cli.ts";
import { sideBySide } from "./common/images.ts";
import { openLossNetwork } from "./common/loss_network.ts";

const PROGRAM = "style_transfer";

/** The default style image: a shipped CC0 photo (coffee cup, latte art, wooden table). */
export const DEFAULT_STYLE = "examples/data/skimage_coffee.png";
/** The default content image of `--optimize`. */
export const DEFAULT_CONTENT = "examples/data/skimage_chelsea.png";

const FLAGS: Record<string, FlagSpec> = {
  data: {
    type: "string",
    default: "examples/data",
    arg: "DIR",
    help: "content photos to train on (the style image is left out)",
  },
  style: { type: "string", default: DEFAULT_STYLE, arg: "PATH", help: "the style image" },
  optimize: {
    type: "boolean",
    help: "optimise the pixels of --content directly (Gatys) instead of training a network",
  },
  content: {
    type: "string",
    default: DEFAULT_CONTENT,
    arg: "PATH",
    help: "with --optimize: the image to stylise",
  },
  size: {
    type: "string",
    default: "128",
    arg: "N",
    help: "content and style images are resized so their shorter side is N",
  },
  steps: { type: "string", default: "", arg: "N", help: "steps [200; --optimize: 100]" },
  batch: { type: "string", default: "4", arg: "N", help: "crops per step" },
  crop: {
    type: "string",
    default: "64",
    arg: "N",
    help: "training crop size (a multiple of 2^depth, <= --size)",
  },
  lr: {
    type: "string",
    default: "",
    arg: "X",
    help: "peak learning rate [2e-3; --optimize: 0.02 (Adam on pixels in [0,1])]",
  },
  "content-weight": {
    type: "string",
    default: "1",
    arg: "X",
    help: "content (feature) loss weight (Johnson: 1)",
  },
  "style-weight": {
    type: "string",
    default: "5",
    arg: "X",
    help: "weight of each style (Gram) layer (Johnson: 5)",
  },
  "tv-weight": {
    type: "string",
    default: "1e-6",
    arg: "X",
    help: "total-variation strength on 0-255 images (Johnson: 1e-6)",
  },
  "content-layer": {
    type: "string",
    default: "",
    arg: "L",
    help: "content layer [vgg16: block3_conv3 (relu3_3); vgg19: block3_conv4]",
  },
  "style-layers": {
    type: "string",
    default: "",
    arg: "L1,L2",
    help: "style layers [vgg16: relu1_2,relu2_2,relu3_3,relu4_3 (Johnson); vgg19: " +
      "relu1_2,relu2_2,relu3_4,relu4_4]",
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
  net: {
    type: "string",
    default: "vgg16",
    arg: "NAME",
    help: "vgg16 | vgg19",
  },
  depth: { type: "string", default: "3", arg: "N", help: "U-Net depth" },
  filters: { type: "string", default: "16", arg: "N", help: "U-Net base filters" },
  samples: { type: "string", default: "4", arg: "N", help: "sample crops per sample image" },
  "sample-every": {
    type: "string",
    default: "50",
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
    help: "run directory (default runs/style-<date>-<time>)",
  },
  resume: {
    type: "boolean",
    help: "continue the run in --out from its latest checkpoint (not with --optimize)",
  },
  quiet: { type: "boolean", help: "no progress bar" },
  help: { type: "boolean", help: "print this help" },
};

/** The help text `--help` prints. */
export const HELP: string = helpText(
  "deno run -A examples/style_transfer.ts [flags]",
  "Fast style transfer (Johnson et al. 2016): trains a U-Net to paint photos in the style of one\n" +
    "image, with a VGG content loss, Gram-matrix style losses and total variation. --optimize\n" +
    "optimises one image's pixels instead (Gatys et al.).",
  FLAGS,
);

const OptionalPositiveInt = numberFrom(
  "a positive integer",
  (n) => Number.isNaN(n) || (Number.isInteger(n) && n > 0),
);
const OptionalPositiveNumber = numberFrom(
  "a number > 0",
  (n) => Number.isNaN(n) || (Number.isFinite(n) && n > 0),
);

const Options = t.type({
  data: t.string,
  style: t.string,
  optimize: t.boolean,
  content: t.string,
  size: PositiveInt,
  steps: OptionalPositiveInt,
  batch: PositiveInt,
  crop: PositiveInt,
  lr: OptionalPositiveNumber,
  "content-weight": NonNegativeNumber,
  "style-weight": NonNegativeNumber,
  "tv-weight": NonNegativeNumber,
  "content-layer": t.string,
  "style-layers": LayerList,
  backend: BackendFlag,
  vgg: t.string,
  net: NetFlag,
  depth: Depth,
  filters: PositiveInt,
  samples: PositiveInt,
  "sample-every": PositiveInt,
  seed: NonNegativeInt,
  out: t.string,
  resume: t.boolean,
  quiet: t.boolean,
});

/** The validated command line (`steps` and `lr` are NaN when left to the mode's default). */
export type StyleTransferOptions = t.TypeOf<typeof Options>;

/**
 * Parse and validate the command line. Returns `"help"` for `--help`.
 *
 * @throws {UsageError} naming the bad flag and what it needs.
 */
export function parseOptions(args: readonly string[]): StyleTransferOptions | "help" {
  return parseFlags(args, FLAGS, Options);
}

/**
 * The example's entry point, callable from tests: parses `args`, trains (or optimises), writes
 * the run directory. Returns the exit status (0 done, 1 failed, 2 bad usage) and prints one-line
 * errors instead of throwing.
 */
export function main(args: string[]): Promise<number> {
  return runMain(PROGRAM, HELP, () => parseOptions(args), run);
}

// ---- images -----------------------------------------------------------------------------------

/** `p` resized (bicubic, antialiased) so its shorter side is `side`. */
function resizeShorterSide(p: Pixels, side: number): Pixels {
  const s = side / Math.min(p.height, p.width);
  const h = Math.max(1, Math.round(p.height * s));
  const w = Math.max(1, Math.round(p.width * s));
  return h === p.height && w === p.width ? p : bicubicResizePixels(p, h, w);
}

/** The centre of `p`, cropped to multiples of `m` (at most `maxH` × `maxW`). */
function centreCrop(p: Pixels, m: number, maxH = p.height, maxW = p.width): Pixels {
  const h = Math.floor(Math.min(p.height, maxH) / m) * m;
  const w = Math.floor(Math.min(p.width, maxW) / m) * m;
  return cropPixels(p, Math.floor((p.height - h) / 2), Math.floor((p.width - w) / 2), h, w);
}

async function readImage(path: string, flag: string, size: number): Promise<Pixels> {
  try {
    await Deno.stat(path);
  } catch {
    throw new UsageError(`${flag} ${path}: no such file`);
  }
  return resizeShorterSide(await readPixels(path, { channels: 3 }), size);
}

async function sameFile(a: string, b: string): Promise<boolean> {
  try {
    return (await Deno.realPath(a)) === (await Deno.realPath(b));
  } catch {
    return false;
  }
}

function baseName(path: string): string {
  const file = path.slice(path.lastIndexOf("/") + 1);
  const dot = file.lastIndexOf(".");
  return dot > 0 ? file.slice(0, dot) : file;
}

async function ensureEmptyDir(dir: string): Promise<void> {
  try {
    for await (const _ of Deno.readDir(dir)) {
      throw new UsageError(`--out ${dir} is not empty; choose a new directory`);
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  await Deno.mkdir(dir, { recursive: true });
}

// ---- the run ----------------------------------------------------------------------------------

async function run(o: StyleTransferOptions): Promise<void> {
  if (o.resume && o.out === "") {
    throw new UsageError("--resume needs --out DIR: the run directory to continue");
  }
  if (o.resume && o.optimize) {
    throw new UsageError("--resume works in training mode only, not with --optimize");
  }
  if (!o.optimize && o.crop % 2 ** o.depth !== 0) {
    throw new UsageError(`--crop ${o.crop} is not a multiple of 2^depth = ${2 ** o.depth}`);
  }
  if (!o.optimize && o.crop > o.size) {
    throw new UsageError(
      `--crop ${o.crop} is larger than --size ${o.size}; lower --crop or raise --size`,
    );
  }
  const runDir = o.out !== "" ? o.out : `runs/style-${timestamp()}`;
  const styleImage = await readImage(o.style, "--style", o.size);

  const choice = await initBackend(o.backend === "auto" ? undefined : o.backend);
  console.log(describeBackend(choice));
  // Johnson's layers; for VGG-19 the last conv of the same blocks.
  const contentLayer = o["content-layer"] !== ""
    ? o["content-layer"]
    : o.net === "vgg16"
    ? "block3_conv3"
    : "block3_conv4";
  const styleLayers = o["style-layers"].length > 0
    ? o["style-layers"]
    : o.net === "vgg16"
    ? ["block1_conv2", "block2_conv2", "block3_conv3", "block4_conv3"]
    : ["block1_conv2", "block2_conv2", "block3_conv4", "block4_conv4"];
  const layers = [contentLayer, ...styleLayers];
  // The range check reads values back synchronously, which webgpu cannot do under Deno.
  using lossNet = await openLossNetwork(o.net, o.vgg, layers, o.seed, choice.name !== "webgpu");
  console.log(lossNet.description);
  const loss = johnson2016StyleTransfer(lossNet.net, {
    contentLayer,
    styleLayers,
    contentWeight: o["content-weight"],
    styleWeight: o["style-weight"],
    tvStrength: o["tv-weight"],
  });
  const style = pixelsToTensor(styleImage);
  const style4 = tf.expandDims(style, 0) as tf.Tensor4D;
  // The style image's Grams, once: every step compares against these.
  using fixed = precomputeTarget(loss, lossNet.net, style4, { kinds: ["style"] });
  tf.dispose([style, style4]);
  const lossFn = evaluateWithTarget(loss, lossNet.net, fixed, { checkFinite: false });
  const config = {
    example: "style_transfer",
    mode: o.optimize ? "optimize (Gatys)" : "fast (Johnson)",
    options: o,
    backend: choice.name,
    lossNetwork: lossNet.description,
    randomLossNetwork: lossNet.random,
    loss: encodeLossSpec(loss),
  };
  const marker = lossNet.random ? "_random-vgg" : "";
  if (o.optimize) {
    await optimize(o, runDir, lossFn, styleImage, config, marker);
  } else {
    await train(o, runDir, lossFn, styleImage, config, marker);
  }
  if (lossNet.random) {
    console.log(
      "(the loss network had RANDOM weights: this is not ImageNet-feature style transfer)",
    );
  }
}

async function train(
  o: StyleTransferOptions,
  runDir: string,
  lossFn: TargetLossFn,
  styleImage: Pixels,
  baseConfig: Record<string, unknown>,
  marker: string,
): Promise<void> {
  const files: string[] = [];
  for (const f of await imageFolder(o.data)) if (!(await sameFile(f, o.style))) files.push(f);
  if (files.length === 0) {
    throw new UsageError(`--data ${o.data}: no content photos besides the style image`);
  }
  const contents = await Promise.all(files.map((f) => readImage(f, "--data", o.size)));
  const steps = Number.isNaN(o.steps) ? 200 : o.steps;
  const lr = Number.isNaN(o.lr) ? 2e-3 : o.lr;
  const unetConfig: Partial<UNetConfig> = {
    inChannels: 3,
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
    name: "style_transfer",
  };
  const config = { ...baseConfig, unet: unetConfig, content: files, steps, lr };
  const model = unet(unetConfig);
  // Fixed sample crops (the centre of each photo) and the centre of the style image beside them.
  const sampleCrops = Array.from(
    { length: o.samples },
    (_, i) => centreCrop(contents[i % contents.length]!, 1, o.crop, o.crop),
  );
  const sampleInput = stackPixels(sampleCrops);
  const styleCrop = scope(() =>
    tf.tile(stackPixels([centreCrop(styleImage, 1, o.crop, o.crop)]), [o.samples, 1, 1, 1])
  ) as tf.Tensor4D;
  try {
    using training = trainer({
      model,
      loss: lossFn,
      schedule: oneCycle({ lrMax: lr }),
      seed: o.seed,
      config,
    });
    const result = await training.fit(
      imagePairs({
        images: contents,
        crop: o.crop,
        batchSize: o.batch,
        seed: o.seed,
        // The network reproduces its input's content: input and target are the same crop.
        degrade: (p) => p,
      }),
      {
        steps,
        runDir,
        resume: o.resume,
        checkpointEvery: o["sample-every"],
        quiet: o.quiet,
        samples: {
          every: o["sample-every"],
          batch: { input: sampleInput, target: sampleInput },
          count: o.samples,
          onSample: async (e) => {
            const image = sideBySide(e.input, e.prediction, styleCrop);
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
      },
    );
    await saveModel(model, `${runDir}/model`);
    const written = await stylise(model, files, contents, o.depth, `${runDir}/stylised`, marker);
    console.log(
      `${result.stepsRun} steps (${result.step} in total); stylised ${written.length} photos into ` +
        `${runDir}/stylised/; wrote ${runDir}/ (config.json, metrics.csv, samples/, checkpoints/, model/)`,
    );
  } finally {
    tf.dispose([sampleInput, styleCrop]);
    model.dispose();
  }
}

/** Runs the trained network over whole photos (centre-cropped to a multiple of 2^depth). */
async function stylise(
  model: tfl.LayersModel,
  files: readonly string[],
  contents: readonly Pixels[],
  depth: number,
  dir: string,
  marker: string,
): Promise<string[]> {
  const written: string[] = [];
  for (const [i, p] of contents.entries()) {
    const x = stackPixels([centreCrop(p, 2 ** depth)]);
    const y = scope(() => tf.clipByValue(model.predict(x) as tf.Tensor4D, 0, 1) as tf.Tensor4D);
    try {
      const path = `${dir}/${baseName(files[i]!)}${marker}.png`;
      await saveImage(path, y);
      written.push(path);
    } finally {
      tf.dispose([x, y]);
    }
  }
  return written;
}

/** Gatys et al.: Adam on the pixels of one image, initialised with the content image. */
async function optimize(
  o: StyleTransferOptions,
  runDir: string,
  lossFn: TargetLossFn,
  styleImage: Pixels,
  baseConfig: Record<string, unknown>,
  marker: string,
): Promise<void> {
  const steps = Number.isNaN(o.steps) ? 100 : o.steps;
  const lr = Number.isNaN(o.lr) ? 0.02 : o.lr;
  const contentPixels = await readImage(o.content, "--content", o.size);
  await ensureEmptyDir(runDir);
  const config = { ...baseConfig, content: o.content, steps, lr };
  await Deno.writeTextFile(`${runDir}/config.json`, JSON.stringify(config, null, 2) + "\n");
  const csv = await Deno.open(`${runDir}/metrics.csv`, {
    write: true,
    create: true,
    truncate: true,
  });
  const encoder = new TextEncoder();
  const content = stackPixels([contentPixels]);
  // The variable takes its own reference to the content's values; `content` stays the target.
  const image = tf.variable(content, true, "stylised_pixels");
  const optimizer = tf.train.adam(lr);
  const started = performance.now();
  let header = false;
  try {
    for (let step = 1; step <= steps; step++) {
      let names: string[] = [];
      const values = scope(() => {
        let terms: tf.Scalar[] = [];
        const { value, grads } = tf.variableGrads(() => {
          const r = lossFn(image as unknown as tf.Tensor4D, content);
          names = Object.keys(r.terms);
          terms = names.map((n) => tf.keep(r.terms[n]!));
          return r.total;
        }, [image]);
        optimizer.applyGradients([{ name: image.name, tensor: grads[image.name]! }]);
        // Pixels stay displayable: clip back into [0, 1] after each update.
        image.assign(tf.clipByValue(image, 0, 1));
        const out = tf.stack([value, ...terms]);
        tf.dispose(terms);
        return out;
      });
      const v = await values.data();
      values.dispose();
      if (!Number.isFinite(v[0]!)) {
        throw new Error(`the loss became ${v[0]} at step ${step}; lower --lr or the weights`);
      }
      if (!header) {
        await csv.write(encoder.encode(`step,elapsed_s,total,${names.join(",")}\n`));
        header = true;
      }
      const elapsed = (performance.now() - started) / 1000;
      await csv.write(encoder.encode(`${step},${elapsed.toFixed(3)},${Array.from(v).join(",")}\n`));
      if (!o.quiet && (step === 1 || step % 10 === 0 || step === steps)) {
        const terms = names.map((n, i) => `${n} ${v[i + 1]!.toPrecision(4)}`).join(", ");
        console.error(
          `step ${step}/${steps} | loss ${v[0]!.toPrecision(4)} (${terms}) | ` +
            `${(elapsed / step).toFixed(2)} s/step`,
        );
      }
      if (step % o["sample-every"] === 0 || step === steps) {
        await saveImage(
          `${runDir}/steps/step-${String(step).padStart(6, "0")}${marker}.png`,
          image,
        );
      }
    }
    await saveImage(`${runDir}/stylised${marker}.png`, image);
    const side = scope(() => {
      const styleThumb = stackPixels([resizeShorterSide(styleImage, content.shape[1])]);
      const w = Math.min(styleThumb.shape[2], content.shape[2]);
      const s = tf.slice(styleThumb, [0, 0, 0, 0], [1, -1, w, 3]);
      return tf.concat([content, image, s], 2);
    });
    await saveImage(`${runDir}/content-stylised-style${marker}.png`, side);
    side.dispose();
    console.log(
      `${steps} steps on ${o.content} (${contentPixels.width}x${contentPixels.height}); wrote ` +
        `${runDir}/ (config.json, metrics.csv, steps/, stylised${marker}.png)`,
    );
  } finally {
    csv.close();
    tf.dispose([content, image]);
    optimizer.dispose();
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));

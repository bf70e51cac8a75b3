/**
 * Style transfer with perceptual losses (Johnson, Alahi & Fei-Fei 2016).
 *
 * Default (fast) mode: a transformation network (a U-Net with instance norm and a residual over
 * its input) is trained on crops of the content photos against ONE style image, whose Gram
 * matrices are computed once (`precomputeTarget`); afterwards any photo is stylised in a single
 * forward pass.
 * `--optimize` instead optimises the pixels of one content image directly (Gatys et al. 2016),
 * with the same loss and the same trainer.
 *
 * ```sh
 * deno run -A examples/style_transfer.ts                           # train on examples/data
 * deno run -A examples/style_transfer.ts --style my_painting.jpg   # your own style
 * deno run -A examples/style_transfer.ts --optimize --content examples/data/skimage_chelsea.png
 * deno run -A examples/style_transfer.ts --help
 * ```
 *
 * The loss: Johnson's (squared-L2 content and Gram terms, Grams normalised by C·H·W, total
 * variation) on Gatys' layers within VGG blocks 1-3 (content relu3_2, style relu1_1, relu2_1,
 * relu3_1), which the examples' embedded ImageNet VGG-19 weights have. The default style image
 * is NASA's Hubble Deep Field (`examples/data/style/`, public domain). Training crops come from
 * the left three quarters of each content photo; the final table scores crops of the right
 * quarter: style loss (against the style Grams) and content loss of the photos as they are and
 * stylised. Writes `runs/style-<time>/` (or `--out`): `report.html`, `config.json`,
 * `metrics.csv`, `samples/` (content | stylised | style crops, and `panel-<photo>.png`: content |
 * stylised, whole, with a ×4 inset), `stylised/<photo>.png` for every content photo,
 * `checkpoints/`, `model/` and `results.json` (fast mode); `config.json`, `metrics.csv`,
 * `steps/` and `stylised.png` (`--optimize`).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import {
  comparisonPanel,
  imageFolder,
  imagePairs,
  type Pixels,
  pixelsToTensor,
  saveImage,
  stackPixels,
  tensorToPixels,
  writePixels,
} from "../src/data/mod.ts";
import { scope } from "../src/lifetime/mod.ts";
import {
  encodeLossSpec,
  evaluate,
  johnson2016StyleTransfer,
  type LossFn,
  precomputeTarget,
} from "../src/loss/mod.ts";
import { constant, type DataFactory, oneCycle } from "../src/train/mod.ts";
import { predictImage, unet } from "../src/unet/mod.ts";
import { command, UsageError } from "./common/cli.ts";
import { count, type FlagValues, list, text, toggle, weight } from "./common/flag_table.ts";
import { sharedFlags } from "./common/flags.ts";
import {
  centreCrop,
  readResized,
  resizeShorterSide,
  saveAndDispose,
  sideBySide,
} from "./common/images.ts";
import { openSession, type Session, stepsDone, train, unetConfig } from "./common/session.ts";
import { heldOutCrops } from "./common/split_images.ts";
import { printTable, scoreHeldOut, splitImage } from "./common/style_eval.ts";

/** The default style image: NASA's Hubble Deep Field (public domain), galaxies on black. */
export const DEFAULT_STYLE = "examples/data/style/skimage_hubble_deep_field.jpg";
/** The default content image of `--optimize`. */
export const DEFAULT_CONTENT = "examples/data/skimage_chelsea.png";

const FLAGS = {
  ...sharedFlags({
    prefix: "style",
    data: "content photos to train on (the style image is left out)",
    steps: ["", "steps [300; --optimize: 100]"],
    lr: ["", "peak learning rate [1e-2; --optimize: 0.02 (Adam on pixels in [0,1])]"],
    batch: "2",
    crop: "training crop size (a multiple of 2^depth, <= --size)",
    depth: "3",
    filters: "16",
    samples: ["4", "sample crops per sample image"],
    sampleEvery: ["50", "write samples (and a checkpoint) every N steps"],
  }),
  resume: toggle("continue the run in --out from its latest checkpoint (not with --optimize)"),
  style: text(DEFAULT_STYLE, "PATH", "the style image"),
  optimize: toggle(
    "optimise the pixels of --content directly (Gatys) instead of training a network",
  ),
  content: text(DEFAULT_CONTENT, "PATH", "with --optimize: the image to stylise"),
  size: count("128", "content images are resized so their shorter side is N"),
  "style-size": count(
    "256",
    "the style image's shorter side: larger makes its patterns larger on the content",
  ),
  "content-weight": weight("1", "content (feature) loss weight (Johnson: 1)"),
  "style-weight": weight("20", "weight of each style (Gram) layer (Johnson: 5)"),
  "tv-weight": weight("1e-6", "total-variation strength on 0-255 images (Johnson: 1e-6)"),
  "content-layer": text(
    "",
    "L",
    "content layer [block3_conv2 (relu3_2)]",
  ),
  "style-layers": list(
    "L1,L2",
    "style layers [block1_conv1,block2_conv1,block3_conv1 (relu1_1,relu2_1,relu3_1)]",
  ),
};

/** The validated command line (`steps` and `lr` are NaN when left to the mode's default). */
export type StyleTransferOptions = FlagValues<typeof FLAGS>;

/**
 * `HELP` is what `--help` prints; `parseOptions(args)` validates a command line (throwing a
 * `UsageError` that names every bad flag); `main(args)` runs the example and returns its exit
 * status (0 done, 1 failed, 2 bad usage), printing errors as one line. Tests call all three.
 */
export const { help: HELP, parse: parseOptions, main } = command(
  "style_transfer",
  "Fast style transfer (Johnson et al. 2016): trains a U-Net to paint photos in the style of one\n" +
    "image, with a VGG content loss, Gram-matrix style losses and total variation. --optimize\n" +
    "optimises one image's pixels instead (Gatys et al.).",
  FLAGS,
  run,
);

async function run(o: StyleTransferOptions): Promise<void> {
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
  const styleImage = await readResized(o.style, "--style", o["style-size"]);
  // Gatys' layers kept within blocks 1-3 (relu1_1, relu2_1, relu3_1 style, relu3_2 content):
  // VGG-16 and VGG-19 both have them, and so do the examples' embedded VGG-19 blocks 1-3.
  const contentLayer = o["content-layer"] || "block3_conv2";
  const styleLayers = o["style-layers"].length > 0
    ? o["style-layers"]
    : ["block1_conv1", "block2_conv1", "block3_conv1"];
  using session = await openSession("style_transfer", o, [contentLayer, ...styleLayers], "style");
  const loss = johnson2016StyleTransfer(session.net, {
    contentLayer,
    styleLayers,
    contentWeight: o["content-weight"],
    styleWeight: o["style-weight"],
    tvStrength: o["tv-weight"],
  });
  // The style image's Grams, once: every step compares against these.
  const style = stackPixels([styleImage]);
  using fixed = precomputeTarget(loss, session.net, style, { kinds: ["style"] });
  style.dispose();
  const lossFn = evaluate(loss, session.net, { target: fixed });
  const config = session.config({
    mode: o.optimize ? "optimize (Gatys)" : "fast (Johnson)",
    loss: encodeLossSpec(loss),
  });
  const plan = { session, lossFn, styleImage, config };
  await (o.optimize ? optimize(o, plan) : fast(o, plan));
  if (session.random) {
    console.log(
      "(the loss network had RANDOM weights: this is not ImageNet-feature style transfer)",
    );
  }
}

/** What both modes share. */
interface Plan {
  readonly session: Session;
  readonly lossFn: LossFn;
  readonly styleImage: Pixels;
  readonly config: Record<string, unknown>;
}

/** Johnson et al.: train a U-Net on content crops, then stylise every content photo. */
async function fast(o: StyleTransferOptions, { session, lossFn, styleImage, config }: Plan) {
  const files: string[] = [];
  const style = await Deno.realPath(o.style);
  for (const f of await imageFolder(o.data)) if (await Deno.realPath(f) !== style) files.push(f);
  if (files.length === 0) {
    throw new UsageError(`--data ${o.data}: no content photos besides the style image`);
  }
  const contents = await Promise.all(files.map((f) => readResized(f, "--data", o.size)));
  // Training crops from the left of each photo, the scores on crops from its right quarter.
  const split = contents.map((p, i) => splitImage(files[i]!, p, o.crop));
  const steps = Number.isNaN(o.steps) ? 300 : o.steps;
  const lr = Number.isNaN(o.lr) ? 1e-2 : o.lr;
  // Instance norm (Ulyanov et al. 2016), as style networks use: without it the Hubble style's
  // dark Grams pulled some runs (other seeds, batch 2) into one black image that sigmoid
  // saturation never let go of, and it keeps more of each photo's content at the same style loss.
  const unet_ = unetConfig(o, { name: "style_transfer", norm: "instance" });
  const held = stackPixels(heldOutCrops(split, o.samples, o.crop));
  const styleCrop = scope(() =>
    tf.tile(stackPixels([centreCrop(styleImage, 1, o.crop, o.crop)]), [o.samples, 1, 1, 1])
  ) as tf.Tensor4D;
  const model = unet(unet_);
  try {
    const result = await train(session, {
      trainee: { model },
      loss: lossFn,
      schedule: oneCycle({ lrMax: lr }),
      // The network reproduces its input's content: input and target are the same crop.
      data: imagePairs({
        images: split.map((s) => s.train),
        crop: o.crop,
        batchSize: o.batch,
        seed: o.seed,
        degrade: (p) => p,
      }),
      steps,
      config: { ...config, unet: unet_, content: files, steps, lr },
      validation: { data: () => [{ input: tf.clone(held), target: tf.clone(held) }] },
      samples: {
        batch: { input: held, target: held },
        count: o.samples,
        dir: "samples",
        image: (e) => sideBySide(e.input, e.prediction, styleCrop),
      },
    });
    const table = await scoreHeldOut(model, lossFn, held);
    printTable(table, held.shape, session.random);
    // Every content photo, whole, through the trained network: the stylised photo alone, and a
    // panel content | stylised with a ×4 inset where they differ most.
    for (const [i, p] of contents.entries()) {
      const name = files[i]!.slice(files[i]!.lastIndexOf("/") + 1).replace(/\.[^.]+$/, "");
      const x = pixelsToTensor(p);
      const y = scope(() => tf.clipByValue(predictImage(model, x), 0, 1));
      const stylised = await tensorToPixels(y);
      tf.dispose([x, y]);
      await writePixels(`${session.runDir}/stylised/${name}${session.marker}.png`, stylised);
      const panel = comparisonPanel([p, stylised], { compare: [1, 0] });
      await writePixels(
        `${session.runDir}/samples/panel-${name}${session.marker}.png`,
        panel.pixels,
      );
    }
    const results = {
      heldOutCrops: o.samples,
      lossNetwork: session.description,
      lossNetworkKind: session.kind,
      randomLossNetwork: session.random,
      table,
    };
    await Deno.writeTextFile(
      `${session.runDir}/results.json`,
      JSON.stringify(results, null, 2) + "\n",
    );
    await result.report.finish({
      table: {
        columns: ["images", "style loss", "content loss", ...Object.keys(table[0]!.terms)],
        rows: table.map((r) => [r.images, r.style, r.content, ...Object.values(r.terms)]),
      },
      summary: [[
        "style loss stylised / unstylised",
        (table[1]!.style / table[0]!.style).toFixed(3),
      ]],
    });
    console.log(
      `${stepsDone(result)}; stylised ${files.length} photos into ${session.runDir}/stylised/; ` +
        `wrote ${session.runDir}/ (report.html, config.json, metrics.csv, samples/ with ` +
        "panel-*.png, checkpoints/, model/, results.json)",
    );
  } finally {
    tf.dispose([held, styleCrop]);
    model.dispose();
  }
}

/** Gatys et al.: Adam on the pixels of one image, initialised with the content image. */
async function optimize(o: StyleTransferOptions, { session, lossFn, styleImage, config }: Plan) {
  const steps = Number.isNaN(o.steps) ? 100 : o.steps;
  const lr = Number.isNaN(o.lr) ? 0.02 : o.lr;
  const contentPixels = await readResized(o.content, "--content", o.size);
  const content = stackPixels([contentPixels]);
  // The variable takes its own copy of the content's values; `content` stays the target.
  const image = tf.variable(content, true, "stylised_pixels");
  // Every step compares the image with the content; the trainer disposes each batch it takes.
  const data: DataFactory = function* () {
    while (true) yield { input: tf.clone(content), target: tf.clone(content) };
  };
  const { runDir, marker } = session;
  try {
    await train(session, {
      trainee: {
        params: [image],
        forward: () => image as unknown as tf.Tensor4D,
        // Pixels stay displayable: clipped back into [0, 1] after each update.
        project: () => image.assign(tf.clipByValue(image, 0, 1)),
      },
      loss: lossFn,
      schedule: constant(lr),
      data,
      steps,
      config: { ...config, content: o.content, steps, lr },
      samples: {
        batch: { input: content, target: content },
        count: 1,
        dir: "steps",
        image: (e) => tf.clone(e.prediction),
      },
      checkpoints: false,
    });
    await saveImage(`${runDir}/stylised${marker}.png`, image);
    const side = scope(() => {
      const styleThumb = stackPixels([resizeShorterSide(styleImage, content.shape[1])]);
      const w = Math.min(styleThumb.shape[2], content.shape[2]);
      return tf.concat([content, image, tf.slice(styleThumb, [0, 0, 0, 0], [1, -1, w, 3])], 2);
    });
    await saveAndDispose(`${runDir}/content-stylised-style${marker}.png`, side);
    console.log(
      `${steps} steps on ${o.content} (${contentPixels.width}x${contentPixels.height}); wrote ` +
        `${runDir}/ (config.json, metrics.csv, steps/, stylised${marker}.png)`,
    );
  } finally {
    tf.dispose([content, image]);
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));

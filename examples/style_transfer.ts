/**
 * Style transfer with perceptual losses (Johnson, Alahi & Fei-Fei 2016).
 *
 * Default (fast) mode: a transformation network (a U-Net with instance norm and resize-
 * convolution upsampling, outputting the image itself) is trained on crops of the content photos
 * against ONE style image, whose Gram matrices are computed once (`precomputeTarget`);
 * afterwards any photo is stylised whole in a single forward pass.
 * `--optimize` instead optimises the pixels of one content image directly (Gatys et al. 2016),
 * with the same loss and the same trainer: slower, and the quality option for one photo.
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
 * relu3_1, weighted 50 : 1 : 1), which the examples' embedded ImageNet VGG-19 weights have. The
 * default style image is The Starry Night (van Gogh 1889, public domain,
 * `examples/data/style/starry_night.jpg`). Photos are read at `--size` (512) on their shorter
 * side, or their own size when smaller. Training crops come from the left three quarters of each
 * photo; one table scores crops of the right quarter (style and content loss of the photos as
 * they are and stylised), another every whole photo: colour distance to the painting, edge
 * correlation with the photo, and lattice peak (see `common/style_stats.ts`). Writes
 * `runs/style-<time>/` (or `--out`): `report.html`, `config.json`, `metrics.csv`, `samples/`
 * (photo | stylised | style crops, and `panel-<photo>.png`: photo | stylised | style, whole, with
 * a ×4 inset), `stylised/<photo>.png` for every content photo, `checkpoints/`, `model/` and
 * `results.json` (fast mode); `config.json`, `metrics.csv`, `steps/`, `stylised.png`,
 * `content-stylised-style.png` and `results.json` (`--optimize`).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import {
  imageFolder,
  imagePairs,
  type Pixels,
  saveImage,
  stackPixels,
  tensorToPixels,
} from "../src/data/mod.ts";
import { scope } from "../src/lifetime/mod.ts";
import { encodeLossSpec, evaluate, type LossFn, precomputeTarget } from "../src/loss/mod.ts";
import { constant, type DataFactory, oneCycle } from "../src/train/mod.ts";
import { unet, UPSAMPLE_MODES } from "../src/unet/mod.ts";
import { oneOf } from "../src/_internal/decode.ts";
import { lpips } from "../src/lpips/mod.ts";
import { lpipsMean } from "./common/lpips_column.ts";
import { styleStats } from "./common/style_stats.ts";
import { styleTransferLoss } from "./common/style_loss.ts";
import { colourKind } from "./common/style_colour.ts";
import { centreCrop, readResized, resizeShorterSide } from "./common/images.ts";
import { heldOutCrops } from "./common/split_images.ts";
import {
  photoReportTable,
  printPhotoTable,
  printTable,
  readAtMost,
  scoreHeldOut,
  splitImage,
  stylisePhotos,
} from "./common/style_eval.ts";
import {
  command,
  count,
  flag,
  type FlagValues,
  list,
  openSession,
  saveAndDispose,
  type Session,
  sharedFlags,
  sideBySide,
  stepsDone,
  text,
  toggle,
  train,
  unetConfig,
  UsageError,
  weight,
} from "../src/experiment/mod.ts";

/** The default style image: Vincent van Gogh's The Starry Night (1889, public domain). */
export const DEFAULT_STYLE = "examples/data/style/starry_night.jpg";
/**
 * The default style layers' weights, multiplying `--style-weight`: relu1_1's Gram (where the
 * colours are) is about 100× smaller than relu2_1's and relu3_1's on The Starry Night, so with
 * equal weights the painting's texture came through but hardly its colours.
 */
export const DEFAULT_LAYER_WEIGHTS: readonly number[] = [50, 1, 1];
/** The default content image of `--optimize`. */
export const DEFAULT_CONTENT = "examples/data/skimage_chelsea.png";

const FLAGS = {
  ...sharedFlags({
    prefix: "style",
    data: "content photos to train on (the style image is left out)",
    steps: ["", "steps [200; --optimize: 100]"],
    lr: ["", "peak learning rate [1e-2; --optimize: 0.02 (Adam on pixels in [0,1])]"],
    batch: "1",
    crop: "training crop size (a multiple of 2^depth, <= --size)",
    depth: "3",
    filters: "16",
    samples: ["4", "sample crops per sample image"],
    sampleEvery: ["50", "write samples (and a checkpoint) every N steps"],
  }),
  // 128-pixel crops, one a step: with 64-pixel crops (two a step, the same pixels) instance norm
  // saw statistics of small patches in training but of a whole 512-pixel photo at inference, and
  // the photos came out as texture with the outlines lost (the cat's edge correlation 0.11-0.48 in
  // three runs; 0.64-0.70 with these crops and content weight 3).
  crop: count("128", "training crop size (a multiple of 2^depth, <= --size)", 4096),
  resume: toggle("continue the run in --out from its latest checkpoint (not with --optimize)"),
  style: text(DEFAULT_STYLE, "PATH", "the style image"),
  optimize: toggle(
    "optimise the pixels of --content directly (Gatys) instead of training a network",
  ),
  content: text(DEFAULT_CONTENT, "PATH", "with --optimize: the image to stylise"),
  size: count(
    "512",
    "photos are resized so their shorter side is N (smaller photos keep their size); the " +
      "stylised photos are written whole at that size",
  ),
  upsample: flag(
    oneOf(UPSAMPLE_MODES),
    "resizeConv",
    "MODE",
    "U-Net upsampling: resizeConv (nearest x2 then 3x3 conv: no lattice) | pixelShuffle | " +
      "transpose | bilinear",
  ),
  "style-size": count(
    "256",
    "the style image's shorter side: larger makes its patterns larger on the content",
  ),
  "content-weight": weight("3", "content (feature) loss weight (Johnson: 1)"),
  "style-weight": weight("20", "weight of each style (Gram) layer (Johnson: 5)"),
  "tv-weight": weight("1e-6", "total-variation strength on 0-255 images (Johnson: 1e-6)"),
  "colour-weight": weight(
    "2e8",
    "weight of the colour term: sliced Wasserstein distance between the RGB pixel distributions " +
      "of the stylised image and the style image (common/style_colour.ts; 0: none)",
  ),
  "colour-directions": count("16", "random RGB directions of the colour term", 1024),
  residual: toggle(
    "the network predicts a residual over the photo (in logit space) instead of the image " +
      "itself (Johnson's outputs the image): keeps more of the photo's own colours",
  ),
  "style-layer-weights": list(
    "W1,W2",
    "one weight per style layer, multiplying --style-weight [50,1,1 for the default layers " +
      "(relu1_1's Gram, where the colours are, is ~100x smaller than the others'); else 1 each]",
  ),
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
  const loss = styleTransferLoss(session.net, {
    contentLayer,
    styleLayers,
    layerWeights: o["style-layer-weights"],
    // [50, 1, 1] only for the default layers; a list of one's own gets 1 each.
    defaults: o["style-layers"].length > 0 ? styleLayers.map(() => 1) : DEFAULT_LAYER_WEIGHTS,
    styleWeight: o["style-weight"],
    contentWeight: o["content-weight"],
    tvStrength: o["tv-weight"],
    colourWeight: o["colour-weight"],
    colourDirections: o["colour-directions"],
  });
  // The style image's Grams and sorted colour projections, once: every step compares with these.
  const style = stackPixels([styleImage]);
  using fixed = precomputeTarget(loss, session.net, style, { kinds: ["style", colourKind.name] });
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
  // Each photo at --size on its shorter side, or its own size when smaller.
  const contents = await Promise.all(files.map((f) => readAtMost(f, "--data", o.size)));
  // Training crops from the left of each photo, the scores on crops from its right quarter.
  const split = contents.map((p, i) => splitImage(files[i]!, p, o.crop));
  const steps = Number.isNaN(o.steps) ? 200 : o.steps;
  const lr = Number.isNaN(o.lr) ? 1e-2 : o.lr;
  // Instance norm (Ulyanov et al. 2016), as style networks use: without it the Hubble style's
  // dark Grams pulled some runs (other seeds, batch 2) into one black image that sigmoid
  // saturation never let go of, and it keeps more of each photo's content at the same style loss.
  const unet_ = unetConfig(o, {
    name: "style_transfer",
    norm: "instance",
    upsample: o.upsample,
    residual: o.residual,
  });
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
    // Every content photo, whole, through the trained network: the stylised photo alone, a
    // panel photo | stylised | style with a ×4 inset, and the three statistics of each.
    const names = files.map((f) => f.slice(f.lastIndexOf("/") + 1).replace(/\.[^.]+$/, ""));
    using metric = await lpips({ net: "alex" });
    const photos = await stylisePhotos(model, contents, names, styleImage, {
      runDir: session.runDir,
      marker: session.marker,
      multiple: 2 ** o.depth,
    }, metric);
    printPhotoTable(photos);
    const results = {
      heldOutCrops: o.samples,
      lossNetwork: session.description,
      lossNetworkKind: session.kind,
      randomLossNetwork: session.random,
      table,
      photos,
    };
    await Deno.writeTextFile(
      `${session.runDir}/results.json`,
      JSON.stringify(results, null, 2) + "\n",
    );
    await result.report.finish({
      table: photoReportTable(photos),
      summary: [
        [
          "style loss stylised / unstylised (held-out crops)",
          (table[1]!.style / table[0]!.style)
            .toFixed(3),
        ],
        [
          "photos meeting all three targets",
          `${photos.filter((p) => p.ok).length} of ${photos.length}`,
        ],
      ],
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
  const contentPixels = await readAtMost(o.content, "--content", o.size);
  const content = stackPixels([contentPixels]);
  // The variable takes its own copy of the content's values; `content` stays the target.
  const image = tf.variable(content, true, "stylised_pixels");
  // Every step compares the image with the content; the trainer disposes each batch it takes.
  const data: DataFactory = function* () {
    while (true) yield { input: tf.clone(content), target: tf.clone(content) };
  };
  const { runDir, marker } = session;
  const start = performance.now();
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
    const name = o.content.slice(o.content.lastIndexOf("/") + 1).replace(/\.[^.]+$/, "");
    const frame = tf.squeeze(image, [0]) as tf.Tensor3D;
    const stylised = await tensorToPixels(frame);
    frame.dispose();
    using metric = await lpips({ net: "alex" });
    const row = {
      photo: name,
      size: `${stylised.width}x${stylised.height}`,
      seconds: (performance.now() - start) / 1000,
      lpips: await lpipsMean(metric, image, content),
      ...styleStats(contentPixels, stylised, styleImage),
    };
    printPhotoTable([row]);
    await Deno.writeTextFile(
      `${runDir}/results.json`,
      JSON.stringify({ photos: [row] }, null, 2) + "\n",
    );
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

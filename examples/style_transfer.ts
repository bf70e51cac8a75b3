/**
 * Style transfer with perceptual losses (Johnson et al. 2016): a U-Net (instance norm, resize-
 * convolutions) learns on crops of the photos to paint them like ONE style image (The Starry
 * Night; its Grams and colours computed once), then stylises every photo whole. `--optimize`
 * optimises one photo's pixels instead (Gatys et al.). Loss: `styleTransferLoss` (content relu3_2;
 * Grams of relu1_1, relu2_1, relu3_1 weighted 50 : 1 : 1; total variation; colour term).
 *
 * ```sh
 * deno run -A examples/style_transfer.ts [--style painting.jpg] [--optimize] [--help]
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import * as D from "../src/data/mod.ts";
import { oneOf } from "../src/_internal/decode.ts";
import * as L from "../src/loss/mod.ts";
import { type Lpips, lpips } from "../src/lpips/mod.ts";
import { oneCycle } from "../src/train/mod.ts";
import { unet, UPSAMPLE_MODES } from "../src/unet/mod.ts";
import * as X from "../src/experiment/mod.ts";
import { centreCrop, readResized } from "./common/images.ts";
import { heldOutCrops, splitPixels } from "./common/split_images.ts";
import * as S from "./common/style_eval.ts";

/** The default style image: Vincent van Gogh's The Starry Night (1889, public domain). */
export const DEFAULT_STYLE = "examples/data/style/starry_night.jpg";
/** The default style layers' weights, times `--style-weight` (relu1_1 holds the colours). */
export const DEFAULT_LAYER_WEIGHTS: number[] = [50, 1, 1];
const [STYLE_LAYERS, CONTENT] = [["block1_conv1", "block2_conv1", "block3_conv1"], "block3_conv2"];
const { count, flag, list, text, toggle, weight } = X;
const FLAGS = {
  ...X.sharedFlags({
    ...{ prefix: "style", data: "content photos (the style image is left out)", batch: "1" },
    ...{ steps: ["", "steps [200; --optimize: 100]"], crop: "", depth: "3", filters: "16" },
    lr: ["", "peak learning rate [1e-2; --optimize: 0.02 (Adam on pixels in [0,1])]"],
    samples: ["4", "sample crops per sample image"],
    sampleEvery: ["50", "write samples (and a checkpoint) every N steps"],
  }),
  // 128-px crops: with 64 (two a step) instance norm saw small patches' statistics in training
  // but a whole photo's at inference, and the outlines were lost (the cat's edges 0.11-0.48).
  crop: count("128", "training crop size (a multiple of 2^depth, <= --size)", 4096),
  resume: toggle("continue the run in --out from its latest checkpoint (not with --optimize)"),
  style: text(DEFAULT_STYLE, "PATH", "the style image"),
  optimize: toggle("optimise the pixels of --content (Gatys) instead of training a network"),
  content: text("examples/data/skimage_chelsea.png", "PATH", "with --optimize: the image"),
  size: count("512", "photos' shorter side (smaller ones keep theirs), stylised at that size"),
  upsample: flag(oneOf(UPSAMPLE_MODES), "resizeConv", "MODE", "U-Net upsampling"),
  "style-size": count("256", "the style image's shorter side (larger: larger patterns)"),
  "content-weight": weight("3", "content (feature) loss weight (Johnson: 1)"),
  "style-weight": weight("20", "weight of each style (Gram) layer (Johnson: 5)"),
  "tv-weight": weight("1e-6", "total-variation strength on 0-255 images (Johnson: 1e-6)"),
  "colour-weight": weight("2e8", "weight of the sliced-Wasserstein colour term (0: none)"),
  "colour-directions": count("16", "random RGB directions of the colour term", 1024),
  "colour-transfer": flag(X.NonNegativeInt, "10", "N", "colour transfer steps (0: none)"),
  residual: toggle("predict a residual over the photo (keeps its colours), not the image"),
  "style-layer-weights": list("W1,W2", "style layers' weights, times --style-weight [50,1,1]"),
  "content-layer": text("", "L", `content layer [${CONTENT} (relu3_2)]`),
  "style-layers": list("L1,L2", `style layers [${STYLE_LAYERS} (relu1_1,relu2_1,relu3_1)]`),
};
type Options = X.FlagValues<typeof FLAGS>;

/** `HELP` (what `--help` prints), `parseOptions(args)`, and `main(args)` (exit status). */
export const { help: HELP, parse: parseOptions, main } = X.command(
  "style_transfer",
  "Fast style transfer (Johnson et al. 2016): trains a U-Net to paint photos in the style of one\n" +
    "image, with a VGG content loss, Gram-matrix style losses and total variation. --optimize\n" +
    "optimises one image's pixels instead (Gatys et al.).",
  FLAGS,
  run,
);

function badFlags(o: Options, layers: readonly string[], w: readonly number[]): string {
  const [given, depth, fast] = [o["style-layer-weights"].join(","), 2 ** o.depth, !o.optimize];
  if (o.resume && o.optimize) return "--resume works in training mode only, not with --optimize";
  if (fast && o.crop % depth !== 0) return `--crop ${o.crop} is not a multiple of ${depth}`;
  if (fast && o.crop > o.size) return `--crop ${o.crop} is larger than --size ${o.size}`;
  if (w.some((v) => !(v >= 0 && isFinite(v)))) {
    return `--style-layer-weights ${given}: give numbers >= 0`;
  }
  return w.length === layers.length ? "" : `--style-layer-weights has ${w.length} values for ` +
    `${layers.length} style layers (${layers}); give one per layer`;
}

async function run(o: Options): Promise<void> {
  const start = performance.now();
  const [content, own] = [o["content-layer"] || CONTENT, o["style-layers"]];
  const layers = own.length > 0 ? own : STYLE_LAYERS;
  const given = o["style-layer-weights"].map(Number);
  const w = given.length > 0 ? given : own.length > 0 ? layers.map(() => 1) : DEFAULT_LAYER_WEIGHTS;
  const bad = badFlags(o, layers, w);
  if (bad !== "") throw new X.UsageError(bad);
  const style = await readResized(o.style, "--style", o["style-size"]);
  using s = await X.openSession("style_transfer", o, [content, ...layers], "style");
  const loss = L.styleTransferLoss(s.net, {
    ...{ contentLayer: content, styleLayers: layers, styleLayerWeights: w },
    ...{ contentWeight: o["content-weight"], styleWeight: o["style-weight"] },
    ...{ tvStrength: o["tv-weight"], colourWeight: o["colour-weight"] },
    colourDirections: o["colour-directions"],
  });
  // The style image's Grams and colour quantiles, once: every step compares with these.
  const target = D.stackPixels([style]);
  using fixed = L.precomputeTarget(loss, s.net, target, { kinds: ["style", "colour"] });
  target.dispose();
  const lossFn = L.evaluate(loss, s.net, { target: fixed });
  const mode = o.optimize ? "optimize (Gatys)" : "fast (Johnson)";
  const config = s.config({ mode, loss: L.encodeLossSpec(loss) });
  using metric = await lpips({ net: "alex" });
  await (o.optimize ? optimize : fast)(o, s, lossFn, style, config, metric);
  if (s.random) console.log("(the loss network had RANDOM weights: not ImageNet features)");
  console.log(`wall time ${((performance.now() - start) / 1000).toFixed(1)} s`);
}
type Config = Record<string, unknown>;
type Mode = (...a: [Options, X.Session, L.LossFn, D.Pixels, Config, Lpips]) => Promise<void>;
const or = (v: number, d: number) => Number.isNaN(v) ? d : v;
const recolour = (p: D.Pixels, style: D.Pixels, o: Options) =>
  o["colour-transfer"] > 0 ? D.colourTransfer(p, style, { iterations: o["colour-transfer"] }) : p;
const pick = ({ upsample, residual }: Options) => ({ upsample, residual });

// Johnson et al.: train a U-Net on content crops, then stylise every content photo whole.
const fast: Mode = async (o, s, lossFn, style, config, metric) => {
  const { files, names, pixels } = await X.readPhotos(o.data, "--data", o.size, o.style);
  // The network sees each photo in the painting's colours (smooth gradients stay smooth).
  const inputs = pixels.map((p) => recolour(p, style, o));
  // Training crops from the left of each photo, held-out ones from its right quarter.
  const split = inputs.map((p, i) => splitPixels(files[i]!, p, o.crop)!);
  if (split.includes(undefined!)) throw new X.UsageError(`--crop ${o.crop}: a photo is too small`);
  const [steps, lr] = [or(o.steps, 200), or(o.lr, 1e-2)];
  // Instance norm (Ulyanov et al. 2016): without it some runs fell into one black image.
  const net = X.unetConfig(o, { name: "style_transfer", norm: "instance", ...pick(o) });
  const held = D.stackPixels(heldOutCrops(split, o.samples, o.crop));
  const styleCrops = D.stackPixels(Array(o.samples).fill(centreCrop(style, 1, o.crop, o.crop)));
  const model = unet(net);
  try {
    const run = await X.train(s, {
      ...{ trainee: { model }, loss: lossFn, schedule: oneCycle({ lr }), steps },
      // The network reproduces its input's content: input and target are the same crop.
      data: D.imagePairs({
        ...{ images: split.map((p) => p.train), crop: o.crop, batchSize: o.batch, seed: o.seed },
        degrade: (p) => p,
      }),
      config: { ...config, unet: net, content: files, steps, lr },
      validation: { data: () => [{ input: tf.clone(held), target: tf.clone(held) }] },
      samples: {
        ...{ batch: { input: held, target: held }, count: o.samples, dir: "samples" },
        image: (e) => X.sideBySide(e.input, e.prediction, styleCrops),
      },
    });
    const table = await S.scoreHeldOut(model, lossFn, held);
    const out = { runDir: s.runDir, marker: s.marker, multiple: 2 ** o.depth };
    const photos = await S.stylisePhotos(model, pixels, names, style, out, metric, inputs);
    await S.finish(s, run, table, held.shape, photos);
    console.log(`${X.stepsDone(run)}; stylised ${files.length} photos into ${s.runDir}/stylised/`);
  } finally {
    tf.dispose([held, styleCrops]);
    model.dispose();
  }
};

// Gatys et al.: Adam on the pixels of one image, initialised with the content image.
const optimize: Mode = async (o, s, loss, style, config, metric) => {
  const [steps, lr, m] = [or(o.steps, 100), or(o.lr, 0.02), s.marker];
  const photo = await X.readPhoto(o.content, "--content", o.size);
  const content = D.stackPixels([recolour(photo, style, o)]);
  const write = { image: `stylised${m}.png`, panel: `content-stylised-style${m}.png` };
  config = { ...config, content: o.content, steps, lr };
  const plan = { content, loss, steps, lr, config, write: { ...write, reference: style, photo } };
  const r = await X.optimizePixels(s, plan).catch((e) => (content.dispose(), Promise.reject(e)));
  const own = D.stackPixels([photo]);
  const lpips = await X.lpipsMetric(metric)(r.image as tf.Tensor as tf.Tensor4D, own);
  tf.dispose([content, r.image, own]);
  const size = `${photo.width}x${photo.height}`;
  const photoName = o.content.replace(/^.*\/|\.[^.]+$/g, "");
  const row = { photo: photoName, size, seconds: r.seconds, lpips };
  await S.finish(s, undefined, [], [], [{ ...row, ...S.styleStats(photo, r.pixels, style) }]);
  console.log(`${steps} steps on ${o.content}; wrote ${s.runDir}/`);
};

if (import.meta.main) Deno.exit(await main(Deno.args));

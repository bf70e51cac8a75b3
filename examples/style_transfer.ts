/**
 * Style transfer with perceptual losses (Johnson et al. 2016): a U-Net (instance norm, resize-
 * convolutions, a residual over its input) learns on crops of the photos, recoloured to ONE
 * painting's colours (The Starry Night; its Grams computed once), to paint them like it, then
 * stylises every photo whole. `--optimize` optimises one photo's pixels instead (Gatys et al.).
 * The loss: `styleLossOf` (`styleTransferLoss` with Gatys' layers; the sliced-Wasserstein colour
 * term with `--colour-weight`). `--help` for flags.
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
import * as S from "./common/style_eval.ts";

/** The default style image: Vincent van Gogh's The Starry Night (1889, public domain). */
export const DEFAULT_STYLE = "examples/data/style/starry_night.jpg";
/** The default style layers' weights, times `--style-weight` (relu1_1 holds the colours). */
export const DEFAULT_LAYER_WEIGHTS: readonly number[] = X.STYLE_LAYER_WEIGHTS;
const { count, flag, text, toggle } = X;
/** What the network predicts: a residual over its (recoloured) input, or the image itself. */
const OUTPUTS = ["residual", "image"] as const;
const FLAGS = {
  ...X.sharedFlags({
    ...{ prefix: "style", data: "content photos (the style image is left out)", batch: "1" },
    ...{ steps: ["", "steps [200; --optimize: 100]"], crop: "", depth: "3", filters: "16" },
    lr: ["", "peak learning rate [1e-2; --optimize: 0.02 (Adam on pixels in [0,1])]"],
    ...{ samples: ["4", "sample crops"], sampleEvery: ["50", "samples, checkpoint every N steps"] },
  }),
  // 128 px: with 64 (two a step) the cat's outlines were lost (edge correlation 0.11-0.48).
  crop: count("128", "training crop size (a multiple of 2^depth, <= --size)", 4096),
  resume: toggle("continue the run in --out from its latest checkpoint (not with --optimize)"),
  style: text(DEFAULT_STYLE, "PATH", "the style image"),
  optimize: toggle("optimise the pixels of --content (Gatys) instead of training a network"),
  content: text("examples/data/skimage_chelsea.png", "PATH", "with --optimize: the image"),
  size: count("512", "photos' shorter side (smaller ones keep theirs), stylised at that size"),
  upsample: flag(oneOf(UPSAMPLE_MODES), "resizeConv", "MODE", "U-Net upsampling"),
  "style-size": count("256", "the style image's shorter side (larger: larger patterns)"),
  "colour-transfer": flag(X.NonNegativeInt, "20", "N", "colour transfer steps (0: none)"),
  ...X.styleLossFlags(),
  // 0 when training (the library's flag table says 2e8): the colour transfer gives the network the
  // painting's colours, and a colour term on each 128-px crop pushed every crop towards the
  // painting's whole palette, which painted flat areas as large blobs (see README).
  "colour-weight": flag(
    X.orNaN(X.NonNegativeNumber),
    "",
    "X",
    "weight of the sliced-Wasserstein colour term (0: none) [0; --optimize: 2e8]",
  ),
  // residual: the untrained network starts at the recoloured photo, so the early high-lr steps
  // cannot wipe the content out (with "image" every run passed through shapeless blobs at step 50
  // and recovered a backend- and seed-dependent picture; see README).
  output: flag(oneOf(OUTPUTS), "residual", "KIND", "residual over the recoloured photo | image"),
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

function badFlags(o: Options): string {
  const [depth, fast] = [2 ** o.depth, !o.optimize];
  if (o.resume && o.optimize) return "--resume works in training mode only, not with --optimize";
  if (fast && o.crop % depth !== 0) return `--crop ${o.crop} is not a multiple of ${depth}`;
  return fast && o.crop > o.size ? `--crop ${o.crop} is larger than --size ${o.size}` : "";
}

async function run(o: Options): Promise<void> {
  const [start, bad] = [performance.now(), badFlags(o)];
  if (bad !== "") throw new X.UsageError(bad);
  const { content, layers } = X.styleLayersOf(o);
  const style = await X.readResized(o.style, "--style", o["style-size"]);
  using s = await X.openSession("style_transfer", o, [content, ...layers], "style");
  const loss = X.styleLossOf(s.net, { ...o, "colour-weight": colourWeightOf(o) });
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
type Mode = (...a: [Options, X.Session, L.LossFn, D.Pixels, S.Config, Lpips]) => Promise<void>;
const or = (v: number, d: number) => Number.isNaN(v) ? d : v;
/** The colour term's weight: --colour-weight, else 0 when training and 2e8 with --optimize. */
const colourWeightOf = (o: Options): number => or(o["colour-weight"], o.optimize ? 2e8 : 0);
const recolour = (p: D.Pixels, style: D.Pixels, o: Options) =>
  o["colour-transfer"] > 0 ? D.colourTransfer(p, style, { iterations: o["colour-transfer"] }) : p;
const pick = ({ upsample, output }: Options) => ({ upsample, residual: output === "residual" });

// Johnson et al.: train a U-Net on content crops, then stylise every content photo whole.
const fast: Mode = async (o, s, lossFn, style, config, metric) => {
  const { files, names, pixels } = await X.readPhotos(o.data, "--data", o.size, o.style);
  // The network sees each photo in the painting's colours (smooth gradients stay smooth).
  const inputs = pixels.map((p) => recolour(p, style, o));
  // Training crops from the left of each photo, held-out ones from its right quarter.
  const split = inputs.map((p, i) => D.splitPixels(files[i]!, p, o.crop) ?? S.tooSmall(o));
  const [steps, lr] = [or(o.steps, 200), or(o.lr, 1e-2)];
  // Instance norm (Ulyanov et al. 2016): without it some runs fell into one black image.
  const net = X.unetConfig(o, { name: "style_transfer", norm: "instance", ...pick(o) });
  const held = D.stackPixels(D.heldOutCrops(split, o.samples, o.crop));
  const styleCrops = D.stackPixels(Array(o.samples).fill(D.centreCrop(style, 1, o.crop, o.crop)));
  const model = unet(net);
  try {
    const run = await X.train(s, {
      ...{ trainee: { model }, loss: lossFn, schedule: oneCycle({ lr }), steps },
      data: D.imagePairs({ // input and target: the same crop
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
  const row = { photo: S.baseName(o.content), size: `${photo.width}x${photo.height}`, lpips };

  const stats = S.styleStats(photo, r.pixels, style);
  await S.finish(s, undefined, [], [], [{ ...row, seconds: r.seconds, ...stats }]);
  console.log(`${steps} steps on ${o.content}; wrote ${s.runDir}/`);
};

if (import.meta.main) Deno.exit(await main(Deno.args));

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
import { bicubicDownscale, bicubicUpscale, srPairs, stackPixels } from "../src/data/mod.ts";
import { scope } from "../src/lifetime/mod.ts";
import { concatAll } from "fp-ts/lib/Monoid.js";
import {
  calibrate,
  decodeLossSpec,
  encodeLossSpec,
  evaluate,
  fastaiFeatureLoss,
  feature,
  featureScales,
  type Loss,
  LossMonoid,
  withFeatureScales,
} from "../src/loss/mod.ts";
import { psnr, ssim } from "../src/metrics/mod.ts";
import { layersBeforePools, type LossNetwork } from "../src/network/mod.ts";
import { isLeft } from "fp-ts/lib/Either.js";
import { type DataFactory, oneCycle } from "../src/train/mod.ts";
import { parameterCount, unet } from "../src/unet/mod.ts";
import { balancePerceptual } from "./common/balance.ts";
import {
  command,
  flag,
  type FlagValues,
  list,
  numberFrom,
  text,
  UsageError,
  weight,
} from "./common/cli.ts";
import { sharedFlags } from "./common/flags.ts";
import { sideBySide } from "./common/images.ts";
import { openSession, stepsDone, train, unetConfig } from "./common/session.ts";
import { readLossSpec } from "./common/loss_spec.ts";
import { heldOutCrops, loadSplitImages, trainingCrops } from "./common/split_images.ts";
import {
  type EvalPair,
  loadEvalPairs,
  printTable,
  scoreCrops,
  scoreFolder,
} from "./common/sr_eval.ts";

const FLAGS = {
  ...sharedFlags({
    prefix: "superres",
    data: "training photos (PNG/JPEG)",
    steps: "150",
    lr: "3e-3",
    crop: "high-resolution crop size (a multiple of scale·2^depth)",
    depth: "2",
    filters: "32",
    samples: ["8", "held-out crops for samples and the table"],
    sampleEvery: ["50", "validate, write samples and a checkpoint every N steps"],
  }),
  scale: flag(numberFrom("2 or 4", (n) => n === 2 || n === 4), "2", "2|4", "upscaling factor"),
  eval: list(
    "DIR[,DIR]",
    "Set5-style folders (*_HR.png, optional *_LR.png) to score on after training",
  ),
  loss: text("", "SPEC.json", "a JSON loss spec instead of the fastai-style loss (see README)"),
  layers: list("L1,L2,L3", "loss layers (default: the layers just before pools 3, 4, 5)"),
  balance: weight(
    "0.1",
    "perceptual terms start at X x the pixel term (0: the preset's raw weights)",
  ),
};

/** The validated command line. */
export type SuperresOptions = FlagValues<typeof FLAGS>;

/**
 * `HELP` is what `--help` prints; `parseOptions(args)` validates a command line (throwing a
 * `UsageError` that names every bad flag); `main(args)` runs the example and returns its exit
 * status (0 done, 1 failed, 2 bad usage), printing errors as one line. Tests call all three.
 */
export const { help: HELP, parse: parseOptions, main } = command(
  "superres",
  "Trains a super-resolution U-Net with a perceptual loss and scores it against bicubic.",
  FLAGS,
  run,
);

async function run(o: SuperresOptions): Promise<void> {
  const multiple = o.scale * 2 ** o.depth;
  if (o.crop % multiple !== 0) {
    const m = `${o.scale}·${2 ** o.depth} = ${multiple}`;
    throw new UsageError(`--crop ${o.crop} is not a multiple of scale·2^depth = ${m}`);
  }
  const images = await loadSplitImages(o.data, o.crop);
  const spec = await readLossSpec(o.loss);
  const asked = spec !== undefined ? [...spec.layers] : o.layers;
  // Without a layer choice, the whole network: its default layers are known once it is open.
  const deepest = o.net === "vgg16" ? "block5_conv3" : "block5_conv4";
  using session = await openSession("superres", o, asked.length > 0 ? asked : [deepest]);
  const { net, runDir } = session;
  // fastai's layers just before pools 3, 4, 5, or as many as a truncated network has.
  const before = layersBeforePools(net);
  const layers = asked.length > 0
    ? asked
    : before.length >= 5
    ? before.slice(2, 5)
    : before.slice(-3);

  const evalSets: [string, EvalPair[]][] = [];
  const heldHR = stackPixels(heldOutCrops(images, o.samples, o.crop));
  const heldLR = bicubicDownscale(heldHR, o.scale, { quantize: "uint8" });
  const calibrationHR = stackPixels(trainingCrops(images, 8, o.crop));
  const unetOptions = unetConfig(o, {
    scale: o.scale as 2 | 4,
    residualUpsample: "bicubic",
    name: "superres",
  });
  const model = unet(unetOptions);
  try {
    for (const dir of o.eval) evalSets.push([dir, await loadEvalPairs(dir, o.scale)]);
    // Per-layer feature scales from training crops, so that fastai's weights mean the same with
    // ImageNet or random weights (mean |activation| = 1 at every loss layer). A spec's terms
    // that carry their own scale keep them.
    // A resumed run trains on the loss it started with (scales and balance included).
    const reused = session.stored === undefined ? undefined : storedLoss(session.stored, net);
    const scales = reused !== undefined ? {} : await featureScales(net, layers, calibrationHR);
    let loss = reused !== undefined
      ? reused.loss
      : spec !== undefined
      ? withFeatureScales(spec, unscaledOnly(spec, scales))
      : withFeatureScales(
        fastaiFeatureLoss(net, { layers, layerWeights: fastaiWeights(layers.length) }),
        scales,
      );
    let balance = reused?.balance ?? 1;
    if (reused !== undefined) {
      console.log(
        `loss (perceptual terms weighted x${balance.toPrecision(3)}) as stored in ` +
          `${runDir}/config.json`,
      );
    } else if (spec === undefined && o.balance > 0) {
      // Balanced where an untrained residual U-Net starts: the bicubic upscale.
      const start = scope(() =>
        bicubicUpscale(bicubicDownscale(calibrationHR, o.scale, { quantize: "uint8" }), o.scale)
      );
      ({ loss, weight: balance } = await balancePerceptual(
        loss,
        net,
        start,
        calibrationHR,
        o.balance,
      ));
      start.dispose();
      console.log(
        `perceptual terms weighted x${balance.toPrecision(3)}: at the start (bicubic input) ` +
          `they sum to ${o.balance} x the pixel term (--balance)`,
      );
    }
    // The table's feature distance: L1 of calibrated features, averaged over the loss layers.
    const featureDistance = evaluate(
      await calibrate(
        concatAll(LossMonoid)(
          layers.map((l) => feature(l, { distance: "l1", weight: 1 / layers.length })),
        ),
        net,
        heldHR,
      ),
      net,
    );
    console.log(
      `U-Net x${o.scale}: depth ${o.depth}, ${o.filters} base filters, ` +
        `${parameterCount(model, "trainable").toLocaleString("en")} trainable parameters`,
    );
    const data: DataFactory = ({ seed, batch }) =>
      srPairs({
        images: images.map((i) => i.train),
        scale: o.scale,
        crop: o.crop,
        batchSize: o.batch,
        seed,
        startBatch: batch,
      });
    const metricOptions = { yChannel: true, crop: o.scale } as const;
    const result = await train(session, {
      trainee: { model },
      loss: evaluate(loss, net),
      schedule: oneCycle({ lrMax: o.lr }),
      data,
      steps: o.steps,
      config: session.config({
        loss: encodeLossSpec(loss),
        perceptualBalance: balance,
        unet: unetOptions,
        data: images.map((i) => i.path),
      }),
      validation: {
        data: () => [{ input: tf.clone(heldLR), target: tf.clone(heldHR) }],
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
        batch: { input: heldLR, target: heldHR },
        count: Math.min(o.samples, 4),
        dir: "samples",
        image: (e) =>
          scope(() => sideBySide(bicubicUpscale(e.input, o.scale), e.prediction, e.target)),
      },
    });

    const rows = await scoreCrops(model, featureDistance, heldLR, heldHR, o.scale);
    for (const [dir, pairs] of evalSets) {
      rows.push(...(await scoreFolder(dir, pairs, model, featureDistance, o.scale, 2 ** o.depth)));
    }
    printTable(rows, o.scale, session.random);
    await Deno.writeTextFile(
      `${runDir}/results.json`,
      JSON.stringify({ scale: o.scale, randomLossNetwork: session.random, rows }, null, 2) + "\n",
    );
    console.log(
      `${stepsDone(result)}; wrote ${runDir}/ (config.json, metrics.csv, samples/, ` +
        "checkpoints/, model/, results.json)",
    );
  } finally {
    model.dispose();
    tf.dispose([heldHR, heldLR, calibrationHR]);
    for (const [, pairs] of evalSets) for (const p of pairs) tf.dispose([p.highRes, p.lowRes]);
  }
}

/** The loss and balance a run stored in its `config.json`. */
function storedLoss(
  stored: Readonly<Record<string, unknown>>,
  net: LossNetwork<string>,
): { loss: Loss<string>; balance: number } {
  const decoded = decodeLossSpec(stored.loss, net);
  const balance = stored.perceptualBalance;
  if (isLeft(decoded) || typeof balance !== "number" || !(balance > 0)) {
    throw new UsageError(
      `--resume: the run's config.json has no usable "loss" and "perceptualBalance"` +
        `${isLeft(decoded) ? ` (${decoded.left.message})` : ""}; start a new run instead`,
    );
  }
  return { loss: decoded.right, balance };
}

/** fastai's [5, 15, 2] for three layers; an even split of their sum otherwise. */
function fastaiWeights(count: number): number[] {
  return count === 3 ? [5, 15, 2] : Array.from({ length: count }, () => 22 / count);
}

/** The scales of the layers that no term of `loss` scales itself. */
function unscaledOnly(loss: Loss<string>, scales: Record<string, number>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(scales).filter(([layer]) =>
      loss.terms.every((t) => !("layer" in t) || t.layer !== layer || t.scale === 1)
    ),
  );
}

if (import.meta.main) Deno.exit(await main(Deno.args));

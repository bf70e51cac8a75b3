/**
 * Super-resolution: a U-Net learns to upscale photos ×2 (or ×4), trained with a fastai-style
 * perceptual loss (pixel L1 + VGG feature and Gram terms) on real ImageNet features, and is scored
 * against bicubic.
 *
 * ```sh
 * deno run -A examples/superres.ts            # the shipped photos, ×2, a few minutes on 2 cores
 * deno run -A examples/superres.ts --help     # every flag
 * deno run -A examples/superres.ts --eval ../shared/data/Set5/image_SRF_2
 * ```
 *
 * The loss network: ImageNet VGG-16 when cached or downloadable, else the ImageNet VGG-19 blocks
 * 1–3 embedded under `examples/weights/` (offline), with fastai's layers mapped onto them; random
 * weights only with `--vgg random`. One printed line says which and why.
 *
 * Writes `runs/superres-<time>/` (or `--out`): `report.html` (plots of every loss term,
 * validation and the learning rate, the final table and the pictures, updated during the run),
 * `config.json`, `metrics.csv`, `samples/step-*.png` (bicubic | model | truth on held-out crops),
 * `samples/panel-*.png` (each held-out strip and `--eval` image whole: bicubic | model | truth
 * with a ×4 inset where model and bicubic differ most), `checkpoints/`, the final `model/`, and
 * `results.json`. Training crops come from the left three quarters of each photo; the held-out
 * crops and strips from the right quarter. A grey `--eval` FILE (one stored channel) is scored on
 * its own values; an RGB file goes through YCbCr even when its pixels are grey (MATLAB's rule).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type * as tfl from "@tensorflow/tfjs-layers";
import { bicubicDownscale, bicubicUpscale, srPairs, stackPixels } from "../src/data/mod.ts";
import { scope } from "../src/lifetime/mod.ts";
import { concatAll } from "fp-ts/lib/Monoid.js";
import {
  calibrate,
  concatLoss,
  encodeLossSpec,
  evaluate,
  fastaiFeatureLoss,
  feature,
  featureScales,
  type Loss,
  type LossFn,
  LossMonoid,
  withFeatureScales,
} from "../src/loss/mod.ts";
import { psnr, ssim } from "../src/metrics/mod.ts";
import { type Lpips, lpips, lpipsTerm } from "../src/lpips/mod.ts";
import { type DataFactory, oneCycle } from "../src/train/mod.ts";
import { parameterCount, unet } from "../src/unet/mod.ts";
import { readLossSpec } from "./common/loss_spec.ts";
import { targetOnce, type TargetOnceFn } from "./common/target_once.ts";
import { heldOutCrops, loadSplitImages, trainingCrops } from "./common/split_images.ts";
import {
  type EvalPair,
  heldOutPairs,
  loadEvalPairs,
  printTable,
  type ResultRow,
  scoreCrops,
  scoreFolder,
} from "./common/sr_eval.ts";
import { storedLoss, termShares, unscaledOnly, weightsText } from "./common/sr_loss.ts";
import {
  balancePerceptual,
  command,
  flag,
  type FlagValues,
  list,
  numberFrom,
  openSession,
  type Session,
  sharedFlags,
  sideBySide,
  stepsDone,
  text,
  train,
  type TrainedRun,
  unetConfig,
  UsageError,
  weight,
} from "../src/experiment/mod.ts";

const FLAGS = {
  ...sharedFlags({
    prefix: "superres",
    data: "training photos (PNG/JPEG)",
    steps: "200",
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
  "lpips-weight": weight(
    "0",
    "add an LPIPS (alex, v0.1) term of weight X to the loss (0: none; see README for what it does)",
  ),
  balance: weight(
    "0.25",
    "each kind of perceptual term (features, Grams) starts at X x the pixel term (0: the " +
      "preset's raw weights)",
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
  checkCrop(o);
  const images = await loadSplitImages(o.data, o.crop);
  const spec = await readLossSpec(o.loss);
  // Without a layer choice, fastai's (just before pools) on whatever network is found.
  using session = await openSession("superres", o, spec !== undefined ? spec.layers : o.layers);
  const { net, runDir, layers } = session;

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
  const heldStrips = heldOutPairs(images, o.scale);
  try {
    for (const dir of o.eval) evalSets.push([dir, await loadEvalPairs(dir, o.scale)]);
    let { loss, balance } = await trainingLoss(o, session, spec, calibrationHR);
    // LPIPS: a column of the table always; a term of the loss with --lpips-weight (after the
    // balance, which weighs VGG terms against pixels). A resumed run's stored loss has it.
    using metric = await lpips({ net: "alex" });
    if (session.stored === undefined && o["lpips-weight"] > 0) {
      loss = concatLoss(loss, lpipsTerm({ weight: o["lpips-weight"] }));
    }
    // Computed once per truth image for both methods (./common/target_once.ts).
    using featureDistance = await tableFeatureDistance(net, layers, heldHR);
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
    const result = await train(session, {
      trainee: { model },
      loss: evaluate(loss, net, { networks: [metric.network] }),
      schedule: oneCycle({ lrMax: o.lr }),
      data,
      steps: o.steps,
      config: session.config({
        loss: encodeLossSpec(loss),
        perceptualBalance: balance,
        unet: unetOptions,
        data: images.map((i) => i.path),
      }),
      report: {
        title: `superres x${o.scale}: ${runDir}`,
        summary: [
          ["data", `${images.length} photos in ${o.data}`],
          ["crops", `${o.batch} x ${o.crop}² per step, lr ${o.lr} (one-cycle)`],
          ["perceptual weights", `${weightsText(balance)} (--balance ${o.balance})`],
        ],
      },
      validation: heldOutValidation(heldLR, heldHR, o.scale),
      samples: {
        batch: { input: heldLR, target: heldHR },
        count: Math.min(o.samples, 4),
        dir: "samples",
        image: (e) =>
          scope(() => sideBySide(bicubicUpscale(e.input, o.scale), e.prediction, e.target)),
      },
    });

    const t0 = performance.now();
    const scored = { model, featureDistance, scale: o.scale, metric, dir: `${runDir}/samples` };
    const rows = await scoreAll(scored, heldLR, heldHR, heldStrips, evalSets);
    const evalSeconds = (performance.now() - t0) / 1000;
    await writeResults(o, session, result, rows, balance, evalSeconds);
  } finally {
    model.dispose();
    tf.dispose([heldHR, heldLR, calibrationHR]);
    for (const p of heldStrips) tf.dispose([p.highRes, p.lowRes]);
    for (const [, pairs] of evalSets) for (const p of pairs) tf.dispose([p.highRes, p.lowRes]);
  }
}

/** The table on stdout, the loss terms' shares, results.json and the finished report. */
async function writeResults(
  o: SuperresOptions,
  session: Session,
  result: TrainedRun,
  rows: ResultRow[],
  balance: Record<string, number>,
  evalSeconds: number,
): Promise<void> {
  printTable(rows, o.scale, session.random);
  const shares = await termShares(`${session.runDir}/metrics.csv`);
  for (const s of shares) console.log(`loss terms' shares of the total at step ${s.line}`);
  console.log(`evaluation (whole images) took ${evalSeconds.toFixed(1)} s`);
  await Deno.writeTextFile(
    `${session.runDir}/results.json`,
    JSON.stringify(
      {
        scale: o.scale,
        lossNetwork: session.description,
        lossNetworkKind: session.kind,
        randomLossNetwork: session.random,
        perceptualBalance: balance,
        termShares: shares.map((s) => ({ step: s.step, shares: s.shares })),
        evalSeconds,
        rows,
      },
      null,
      2,
    ) + "\n",
  );
  await result.report.finish({
    table: {
      columns: [
        "set",
        "method",
        "PSNR Y (dB)",
        "SSIM Y",
        "feature L1",
        "LPIPS alex (lower is better)",
      ],
      rows: rows.map((r) => [
        r.set,
        r.method,
        r.psnrY,
        r.ssimY,
        r.featureL1,
        r.lpipsAlex ?? "n/a",
      ]),
    },
    summary: shares.map((s) => [`term shares, step ${s.step}`, s.text] as const),
  });
  console.log(
    `${
      stepsDone(result)
    }; wrote ${session.runDir}/ (report.html, config.json, metrics.csv, samples/, ` +
      "checkpoints/, model/, results.json)",
  );
}

/** Validation on the held-out crops: PSNR and SSIM on Y, `scale` pixels shaved. */
function heldOutValidation(heldLR: tf.Tensor4D, heldHR: tf.Tensor4D, scale: number) {
  const metricOptions = { yChannel: true, crop: scale } as const;
  return {
    data: () => [{ input: tf.clone(heldLR), target: tf.clone(heldHR) }],
    metrics: async (prediction: tf.Tensor4D, target: tf.Tensor4D) => {
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
  };
}

/** `--crop` must fit the U-Net (a multiple of scale·2^depth) and LPIPS (31×31 at least). */
function checkCrop(o: SuperresOptions): void {
  const multiple = o.scale * 2 ** o.depth;
  if (o.crop % multiple !== 0) {
    const m = `${o.scale}·${2 ** o.depth} = ${multiple}`;
    throw new UsageError(`--crop ${o.crop} is not a multiple of scale·2^depth = ${m}`);
  }
  // LPIPS alex needs 31×31 at least (its fifth tap is 1×1 there).
  if (o["lpips-weight"] > 0 && o.crop < 31) {
    throw new UsageError(
      `--lpips-weight needs crops of at least 31x31 (LPIPS alex's minimum); --crop ${o.crop} ` +
        "is smaller: use --crop 32 or more",
    );
  }
}

/**
 * The training loss and its per-kind balance: a resumed run's as stored in its config.json;
 * else the spec's, or fastai's balanced where an untrained residual U-Net starts (bicubic).
 * Per-layer feature scales from training crops make fastai's weights mean the same with
 * ImageNet or random weights (mean |activation| = 1 at every loss layer); a spec's terms that
 * carry their own scale keep them.
 */
async function trainingLoss(
  o: SuperresOptions,
  session: Session,
  spec: Loss<string> | undefined,
  calibrationHR: tf.Tensor4D,
): Promise<{ loss: Loss<string>; balance: Record<string, number> }> {
  const { net, layers, runDir } = session;
  const reused = session.stored === undefined ? undefined : storedLoss(session.stored, net);
  if (reused !== undefined) {
    console.log(
      `loss (perceptual terms weighted ${weightsText(reused.balance)}) as stored in ` +
        `${runDir}/config.json`,
    );
    return { loss: reused.loss, balance: reused.balance };
  }
  const scales = await featureScales(net, layers, calibrationHR);
  if (spec !== undefined) {
    return { loss: withFeatureScales(spec, unscaledOnly(spec, scales)), balance: {} };
  }
  const loss = withFeatureScales(
    fastaiFeatureLoss(net, { layers, layerWeights: session.layerWeights }),
    scales,
  );
  if (o.balance <= 0) return { loss, balance: {} };
  const start = scope(() =>
    bicubicUpscale(bicubicDownscale(calibrationHR, o.scale, { quantize: "uint8" }), o.scale)
  );
  const balanced = await balancePerceptual(loss, net, start, calibrationHR, o.balance);
  start.dispose();
  console.log(
    `perceptual terms weighted ${weightsText(balanced.weights)}: at the start (bicubic input) ` +
      `each kind sums to ${o.balance} x the pixel term (--balance)`,
  );
  return { loss: balanced.loss, balance: balanced.weights };
}

/** The table's feature distance: L1 of calibrated features, averaged over the loss layers. */
async function tableFeatureDistance(
  net: Session["net"],
  layers: readonly string[],
  heldHR: tf.Tensor4D,
): Promise<TargetOnceFn> {
  // The table's feature distance: L1 of calibrated features, averaged over the loss layers.
  return targetOnce(
    await calibrate(
      concatAll(LossMonoid)(
        layers.map((l) => feature(l, { distance: "l1", weight: 1 / layers.length })),
      ),
      net,
      heldHR,
    ),
    net,
  );
}

/** The final table's rows: held-out crops, held-out strips and each `--eval` folder. */
async function scoreAll(
  s: {
    model: tfl.LayersModel;
    featureDistance: LossFn;
    scale: number;
    metric: Lpips;
    dir: string;
  },
  heldLR: tf.Tensor4D,
  heldHR: tf.Tensor4D,
  heldStrips: EvalPair[],
  evalSets: [string, EvalPair[]][],
): Promise<ResultRow[]> {
  const rows = await scoreCrops(s.model, s.featureDistance, heldLR, heldHR, s.scale, s.metric);
  rows.push(
    ...(await scoreFolder("held-out strips", heldStrips, s.model, s.featureDistance, s.scale, {
      dir: s.dir,
      prefix: `panel-heldout-`,
    }, s.metric)),
  );
  for (const [dir, pairs] of evalSets) {
    const tag = dir.replace(/\/+$/, "").split("/").slice(-2).join("-");
    rows.push(
      ...(await scoreFolder(dir, pairs, s.model, s.featureDistance, s.scale, {
        dir: s.dir,
        prefix: `panel-eval-${tag}-`,
      }, s.metric)),
    );
  }
  return rows;
}

if (import.meta.main) Deno.exit(await main(Deno.args));

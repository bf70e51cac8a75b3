/**
 * Super-resolution: a U-Net learns to upscale photos ×2 (or ×4) with fastai's perceptual loss and
 * is scored against bicubic on the right quarter of each photo (it trains on the rest). Writes
 * `runs/superres-<time>/`: report.html, config.json, metrics.csv, samples/ (bicubic | model |
 * truth), checkpoints/, model/, results.json. `--help` lists the flags.
 *
 * @module
 */
import * as data from "../src/data/mod.ts";
import { scope } from "../src/lifetime/mod.ts";
import { encodeLossSpec, evaluate } from "../src/loss/mod.ts";
import { lpips, lpipsTerm } from "../src/lpips/mod.ts";
import { oneCycle } from "../src/train/mod.ts";
import { parameterCount, unet } from "../src/unet/mod.ts";
import * as x from "../src/experiment/mod.ts";

const NOT_SCORED = "; n/a: an image under 31×31 or not scored";

const FLAGS = {
  ...x.sharedFlags({
    prefix: "superres",
    data: "training photos (PNG/JPEG)",
    steps: "200",
    // 3e-3 made the result hang on float rounding: the same seed gave held-out crops 40.50 dB with
    // 2 oneDNN threads, 41.09 with 1 and 40.71 on wasm; 2e-3 gives 40.96, 41.02 and 41.03 (README,
    // "Reproducible across backends").
    lr: "2e-3",
    crop: "high-resolution crop size (a multiple of scale·2^depth)",
    depth: "2",
    filters: "32",
    samples: ["8", "held-out crops for samples and the table"],
    sampleEvery: ["50", "validate, write samples and a checkpoint every N steps"],
  }),
  scale: x.flag(x.numberFrom("2 or 4", (n) => n === 2 || n === 4), "2", "2|4", "upscaling factor"),
  eval: x.list(
    "DIR[,DIR]",
    "Set5-style folders (*_HR.png, optional *_LR.png) to score on after training",
  ),
  loss: x.text("", "SPEC.json", "a JSON loss spec instead of the fastai-style loss (see README)"),
  layers: x.list("L1,L2,L3", "loss layers (default: the layers just before pools 3, 4, 5)"),
  "lpips-weight": x.weight(
    "0",
    "add an LPIPS (alex, v0.1) term of weight X to the loss (0: none; see README for what it does)",
  ),
  ema: x.flag(
    x.numberFrom("0, or a decay in (0, 1)", (n) => n >= 0 && n < 1),
    "0",
    "D",
    "evaluate and save an exponential moving average of the weights with decay D (0: none; 0.9 ≈ the last 10 steps)",
  ),
  balance: x.weight(
    "0.25",
    "each kind of perceptual term (features, Grams) starts at X x the pixel term (0: the preset's raw weights)",
  ),
};

/** The validated command line. */
export type SuperresOptions = x.FlagValues<typeof FLAGS>;

/** `--help`'s text; `parseOptions(args)` checks a command line; `main(args)` runs, exit status. */
export const { help: HELP, parse: parseOptions, main } = x.command(
  "superres",
  "Trains a super-resolution U-Net with a perceptual loss and scores it against bicubic.",
  FLAGS,
  run,
);

async function run(o: SuperresOptions): Promise<void> {
  checkCrop(o);
  const images = await x.loadSplitImages(o.data, o.crop);
  const spec = await x.readLossSpec(o.loss);
  // Without a layer choice, fastai's (just before pools) on whatever network is found.
  using session = await x.openSession("superres", o, spec !== undefined ? spec.layers : o.layers);
  const { net, runDir, layers } = session;
  using held = await x.srHeldOut(images, o);
  const { highRes: hr, lowRes: lr, calibration } = held;
  const scale = o.scale as 2 | 4;
  const unetOptions = x.unetConfig(o, { scale, residualUpsample: "bicubic", name: "superres" });
  using _model = { model: unet(unetOptions), [Symbol.dispose]: () => _model.model.dispose() };
  const model = _model.model;
  // Each kind of perceptual term starts at --balance x the pixel term where the U-Net starts;
  // LPIPS: a table column always, a loss term with --lpips-weight.
  const start = { input: held.start, ratio: o.balance, name: "bicubic input", flag: "--balance" };
  const append = o["lpips-weight"] > 0 ? lpipsTerm({ weight: o["lpips-weight"] }) : undefined;
  const { loss, balance: weights } = await x.runLoss(session, { calibration, spec, start, append });
  const lossConfig = { loss: encodeLossSpec(loss), perceptualBalance: weights };
  using metric = await lpips({ net: "alex" });
  using featureDistance = await x.featureDistance(net, layers, hr);
  const n = parameterCount(model, "trainable").toLocaleString("en");
  const what = `U-Net x${scale}: depth ${o.depth}, ${o.filters} base filters`;
  console.log(`${what}, ${n} trainable parameters`);
  const crops = { images: images.map((i) => i.train), scale, crop: o.crop, batchSize: o.batch };
  const result = await x.train(session, {
    trainee: { model },
    loss: evaluate(loss, net, { networks: [metric.network] }),
    schedule: oneCycle({ lrMax: o.lr }),
    data: ({ seed, batch }) => data.srPairs({ ...crops, seed, startBatch: batch }),
    steps: o.steps,
    ...(o.ema > 0 ? { average: { decay: o.ema } } : {}),
    config: session.config({ ...lossConfig, unet: unetOptions, data: images.map((i) => i.path) }),
    report: {
      title: `superres x${o.scale}: ${runDir}`,
      summary: [
        ["data", `${images.length} photos in ${o.data}`],
        ["crops", `${o.batch} x ${o.crop}² per step, lr ${o.lr} (one-cycle)`],
        ["perceptual weights", `${x.weightsText(weights)} (--balance ${o.balance})`],
      ],
    },
    validation: x.heldOutValidation(lr, hr, x.srValidationMetrics(o.scale)),
    samples: {
      batch: { input: lr, target: hr },
      count: Math.min(o.samples, 4),
      dir: "samples",
      image: (e) =>
        scope(() => x.sideBySide(data.bicubicUpscale(e.input, o.scale), e.prediction, e.target)),
    },
  });

  const t0 = performance.now();
  const sets = held.sets(`${runDir}/samples`);
  const table = await x.srTable(sets, model, featureDistance, o.scale, metric);
  const evalSeconds = (performance.now() - t0) / 1000;
  const shares = await x.termShares(`${runDir}/metrics.csv`);
  await x.finishRun(session, result, {
    heading: `x${o.scale} super-resolution, Y channel (BT.601), ${o.scale}-pixel border shaved:`,
    table,
    notes: [
      ...(session.random ? ["(feature L1 from a RANDOM-weight VGG: not ImageNet features)"] : []),
      `(LPIPS alex: v0.1, lower is better${table.text.includes("n/a") ? NOT_SCORED : ""})`,
      ...shares.map((s) => `loss terms' shares of the total at step ${s.step}: ${s.text}`),
      `evaluation (whole images) took ${evalSeconds.toFixed(1)} s`,
    ],
    results: {
      scale: o.scale,
      ...session.facts,
      perceptualBalance: weights,
      termShares: shares.map((s) => ({ step: s.step, shares: s.shares })),
      evalSeconds,
      rows: x.srResultRows(table),
    },
    summary: shares.map((s) => [`term shares, step ${s.step}`, s.text] as const),
    wrote: "report.html, config.json, metrics.csv, samples/, checkpoints/, model/, results.json",
  });
}

/** `--crop` must fit the U-Net (a multiple of scale·2^depth) and LPIPS (31×31 at least). */
function checkCrop(o: SuperresOptions): void {
  const m = `${o.scale}·${2 ** o.depth} = ${o.scale * 2 ** o.depth}`;
  if (o.crop % (o.scale * 2 ** o.depth) !== 0) {
    throw new x.UsageError(`--crop ${o.crop} is not a multiple of scale·2^depth = ${m}`);
  }
  if (o["lpips-weight"] > 0 && o.crop < 31) {
    throw new x.UsageError(
      `--lpips-weight needs crops of at least 31x31 (LPIPS alex's minimum); --crop ${o.crop} is smaller: use --crop 32 or more`,
    );
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));

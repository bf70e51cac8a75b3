/**
 * `experiment()`: a whole training script from a model, a source of (input, target) pairs and
 * baselines: the command line (shared flags plus yours, `--help`, `--resume`), the run
 * directory, the loss network and a perceptual loss, training with checkpoints, samples and
 * `report.html`, and the final table of the model against the baselines.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type * as tfl from "@tensorflow/tfjs-layers";
import type { Batch } from "../data/mod.ts";
import { encodeLossSpec, evaluate, type Loss } from "../loss/mod.ts";
import { oneCycle } from "../train/mod.ts";
import { type Command, command } from "./cli.ts";
import type { Flags, FlagValues } from "./flag_table.ts";
import { type SharedDefaults, type SharedFlags, sharedFlags, type SharedOptions } from "./flags.ts";
import { runLoss, type StoredLoss } from "./run_loss.ts";
import { sideBySide } from "./images.ts";
import { type Method, type MetricFn, metricTable } from "./metric_table.ts";
import { stepsDone } from "./results.ts";
import { openSession, type Session, train } from "./session.ts";

/** Where a batch stream starts and how long it is: what {@linkcode ExperimentOptions.pairs} gets. */
export interface PairRequest {
  /** The seed (the run's, or the check batch's). */
  readonly seed: number;
  /** Pairs per batch. */
  readonly batchSize: number;
  /** The first batch's index (to resume at step N with the same data). */
  readonly startBatch: number;
  /** How many batches (undefined: endless). */
  readonly batches?: number;
}

/** Options of {@linkcode experiment}; `F` is the script's own flags. */
export interface ExperimentOptions<F extends Flags> {
  /** The script as it is run, e.g. `dejpeg.ts` (named in `--help` and in the resume command). */
  readonly name: string;
  /** What the script does, the first line of `--help`. */
  readonly what: string;
  /** The script's own flags, beside the shared ones (see `sharedFlags`). */
  readonly flags?: F;
  /** Defaults of the shared flags, where the script's differ. */
  readonly defaults?: Partial<SharedDefaults>;
  /** The model to train (its weights seeded from `--seed` for reproducible runs). */
  readonly model: (o: FlagValues<SharedFlags & F>) => tfl.LayersModel;
  /** Batches of (input, target) pairs in [0, 1], deterministic for a request; caller disposes none. */
  readonly pairs: (o: FlagValues<SharedFlags & F>, r: PairRequest) => AsyncIterable<Batch>;
  /** Methods the model is compared with in the final table, e.g. `{ "JPEG input": tf.clone }`. */
  readonly baselines?: Readonly<Record<string, Method>>;
  /** The table's metrics (default PSNR and SSIM, see `defaultMetrics`). */
  readonly metrics?: Readonly<Record<string, MetricFn>>;
  /**
   * The loss, from the session (its network and layers) and the check crops; called again on
   * `--resume`, so it must give the same loss. Default: fastai's on the picked network, features
   * calibrated on the check targets, each kind of perceptual term weighted to start at 0.25 ×
   * the pixel term on the check inputs (`runLoss`); a resumed run reads it back from its
   * `config.json` instead of computing it again.
   */
  readonly loss?: (s: Session, check: Batch) => Promise<Loss<string>>;
}

const DEFAULTS: SharedDefaults = {
  prefix: "run",
  data: "training photos (PNG/JPEG)",
  steps: "200",
  lr: "1e-3",
  crop: "crop size",
  depth: "0",
  filters: "16",
  samples: ["4", "check crops for samples and the table"],
  sampleEvery: ["50", "write samples and a checkpoint every N steps"],
};

/**
 * A training script: `main(args)` parses the shared flags and yours, opens the run directory
 * (`--out`, or `runs/<name>-<time>`; `--resume --out DIR` alone continues it with its own
 * options), picks the loss network (`--vgg`), trains `model` on `pairs` with fastai's perceptual
 * loss (or `loss`) on a one-cycle schedule, checkpoints and writes samples every
 * `--sample-every` steps, and ends with a table of the model against `baselines` on the check
 * crops (pairs of seed `--seed + 1`), in `report.html` and on stdout.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import * as tfl from "@tensorflow/tfjs-layers";
 * import { experiment } from "@perceptual/loss/experiment";
 * import assert from "node:assert/strict";
 *
 * const fill = (n: number, v: number) => tf.fill([n, 16, 16, 3], v) as tf.Tensor4D;
 * const grey = (n: number) => ({ input: fill(n, 0.2), target: fill(n, 0.6) });
 * const { main, help } = experiment({
 *   name: "grey.ts",
 *   what: "Learns to brighten grey.",
 *   model: () => tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [null, null, 3], units: 3 })] }),
 *   pairs: async function* (_o, r) {
 *     for (let i = 0; i < (r.batches ?? Infinity); i++) yield grey(r.batchSize);
 *   },
 *   baselines: { input: tf.clone },
 * });
 * assert.match(help, /Learns to brighten grey/);
 * const out = `${await Deno.makeTempDir()}/run`;
 * const args = ["--steps", "2", "--vgg", "random", "--backend", "cpu", "--quiet", "--out", out];
 * assert.equal(await main(args), 0);
 * assert.ok((await Deno.readTextFile(`${out}/report.html`)).includes("check crops"));
 * ```
 */
export function experiment<F extends Flags = Record<never, never>>(
  options: ExperimentOptions<F>,
): Command<FlagValues<SharedFlags & F>> {
  const d = { ...DEFAULTS, prefix: options.name.replace(/^.*\//, "").replace(/\.ts$/, "") };
  const flags = { ...sharedFlags({ ...d, ...options.defaults }), ...options.flags } as
    & SharedFlags
    & F;
  return command(options.name, options.what, flags, (o) => runExperiment(options, o));
}

/** One run of an {@linkcode experiment}: session, check crops, loss, training, table. */
async function runExperiment<F extends Flags>(
  x: ExperimentOptions<F>,
  all: FlagValues<SharedFlags & F>,
): Promise<void> {
  // The shared flags' values, typed (TypeScript cannot see through the generic intersection).
  const o = all as unknown as SharedOptions;
  using s = await openSession(x.name, o);
  const request = { seed: o.seed + 1, batchSize: o.samples, startBatch: 0, batches: 1 };
  const [check] = await Array.fromAsync(x.pairs(all, request));
  if (check === undefined) throw new RangeError("pairs() gave no batch for the check crops");
  const model = x.model(all);
  try {
    const { loss, balance } = x.loss === undefined
      ? await fastaiLoss(s, check)
      : { loss: await x.loss(s, check), balance: {} };
    const run = await train(s, {
      trainee: { model },
      loss: evaluate(loss, s.net),
      schedule: oneCycle({ lrMax: o.lr }),
      steps: o.steps,
      data: ({ seed, batch }) => x.pairs(all, { seed, batchSize: o.batch, startBatch: batch }),
      config: s.config({ loss: encodeLossSpec(loss), perceptualBalance: balance }),
      samples: {
        batch: check,
        count: o.samples,
        dir: "samples",
        image: (e) => sideBySide(e.input, e.prediction, e.target),
      },
    });
    const table = await metricTable({
      sets: [{ name: "check crops", input: check.input, target: check.target }],
      methods: { ...x.baselines, model },
      ...(x.metrics === undefined ? {} : { metrics: x.metrics }),
    });
    console.log(table.text);
    await run.report.finish({ table: { columns: table.columns, rows: table.rows } });
    console.log(
      `${stepsDone(run)}; wrote ${s.runDir}/ (report.html, metrics.csv, samples/, model/)`,
    );
  } finally {
    model.dispose();
    tf.dispose([check.input, check.target]);
  }
}

/**
 * fastai's loss on the session's network, calibrated and balanced on the check crops (balanced
 * only where the inputs are RGB images of the targets' size); on resume, as config.json has it.
 */
async function fastaiLoss(s: Session, check: Batch): Promise<StoredLoss> {
  const input = check.input;
  const same = input.shape[3] === 3 && input.shape[1] === check.target.shape[1];
  const start = { input, ratio: 0.25, name: "the check inputs" };
  return await runLoss(s, { calibration: check.target, ...(same ? { start } : {}) });
}

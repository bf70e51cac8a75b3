/**
 * A run's loss on the command line and in its run directory: a JSON spec given by `--loss`, the
 * loss and per-kind balance a run stored in its `config.json` (the source of truth on resume),
 * the feature scales a spec still needs, and how the terms' weights and shares are printed.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import { isLeft } from "fp-ts/lib/Either.js";
import {
  concatLoss,
  decodeLossSpec,
  fastaiFeatureLoss,
  featureScales,
  type Loss,
  withFeatureScales,
} from "../loss/mod.ts";
import type { LossNetwork } from "../network/mod.ts";
import { reportDataFromCsv } from "../train/mod.ts";
import { balancePerceptual } from "./balance.ts";
import { UsageError } from "./errors.ts";
import type { Session } from "./session.ts";

/**
 * The loss of a JSON spec file (`--loss PATH`), undefined for `""`; an unreadable file or a bad
 * spec is a {@linkcode UsageError}.
 *
 * @example
 * ```ts
 * import { readLossSpec, UsageError } from "@perceptual/loss/experiment";
 * import assert from "node:assert/strict";
 *
 * assert.equal(await readLossSpec(""), undefined);
 * await assert.rejects(readLossSpec("/no/such.json"), UsageError);
 * const path = await Deno.makeTempFile({ suffix: ".json" });
 * await Deno.writeTextFile(path, JSON.stringify({ terms: [{ kind: "pixel" }] }));
 * assert.equal((await readLossSpec(path))!.terms[0]!.kind, "pixel");
 * ```
 */
export async function readLossSpec(path: string): Promise<Loss<string> | undefined> {
  if (path === "") return undefined;
  let json: string;
  try {
    json = await Deno.readTextFile(path);
  } catch (e) {
    throw new UsageError(`--loss ${path}: cannot read it (${(e as Error).message})`);
  }
  const decoded = decodeLossSpec(json);
  if (isLeft(decoded)) throw new UsageError(`--loss ${path}: ${decoded.left.message}`);
  return decoded.right as Loss<string>;
}

/** A loss as a run stored it, and the per-kind weights `balancePerceptual` gave it. */
export interface StoredLoss {
  /** The loss, its layers checked against the network. */
  readonly loss: Loss<string>;
  /** `{ feature: 7.4e-4, style: 1.2e-6 }`; `{}` when the loss was not balanced. */
  readonly balance: Record<string, number>;
}

/**
 * The loss and balance a run stored in its `config.json` (`loss`, `perceptualBalance`): what a
 * resumed run trains with, rather than a loss computed again. Missing or bad is a
 * {@linkcode UsageError} that says to start a new run.
 *
 * @example
 * ```ts
 * import { initBackend } from "@perceptual/loss/backend";
 * import { storedLoss, UsageError } from "@perceptual/loss/experiment";
 * import { encodeLossSpec, pixel } from "@perceptual/loss/loss";
 * import { vgg16 } from "@perceptual/loss/vgg";
 * import assert from "node:assert/strict";
 *
 * await initBackend("cpu");
 * using net = await vgg16({ weights: { random: 0 }, upTo: "block1_conv2" });
 * const config = { loss: encodeLossSpec(pixel({ weight: 2 })), perceptualBalance: {} };
 * assert.equal(storedLoss(config, net).loss.terms[0]!.weight, 2);
 * assert.throws(() => storedLoss({}, net), UsageError);
 * ```
 */
export function storedLoss(
  stored: Readonly<Record<string, unknown>>,
  net: LossNetwork<string>,
): StoredLoss {
  const decoded = decodeLossSpec(stored.loss, net);
  const balance = stored.perceptualBalance;
  const weights = typeof balance === "object" && balance !== null &&
      Object.values(balance).every((w) => typeof w === "number" && w > 0)
    ? balance as Record<string, number>
    : undefined;
  if (isLeft(decoded) || weights === undefined) {
    throw new UsageError(
      `--resume: the run's config.json has no usable "loss" and "perceptualBalance"` +
        `${isLeft(decoded) ? ` (${decoded.left.message})` : ""}; start a new run instead`,
    );
  }
  return { loss: decoded.right, balance: weights };
}

/**
 * The per-kind weights as text: `feature x0.000738, style x1.18e-6`.
 *
 * @example
 * ```ts
 * import { weightsText } from "@perceptual/loss/experiment";
 * import assert from "node:assert/strict";
 *
 * assert.equal(weightsText({ feature: 0.0007379, style: 1.1842e-6 }), "feature x0.000738, style x0.00000118");
 * assert.equal(weightsText({}), "as the preset set them");
 * ```
 */
export function weightsText(weights: Record<string, number>): string {
  const all = Object.entries(weights);
  return all.length === 0
    ? "as the preset set them"
    : all.map(([k, w]) => `${k} x${w.toPrecision(3)}`).join(", ");
}

/** One step's loss terms as shares of their sum: what {@linkcode termShares} gives. */
export interface TermShares {
  /** The step. */
  readonly step: number;
  /** Each term's share, in [0, 1] (NaN when the sum is 0). */
  readonly shares: Record<string, number>;
  /** `pixel 63.6%, feature:block1_conv2 1.9%, …`. */
  readonly text: string;
}

/**
 * Each loss term's share of the sum of the terms at the first and the last step of a run's
 * `metrics.csv`.
 *
 * @example
 * ```ts
 * import { termShares } from "@perceptual/loss/experiment";
 * import assert from "node:assert/strict";
 *
 * const csv = await Deno.makeTempFile({ suffix: ".csv" });
 * const head = "step,epoch,lr,momentum,total,grad_norm,elapsed_s,pixel,feature:b1\n";
 * await Deno.writeTextFile(csv, head + "1,0,1e-3,0.9,4,1,0.1,3,1\n2,0,1e-3,0.9,2,1,0.2,1,1\n");
 * const [first, last] = await termShares(csv);
 * assert.equal(first!.text, "pixel 75.0%, feature:b1 25.0%");
 * assert.deepEqual(last!.shares, { pixel: 0.5, "feature:b1": 0.5 });
 * ```
 */
export async function termShares(csv: string): Promise<TermShares[]> {
  const { steps } = reportDataFromCsv(await Deno.readTextFile(csv));
  const picks = steps.length > 1 ? [steps[0]!, steps.at(-1)!] : steps;
  return picks.map((row) => {
    const sum = Object.values(row.terms).reduce((a, b) => a + b, 0);
    const shares = Object.fromEntries(
      Object.entries(row.terms).map(([k, v]) => [k, sum > 0 ? v / sum : NaN]),
    );
    const text = Object.entries(shares).map(([k, v]) => `${k} ${(100 * v).toFixed(1)}%`)
      .join(", ");
    return { step: row.step, shares, text };
  });
}

/**
 * The scales of the layers that no term of `loss` scales itself (a spec's terms that carry
 * their own scale keep it).
 *
 * @example
 * ```ts
 * import { unscaledOnly } from "@perceptual/loss/experiment";
 * import { concatLoss, feature } from "@perceptual/loss/loss";
 * import assert from "node:assert/strict";
 *
 * const loss = concatLoss(feature("a", { scale: 2 }), feature("b"));
 * assert.deepEqual(unscaledOnly(loss, { a: 5, b: 7 }), { b: 7 });
 * ```
 */
export function unscaledOnly(
  loss: Loss<string>,
  scales: Record<string, number>,
): Record<string, number> {
  return Object.fromEntries(
    Object.entries(scales).filter(([layer]) =>
      loss.terms.every((t) => !("layer" in t) || t.layer !== layer || t.scale === 1)
    ),
  );
}

/** Options of {@linkcode runLoss}. */
export interface RunLossOptions {
  /** Training targets; each loss layer's features are scaled to mean |activation| = 1 on them. */
  readonly calibration: tf.Tensor4D;
  /** A loss of the caller's (`--loss`) instead of fastai's; layers it scales itself keep theirs. */
  readonly spec?: Loss<string>;
  /**
   * Where an untrained model starts on `calibration` (its bicubic upscale, its input): there each
   * kind of perceptual term is weighted to `ratio` × the pixel term (`balancePerceptual`), named
   * `name` in the printed line. Not for a spec; without it, or ratio 0, the preset's weights.
   */
  readonly start?: {
    readonly input: tf.Tensor4D;
    readonly ratio: number;
    readonly name: string;
    /** The flag that set `ratio`, said in the printed line. */
    readonly flag?: string;
  };
  /** Terms added after the balance, with their own weights (an LPIPS term, say). */
  readonly append?: Loss<string>;
}

/**
 * A run's training loss: a resumed run's as its `config.json` stored it (the source of truth:
 * never computed again); else `spec`, or fastai's on the session's layers and network, its
 * features calibrated and each kind balanced at `start`, then `append`. A line says which.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { openSession, parseFlags, runLoss, sharedFlags } from "@perceptual/loss/experiment";
 * import assert from "node:assert/strict";
 *
 * const flags = sharedFlags({
 *   prefix: "x", data: "photos", steps: "10", lr: "1e-3", crop: "crop", depth: "2", filters: "16",
 *   samples: ["4", "samples"], sampleEvery: ["5", "every"],
 * });
 * const out = `${await Deno.makeTempDir()}/run`;
 * const o = parseFlags(["--vgg", "random", "--backend", "cpu", "--out", out], flags);
 * assert.ok(o !== "help");
 * using s = await openSession("x.ts", o, ["block1_conv2"]);
 * const target = tf.randomUniform([2, 16, 16, 3], 0, 1, "float32", 1) as tf.Tensor4D;
 * const input = tf.fill([2, 16, 16, 3], 0.5) as tf.Tensor4D;
 * const start = { input, ratio: 0.25, name: "grey" };
 * const { loss, balance } = await runLoss(s, { calibration: target, start });
 * assert.deepEqual(loss.terms.map((t) => t.kind), ["pixel", "feature", "style"]);
 * assert.ok(balance.feature! > 0 && balance.style! > 0);
 * tf.dispose([target, input]);
 * ```
 */
export async function runLoss(s: Session, options: RunLossOptions): Promise<StoredLoss> {
  const { net, layers } = s;
  if (s.stored !== undefined) {
    const stored = storedLoss(s.stored, net);
    console.log(
      `loss (perceptual terms weighted ${weightsText(stored.balance)}) as stored in ` +
        `${s.runDir}/config.json`,
    );
    return stored;
  }
  const scales = await featureScales(net, layers, options.calibration);
  const append = (l: Loss<string>) =>
    options.append === undefined ? l : concatLoss(l, options.append);
  const spec = options.spec;
  if (spec !== undefined) {
    return { loss: append(withFeatureScales(spec, unscaledOnly(spec, scales))), balance: {} };
  }
  const loss = withFeatureScales(
    fastaiFeatureLoss(net, { layers, layerWeights: s.layerWeights }),
    scales,
  );
  const start = options.start;
  if (start === undefined || start.ratio <= 0) return { loss: append(loss), balance: {} };
  const balanced = await balancePerceptual(
    loss,
    net,
    start.input,
    options.calibration,
    start.ratio,
  );
  console.log(
    `perceptual terms weighted ${weightsText(balanced.weights)}: at the start (${start.name}) ` +
      `each kind sums to ${start.ratio} x the pixel term${start.flag ? ` (${start.flag})` : ""}`,
  );
  return { loss: append(balanced.loss), balance: balanced.weights };
}

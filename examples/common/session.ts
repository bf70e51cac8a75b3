/**
 * One training session of an example: the run directory, the backend, the loss network, the
 * trainer and its `fit`, `config.json` and the final model, so each example is left with its own
 * data, loss and report.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import { describeBackend, initBackend } from "../../src/backend/mod.ts";
import type { LossFn } from "../../src/loss/mod.ts";
import {
  type FitOptions,
  type FitResult,
  runDirectory,
  RunDirError,
  type RunReport,
  runReport,
  type SampleEvent,
  type Schedule,
  trainer,
  type TrainerOptions,
  type TrainingData,
} from "../../src/train/mod.ts";
import { saveModel, type UNetConfig } from "../../src/unet/mod.ts";
import type { LossNetwork } from "../../src/network/mod.ts";
import { timestamp, UsageError } from "./cli.ts";
import type { SharedOptions } from "./flags.ts";
import { saveAndDispose } from "./images.ts";
import { type LossNetworkKind, pickLossNetwork } from "./pretrained.ts";

/** An example's run: where it writes, which backend, which loss network. */
export interface Session extends Disposable {
  /** The validated command line. */
  readonly options: SharedOptions;
  /** The run directory (`--out`, or `runs/<prefix>-<time>`). */
  readonly runDir: string;
  /** The backend in use. */
  readonly backend: string;
  /** The loss network. */
  readonly net: LossNetwork<string>;
  /** The loss layers: those asked for, or fastai's mapped onto the network's layers. */
  readonly layers: readonly string[];
  /** fastai's per-layer weights for `layers`. */
  readonly layerWeights: readonly number[];
  /** Which weights the loss network has. */
  readonly kind: LossNetworkKind;
  /** One line: which loss network and why (printed, and in config.json). */
  readonly description: string;
  /** True when the loss network has seeded random weights, not ImageNet ones. */
  readonly random: boolean;
  /** `_random-vgg` when the loss network is random (every image written is marked), else "". */
  readonly marker: string;
  /** `config.json`'s common part, with `extra` after it. */
  config(extra: Record<string, unknown>): Record<string, unknown>;
}

/**
 * Check the shared flags, pick the backend and open the loss network (see `pickLossNetwork`: real
 * ImageNet features unless `--vgg random`) up to the deepest of `layers` (empty: fastai's layers
 * on whatever network was found), printing one line for each. The default run directory is
 * `runs/<prefix>-<time>`.
 */
export async function openSession(
  example: string,
  o: SharedOptions,
  layers: readonly string[] = [],
  prefix: string = example,
): Promise<Session> {
  if (o.resume && o.out === "") {
    throw new UsageError("--resume needs --out DIR: the run directory to continue");
  }
  const runDir = o.out !== "" ? o.out : `runs/${prefix}-${timestamp()}`;
  const choice = await initBackend(o.backend === "auto" ? undefined : o.backend);
  console.log(describeBackend(choice));
  // The range check reads values back synchronously, which webgpu cannot do under Deno.
  const picked = await pickLossNetwork({
    vgg: o.vgg,
    net: o.net,
    layers,
    seed: o.seed,
    checkRange: choice.name !== "webgpu",
  });
  console.log(picked.description);
  return {
    options: o,
    runDir,
    backend: choice.name,
    net: picked.net,
    layers: picked.layers,
    layerWeights: picked.layerWeights,
    kind: picked.kind,
    description: picked.description,
    random: picked.random,
    marker: picked.random ? "_random-vgg" : "",
    config: (extra) => ({
      example,
      options: o,
      backend: choice.name,
      lossNetwork: picked.description,
      lossNetworkKind: picked.kind,
      lossLayers: picked.layers,
      randomLossNetwork: picked.random,
      ...extra,
    }),
    [Symbol.dispose]: () => picked[Symbol.dispose](),
  };
}

/** What {@linkcode train} trains, on what, and what it writes besides the defaults. */
export interface TrainPlan {
  /** What is trained: `{ model }`, or `{ params, forward, project }` (pixel optimisation). */
  readonly trainee: Pick<TrainerOptions, "model" | "params" | "forward" | "project">;
  /** The loss. */
  readonly loss: LossFn;
  /** The schedule. */
  readonly schedule: Schedule;
  /** Training batches. */
  readonly data: TrainingData;
  /** The run length. */
  readonly steps: number;
  /** `config.json` (also stored in checkpoints). */
  readonly config: Record<string, unknown>;
  /** Validation, every `--sample-every` steps. */
  readonly validation?: Omit<NonNullable<FitOptions["validation"]>, "every">;
  /** Sample images every `--sample-every` steps, written to `<runDir>/<dir>/step-NNNNNN.png`. */
  readonly samples: {
    readonly batch: { readonly input: tf.Tensor4D; readonly target: tf.Tensor4D };
    readonly count: number;
    readonly dir: string;
    /** The image to write (disposed after writing). */
    readonly image: (e: SampleEvent) => tf.Tensor3D | tf.Tensor4D;
  };
  /** Keep checkpoints (and allow `--resume`); default true. */
  readonly checkpoints?: boolean;
  /**
   * The report's title (default `<example>: <run dir>`), summary lines after the session's, and
   * the run directory's image folders it shows (default `samples`).
   */
  readonly report?: {
    readonly title?: string;
    readonly summary?: readonly (readonly [string, string])[];
    readonly imageDirs?: readonly string[];
  };
}

/** What {@linkcode train} did, and the run's report, to `finish` with the final table. */
export interface TrainedRun extends FitResult {
  /** `<runDir>/report.html`, kept by the trainer during the run. */
  readonly report: RunReport;
}

/**
 * Train with the shared flags: one-cycle or the plan's schedule, checkpoints and samples every
 * `--sample-every` steps, `config.json` once the run directory is claimed, and the final
 * `model/` when a model was trained.
 */
export async function train(s: Session, plan: TrainPlan): Promise<TrainedRun> {
  const o = s.options;
  const example = String(plan.config.example ?? "run");
  const report = runReport({
    title: plan.report?.title ?? `${example}: ${s.runDir}`,
    summary: [
      ["loss network", s.description],
      ["backend", s.backend],
      ["steps", String(plan.steps)],
      ...(plan.report?.summary ?? []),
    ],
    ...(plan.report?.imageDirs === undefined ? {} : { imageDirs: plan.report.imageDirs }),
  });
  const checkpoints = plan.checkpoints ?? true;
  using tr = trainer({
    ...plan.trainee,
    loss: plan.loss,
    schedule: plan.schedule,
    seed: o.seed,
    config: plan.config,
  });
  const every = o["sample-every"];
  let result: FitResult;
  try {
    result = await tr.fit(plan.data, {
      steps: plan.steps,
      runDir: runDirectory(s.runDir, { checkpoints }),
      resume: o.resume,
      checkpointEvery: checkpoints ? every : undefined,
      quiet: o.quiet,
      report,
      validation: plan.validation === undefined ? undefined : { ...plan.validation, every },
      samples: {
        every,
        batch: plan.samples.batch,
        count: plan.samples.count,
        onSample: (e) => {
          const name = `step-${String(e.step).padStart(6, "0")}${s.marker}.png`;
          return saveAndDispose(`${s.runDir}/${plan.samples.dir}/${name}`, plan.samples.image(e));
        },
      },
      callbacks: [{
        async onFitStart() {
          await Deno.writeTextFile(
            `${s.runDir}/config.json`,
            JSON.stringify(plan.config, null, 2) + "\n",
          );
        },
      }],
    });
  } catch (e) {
    if (e instanceof RunDirError) {
      throw new UsageError(`--out ${s.runDir} is not empty: ${e.message}`);
    }
    throw e;
  }
  if (plan.trainee.model !== undefined) await saveModel(plan.trainee.model, `${s.runDir}/model`);
  return { ...result, report };
}

/** `3 steps (5 in total) after resuming from …`: what a run did. */
export function stepsDone(result: FitResult): string {
  const resumed = result.resumedFrom ? ` after resuming from ${result.resumedFrom}` : "";
  return `${result.stepsRun} steps (${result.step} in total)${resumed}`;
}

/**
 * The examples' U-Net: `--depth` and `--filters`, a residual over the input, outputs in [0, 1],
 * seeded by `--seed`; `extra` says the rest (channels, scale, name).
 */
export function unetConfig(
  o: SharedOptions,
  extra: Partial<UNetConfig> & Pick<UNetConfig, "name">,
): Partial<UNetConfig> {
  return {
    inChannels: 3,
    outChannels: 3,
    depth: o.depth,
    baseFilters: o.filters,
    // Batch norm's running statistics lag behind in a run of a few hundred steps (inference uses
    // them), which costs more at inference than it gains; it also doubles training time on wasm.
    norm: "none",
    // pixelShuffle: 4-5x faster to train on wasm than "bilinear" (measured at 4x64x64, depth 3).
    upsample: "pixelShuffle",
    outputRange: [0, 1],
    residual: true,
    seed: o.seed,
    ...extra,
  };
}

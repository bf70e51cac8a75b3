/**
 * One training session of an example: the run directory, the backend, the loss network, the
 * trainer and its `fit`, `config.json` and the final model, so each example is left with its own
 * data, loss and report.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import type * as tfl from "@tensorflow/tfjs-layers";
import { writeFileAtomic } from "../_internal/fs.ts";
import { describeBackend, initBackend, nativeInfo } from "../backend/mod.ts";
import type { LossFn } from "../loss/mod.ts";
import {
  type FitOptions,
  type FitResult,
  runDirectory,
  RunDirError,
  RunFileError,
  type RunLock,
  type RunReport,
  runReport,
  type SampleEvent,
  type Schedule,
  trainer,
  type TrainerOptions,
  type TrainingData,
} from "../train/mod.ts";
import { saveModel, type UNetConfig } from "../unet/mod.ts";
import { UnknownLayerError } from "../network/mod.ts";
import { absolutePaths, programName, readRunConfig, scriptOf, timestamp } from "./cli.ts";
import { InterruptedError, UsageError } from "./errors.ts";
import { interruptOnSignals } from "./_interrupt.ts";
import { lockRunDir } from "./_lock.ts";
import type { SharedOptions } from "./flags.ts";
import { saveAndDispose } from "./images.ts";
import { type PickedLossNetwork, pickLossNetwork } from "./loss_network.ts";

/**
 * An example's run: where it writes, which backend, and the loss network it picked (its layers:
 * those asked for, or fastai's mapped onto the network's layers).
 */
export interface Session extends PickedLossNetwork {
  /** The validated command line. */
  readonly options: SharedOptions;
  /** The run directory (`--out`, or `runs/<prefix>-<time>`). */
  readonly runDir: string;
  /** The backend in use. */
  readonly backend: string;
  /** The run directory's lock, held until the session is disposed: one writer per run. */
  readonly lock: RunLock;
  /** `deno run -A examples/<example>.ts --resume --out <runDir>`: how to continue this run. */
  readonly resumeCommand: string;
  /** `_random-vgg` when the loss network is random (every image written is marked), else "". */
  readonly marker: string;
  /** `config.json`'s common part, with `extra` after it. */
  config(extra: Record<string, unknown>): Record<string, unknown>;
  /**
   * With `--resume`: the run's `config.json`, the source of truth for what was computed before
   * training (the loss, its balance): reuse it rather than recompute it.
   */
  readonly stored: Readonly<Record<string, unknown>> | undefined;
}

/**
 * Check the shared flags, pick the backend and open the loss network (see `pickLossNetwork`: real
 * ImageNet features unless `--vgg random`) up to the deepest of `layers` (empty: fastai's layers
 * on whatever network was found), printing one line for each. The default run directory is
 * `runs/<prefix>-<time>`.
 *
 * @example
 * ```ts
 * import { openSession, parseFlags, sharedFlags } from "@perceptual/loss/experiment";
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
 * assert.equal(s.runDir, out);
 * assert.equal(s.resumeCommand, `deno run -A x.ts --resume --out ${out}`);
 * assert.deepEqual(s.layers, ["block1_conv2"]);
 * ```
 */
export async function openSession(
  example: string,
  o: SharedOptions,
  layers: readonly string[] = [],
  prefix: string = example,
  alsoLoad: readonly string[] = [],
): Promise<Session> {
  const stored = o.resume ? await readRunConfig(o.out) : undefined;
  const runDir = o.out !== "" ? o.out : `runs/${programName(prefix)}-${timestamp()}`;
  const lock = await lockRunDir(runDir, o.resume);
  try {
    return await openLocked(example, o, layers, alsoLoad, stored, runDir, lock);
  } catch (e) {
    lock.release();
    throw e;
  }
}

/**
 * Target pixels per step (batch × crop²) above which `--backend auto` tries `native-host` before
 * `native`: the superres example's step at 16 × 128² was the largest that `native`'s 4 GiB wasm
 * heap held (4.1 GB RSS); 16 × 256² needs about 15 GiB.
 */
const NATIVE_HEAP_PIXELS = 16 * 128 * 128;

/** Whether `--backend auto` should try native-host first: a step bigger than native's heap holds. */
function bigStep(o: SharedOptions): boolean {
  return o.backend === "auto" && o.batch * o.crop ** 2 > NATIVE_HEAP_PIXELS;
}

async function openLocked(
  example: string,
  o: SharedOptions,
  layers: readonly string[],
  alsoLoad: readonly string[],
  stored: Readonly<Record<string, unknown>> | undefined,
  runDir: string,
  lock: RunLock,
): Promise<Session> {
  // The native backend's thread count is part of the run: a resumed run gets the one it had.
  const storedThreads = stored?.nativeThreads;
  const choice = await initBackend(o.backend === "auto" ? undefined : o.backend, {
    ...(typeof storedThreads === "number" ? { nativeThreads: storedThreads } : {}),
    hostMemoryFirst: bigStep(o),
  });
  console.log(describeBackend(choice));
  if (choice.name === "native-host" && bigStep(o)) {
    console.log(
      `native-host instead of native: ${o.batch} × ${o.crop}² per step does not fit native's ` +
        "4 GiB wasm heap (--backend native to insist)",
    );
  }
  const native = choice.name === "native" || choice.name === "native-host"
    ? nativeInfo()
    : undefined;
  const nativeThreads = typeof native === "object" ? native.threads : undefined;
  // The range check reads values back synchronously, which webgpu cannot do under Deno.
  if (
    o.vgg !== "auto" && o.vgg !== "random" && await Deno.stat(o.vgg).then(() => false, () => true)
  ) {
    throw new UsageError(
      `--vgg ${o.vgg}: no such file or folder; give a Keras .h5 file, a tfjs model folder, ` +
        "auto or random",
    );
  }
  const picked = await pickLossNetwork({
    vgg: o.vgg,
    net: o.net,
    layers,
    alsoLoad,
    seed: o.seed,
    checkRange: choice.name !== "webgpu",
  }).catch((e) => {
    // A misspelt layer is a bad flag (exit status 2), like a bad path.
    throw e instanceof UnknownLayerError ? new UsageError(`--layers: ${e.message}`) : e;
  });
  console.log(picked.description);
  if (typeof stored?.lossNetwork === "string" && stored.lossNetwork !== picked.description) {
    // `--vgg auto` resolves to ImageNet or the embedded weights depending on the cache and the
    // network: a resumed run must not switch features under the model.
    picked[Symbol.dispose]();
    throw new UsageError(
      `--resume --out ${runDir}: the run was trained with "${stored.lossNetwork}", but this ` +
        `time the loss network is "${picked.description}"; give --vgg the same weights as the ` +
        "run had, or start a new run",
    );
  }
  // Absolute, so the command works from any folder.
  const resumeCommand = `deno run -A ${scriptOf(example)} --resume --out ${
    absolutePaths({ out: runDir }).out
  }`;
  return {
    options: o,
    runDir,
    backend: choice.name,
    lock,
    resumeCommand,
    net: picked.net,
    layers: picked.layers,
    layerWeights: picked.layerWeights,
    kind: picked.kind,
    description: picked.description,
    random: picked.random,
    marker: picked.random ? "_random-vgg" : "",
    stored,
    config: (extra) => ({
      example: programName(example),
      // Paths absolute, so the run resumes from any working directory.
      options: absolutePaths(o),
      backend: choice.name,
      lossNetwork: picked.description,
      lossNetworkKind: picked.kind,
      lossLayers: picked.layers,
      randomLossNetwork: picked.random,
      // Results can depend on the thread count: recorded, and restored on resume.
      ...(nativeThreads === undefined ? {} : { nativeThreads }),
      ...extra,
    }),
    [Symbol.dispose]: () => {
      try {
        picked[Symbol.dispose]();
      } finally {
        lock.release();
      }
    },
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
 *
 * @example
 * ```ts
 * import { experiment } from "@perceptual/loss/experiment";
 * import assert from "node:assert/strict";
 *
 * // `experiment()` is `openSession` + `train` + `metricTable` put together: see its example.
 * assert.equal(typeof experiment, "function");
 * ```
 */
export async function train(s: Session, plan: TrainPlan): Promise<TrainedRun> {
  const o = s.options;
  const example = String(plan.config.example ?? "run");
  using interrupt = interruptOnSignals();
  const report = runReport({
    title: plan.report?.title ?? `${example}: ${s.runDir}`,
    resumeHint: plan.checkpoints ?? true ? `resume with: ${s.resumeCommand}` : "start it again",
    stoppedBy: () => interrupt.received,
    summary: [
      // The description starts "loss network: " for the console; the row already says so.
      ["loss network", s.description.replace(/^loss network: /, "")],
      ["backend", s.backend],
      ["steps", String(plan.steps)],
      ...(plan.report?.summary ?? []),
    ],
    ...(plan.report?.imageDirs === undefined ? {} : { imageDirs: plan.report.imageDirs }),
  });
  const checkpoints = plan.checkpoints ?? true;
  // A resumed run keeps its config.json; only a new run length is written into it.
  const config = s.stored === undefined
    ? plan.config
    : { ...s.stored, options: { ...(s.stored.options as object), steps: plan.steps } };
  const writeConfig = s.stored === undefined || JSON.stringify(config) !== JSON.stringify(s.stored);
  using tr = trainer({
    ...plan.trainee,
    loss: plan.loss,
    schedule: plan.schedule,
    seed: o.seed,
    config,
  });
  const every = o["sample-every"];
  let result: FitResult;
  try {
    result = await tr.fit(plan.data, {
      steps: plan.steps,
      runDir: runDirectory(s.runDir, { checkpoints, lock: s.lock }),
      resume: o.resume,
      signal: interrupt.signal,
      resumeHint: `resume with: ${s.resumeCommand}`,
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
        async onFitStart(e) {
          // What a resume removed or skipped is said even without a progress display.
          if (o.quiet) { for (const note of e.notes) console.log(`note: ${note}`); }
          if (!writeConfig) return;
          const file = `${s.runDir}/config.json`;
          await writeFileAtomic(file, JSON.stringify(config, null, 2) + "\n").catch((e) => {
            throw new RunFileError(file, "write the run's options", e);
          });
        },
      }],
    });
  } catch (e) {
    if (e instanceof RunDirError) throw new UsageError(`--out ${s.runDir}: ${e.message}`);
    throw e;
  }
  if (result.reason === "stopped" && interrupt.received !== undefined) {
    const saved = result.checkpoint === undefined ? "" : `; checkpoint ${result.checkpoint}`;
    throw new InterruptedError(
      interrupt.received,
      `interrupted (${interrupt.received}) after step ${result.step}${saved}; run.json and ` +
        `report.html say so. ${
          checkpoints ? `Resume with: ${s.resumeCommand}` : "This run keeps no checkpoints"
        }`,
    );
  }
  if (plan.trainee.model !== undefined) {
    await saveModelAtomically(plan.trainee.model, `${s.runDir}/model`);
  }
  return { ...result, report };
}

/**
 * Save the final model into `dir` atomically: written into a temporary folder beside it, then
 * renamed into place (an older `dir` is moved aside first and removed), so a failed save (disk
 * full) never leaves an empty or half-written `model/`. File-system failures become a
 * {@linkcode RunFileError} naming the folder and the fix.
 *
 * @example
 * ```ts
 * import * as tfl from "@tensorflow/tfjs-layers";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { saveModelAtomically } from "@perceptual/loss/experiment";
 * import assert from "node:assert/strict";
 *
 * await initBackend("cpu");
 * const model = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [2], units: 1 })] });
 * const dir = `${await Deno.makeTempDir()}/model`;
 * await saveModelAtomically(model, dir);
 * assert.ok((await Deno.stat(`${dir}/model.json`)).isFile);
 * model.dispose();
 * ```
 */
export async function saveModelAtomically(model: tfl.LayersModel, dir: string): Promise<void> {
  const suffix = crypto.randomUUID().slice(0, 8);
  const tmp = `${dir}.tmp-${suffix}`;
  const old = `${dir}.old-${suffix}`;
  try {
    await Deno.mkdir(tmp);
    await saveModel(model, tmp);
    const hadOld = await Deno.stat(dir).then(() => true, () => false);
    if (hadOld) await Deno.rename(dir, old);
    await Deno.rename(tmp, dir);
    if (hadOld) await Deno.remove(old, { recursive: true });
  } catch (e) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw new RunFileError(dir, "save the model", e);
  }
}

/**
 * `3 steps (5 in total) after resuming from …`: what a run did.
 *
 * @example
 * ```ts
 * import { stepsDone } from "@perceptual/loss/experiment";
 * import assert from "node:assert/strict";
 *
 * const r = { step: 5, stepsRun: 3, resumedFrom: "run/checkpoints/step-00000002" };
 * assert.equal(stepsDone(r as never), "3 steps (5 in total) after resuming from run/checkpoints/step-00000002");
 * ```
 */
export function stepsDone(result: FitResult): string {
  const resumed = result.resumedFrom ? ` after resuming from ${result.resumedFrom}` : "";
  return `${result.stepsRun} steps (${result.step} in total)${resumed}`;
}

/**
 * The examples' U-Net: `--depth` and `--filters`, a residual over the input, outputs in [0, 1],
 * seeded by `--seed`; `extra` says the rest (channels, scale, name).
 *
 * @example
 * ```ts
 * import { sharedFlags, parseFlags, unetConfig } from "@perceptual/loss/experiment";
 * import assert from "node:assert/strict";
 *
 * const flags = sharedFlags({
 *   prefix: "x", data: "photos", steps: "10", lr: "1e-3", crop: "crop", depth: "2", filters: "16",
 *   samples: ["4", "samples"], sampleEvery: ["5", "every"],
 * });
 * const o = parseFlags([], flags);
 * assert.ok(o !== "help");
 * const c = unetConfig(o, { name: "x", scale: 2 });
 * assert.equal(c.depth, 2);
 * assert.equal(c.baseFilters, 16);
 * ```
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

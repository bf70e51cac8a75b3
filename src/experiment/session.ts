/**
 * One training session of an example: the run directory, the backend, the loss network, the
 * trainer and its `fit`, `config.json` and the final model, so each example is left with its own
 * data, loss and report.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
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
import { saveModelAtomically } from "./save_model.ts";
import { UnknownLayerError } from "../network/mod.ts";
import { programName, scriptOf, timestamp } from "./cli.ts";
import { absolutePaths, readRunConfig } from "./run_options.ts";
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
  /** The loss network as results.json records it. */
  readonly facts: {
    readonly lossNetwork: string;
    readonly lossNetworkKind: PickedLossNetwork["kind"];
    readonly randomLossNetwork: boolean;
  };
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

/** The session, its run directory locked: backend, loss network, and the session object. */
async function openLocked(
  example: string,
  o: SharedOptions,
  layers: readonly string[],
  alsoLoad: readonly string[],
  stored: Readonly<Record<string, unknown>> | undefined,
  runDir: string,
  lock: RunLock,
): Promise<Session> {
  const { backend, nativeThreads } = await openBackend(o, stored);
  await checkVggPath(o.vgg);
  const picked = await pickLossNetwork({
    vgg: o.vgg,
    net: o.net,
    layers,
    alsoLoad,
    seed: o.seed,
    // The range check reads values back synchronously, which webgpu cannot do under Deno.
    checkRange: backend !== "webgpu",
    precision: o.precision,
  }).catch((e) => {
    // A misspelt layer is a bad flag (exit status 2), like a bad path.
    throw e instanceof UnknownLayerError ? new UsageError(`--layers: ${e.message}`) : e;
  });
  console.log(picked.description);
  checkSameNetwork(stored, picked, runDir);
  // Absolute, so the command works from any folder.
  const resumeCommand = `deno run -A ${scriptOf(example)} --resume --out ${
    absolutePaths({ out: runDir }).out
  }`;
  const facts = {
    lossNetwork: picked.description,
    lossNetworkKind: picked.kind,
    randomLossNetwork: picked.random,
  };
  return {
    options: o,
    runDir,
    backend,
    lock,
    resumeCommand,
    net: picked.net,
    layers: picked.layers,
    layerWeights: picked.layerWeights,
    kind: picked.kind,
    description: picked.description,
    random: picked.random,
    marker: picked.random ? "_random-vgg" : "",
    facts,
    stored,
    config: (extra) => ({
      example: programName(example),
      // Paths absolute, so the run resumes from any working directory.
      options: absolutePaths(o),
      backend,
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

/** The backend (`--backend`, printed), with a resumed run's native thread count. */
async function openBackend(
  o: SharedOptions,
  stored: Readonly<Record<string, unknown>> | undefined,
): Promise<{ backend: string; nativeThreads: number | undefined }> {
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
  return {
    backend: choice.name,
    nativeThreads: typeof native === "object" ? native.threads : undefined,
  };
}

/** A `--vgg` path that does not exist is a usage error. */
async function checkVggPath(vgg: string): Promise<void> {
  if (vgg === "auto" || vgg === "random") return;
  if (await Deno.stat(vgg).then(() => false, () => true)) {
    throw new UsageError(
      `--vgg ${vgg}: no such file or folder; give a Keras .h5 file, a tfjs model folder, ` +
        "auto or random",
    );
  }
}

/**
 * `--vgg auto` resolves to ImageNet or the embedded weights depending on the cache and the
 * network: a resumed run must not switch features under the model (disposes `picked` if so).
 */
function checkSameNetwork(
  stored: Readonly<Record<string, unknown>> | undefined,
  picked: PickedLossNetwork,
  runDir: string,
): void {
  if (typeof stored?.lossNetwork !== "string" || stored.lossNetwork === picked.description) return;
  picked[Symbol.dispose]();
  throw new UsageError(
    `--resume --out ${runDir}: the run was trained with "${stored.lossNetwork}", but this ` +
      `time the loss network is "${picked.description}"; give --vgg the same weights as the ` +
      "run had, or start a new run",
  );
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
  /**
   * An exponential moving average of the weights (`TrainerOptions.average`): validation, samples
   * and the saved `model/` use it. Default: none.
   */
  readonly average?: TrainerOptions["average"];
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
  using interrupt = interruptOnSignals();
  const report = reportOf(s, plan, interrupt);
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
    seed: s.options.seed,
    config,
    ...(plan.average === undefined ? {} : { average: plan.average }),
  });
  const every = s.options["sample-every"];
  let result: FitResult;
  try {
    result = await tr.fit(plan.data, {
      steps: plan.steps,
      runDir: runDirectory(s.runDir, { checkpoints, lock: s.lock }),
      resume: s.options.resume,
      signal: interrupt.signal,
      resumeHint: `resume with: ${s.resumeCommand}`,
      checkpointEvery: checkpoints ? every : undefined,
      quiet: s.options.quiet,
      report,
      validation: plan.validation === undefined ? undefined : { ...plan.validation, every },
      samples: samplesOf(s, plan),
      callbacks: [{ onFitStart: (e) => startOfFit(s, e.notes, writeConfig ? config : undefined) }],
    });
  } catch (e) {
    if (e instanceof RunDirError) throw new UsageError(`--out ${s.runDir}: ${e.message}`);
    throw e;
  }
  if (result.reason === "stopped" && interrupt.received !== undefined) {
    const saved = result.checkpoint === undefined ? "" : `; checkpoint ${result.checkpoint}`;
    const next = checkpoints ? `Resume with: ${s.resumeCommand}` : "This run keeps no checkpoints";
    throw new InterruptedError(
      interrupt.received,
      `interrupted (${interrupt.received}) after step ${result.step}${saved}; run.json and ` +
        `report.html say so. ${next}`,
    );
  }
  if (plan.trainee.model !== undefined) {
    await saveModelAtomically(plan.trainee.model, `${s.runDir}/model`);
  }
  return { ...result, report };
}

/** The run's report.html: title, resume hint, the session's facts and the plan's summary. */
function reportOf(
  s: Session,
  plan: TrainPlan,
  interrupt: { readonly received: string | undefined },
): RunReport {
  const example = String(plan.config.example ?? "run");
  return runReport({
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
}

/** Samples every `--sample-every` steps, written as `<dir>/step-NNNNNN<marker>.png`. */
function samplesOf(s: Session, plan: TrainPlan): NonNullable<FitOptions["samples"]> {
  return {
    every: s.options["sample-every"],
    batch: plan.samples.batch,
    count: plan.samples.count,
    onSample: (e) => {
      const name = `step-${String(e.step).padStart(6, "0")}${s.marker}.png`;
      return saveAndDispose(`${s.runDir}/${plan.samples.dir}/${name}`, plan.samples.image(e));
    },
  };
}

/**
 * Once the run directory is claimed: what a resume removed or skipped (said even without a
 * progress display), and `config` written to config.json when given.
 */
async function startOfFit(
  s: Session,
  notes: readonly string[],
  config: Record<string, unknown> | undefined,
): Promise<void> {
  if (s.options.quiet) { for (const note of notes) console.log(`note: ${note}`); }
  if (config === undefined) return;
  const file = `${s.runDir}/config.json`;
  await writeFileAtomic(file, JSON.stringify(config, null, 2) + "\n").catch((e) => {
    throw new RunFileError(file, "write the run's options", e);
  });
}

/**
 * Run directories: claimed with a `run.json` marker, never reused for something they are not;
 * they keep the checkpoints and the metrics CSV, and find the checkpoint a resumed run starts from.
 *
 * @module
 */
import type { Callback } from "./callbacks.ts";
import {
  type Checkpoint,
  type CheckpointState,
  type NamedArray,
  writeCheckpoint,
} from "./checkpoint.ts";
import { latestCheckpoint, pruneCheckpoints, removeStaleTemps } from "./checkpoint_dir.ts";
import { CheckpointError, RunDirError, RunFileError } from "./errors.ts";
import { listDir, pathKind, writeFileAtomic } from "../_internal/fs.ts";
import { metricsCsv } from "./_metrics_csv.ts";
import { acquireRunLock, RUN_LOCK, type RunLock } from "./run_lock.ts";

/** The marker file that says a directory is a training run made by this library. */
export const RUN_MARKER: string = "run.json";
const RUN_FORMAT = "perceptual-loss/run";

/**
 * The state of a run, as `run.json` records it: `running` while `fit` trains (still there after
 * a kill -9 or a crash), then `done`, `interrupted` (stopped by its abort signal, after a
 * checkpoint) or `failed`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { RunStatus } from "@perceptual/loss/train";
 * const s: RunStatus = { state: "interrupted", step: 40, resume: "fit with resume: true" };
 * assert.equal(s.state, "interrupted");
 * ```
 */
export interface RunStatus {
  /** What the run is doing, or how it ended. */
  readonly state: "running" | "done" | "interrupted" | "failed";
  /** Steps completed. */
  readonly step: number;
  /** How to continue it (interrupted or failed runs). */
  readonly resume?: string;
  /** Why it failed. */
  readonly error?: string;
}

/** How a run directory was found. */
export interface RunDirStatus {
  /** The directory was absent or empty and is now a fresh run. */
  readonly fresh: boolean;
  /** The directory already held a run made by this library. */
  readonly previousRun: boolean;
}

/**
 * Make `runDir` ready for a run, or refuse without touching anything:
 * - absent or empty: created and marked with `run.json` (refused with `resume`: there is no run
 *   to continue, and starting afresh would hide a wrong path);
 * - a previous run (has our `run.json`): allowed only with `resume` (otherwise its metrics and
 *   checkpoints would be overwritten);
 * - anything else that is not empty: refused, whatever `resume` says.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { prepareRunDir } from "@perceptual/loss/train";
 * const dir = `${await Deno.makeTempDir()}/run1`;
 * assert.deepEqual(await prepareRunDir(dir, { resume: false, info: { seed: 0 } }), {
 *   fresh: true,
 *   previousRun: false,
 * });
 * ```
 */
export async function prepareRunDir(
  runDir: string,
  options: { readonly resume: boolean; readonly info: Readonly<Record<string, unknown>> },
): Promise<RunDirStatus> {
  const kind = await pathKind(runDir);
  if (kind !== undefined && kind !== "dir") {
    throw new RunDirError(`runDir ${runDir} exists and is not a directory; choose another path`);
  }
  // The lock file is the current run's own: it does not make the folder "not empty".
  const names = (await listDir(runDir)).filter((n) => n !== RUN_LOCK);
  if (names.length > 0) {
    let marker: unknown;
    if (names.includes(RUN_MARKER)) {
      try {
        marker = JSON.parse(await Deno.readTextFile(`${runDir}/${RUN_MARKER}`));
      } catch {
        marker = undefined;
      }
    }
    const ours = marker !== null && typeof marker === "object" &&
      (marker as Record<string, unknown>).format === RUN_FORMAT;
    if (!ours) {
      throw new RunDirError(
        `runDir ${runDir} is not empty and is not a training run (no ${RUN_MARKER} of ours; it ` +
          `holds ${names.slice(0, 5).join(", ")}${names.length > 5 ? ", …" : ""}); nothing was ` +
          "changed. Choose a new or empty directory",
      );
    }
    if (!options.resume) {
      throw new RunDirError(
        `runDir ${runDir} holds a previous run; pass resume: true to continue it, or choose a ` +
          "new directory (nothing was changed)",
      );
    }
    return { fresh: false, previousRun: true };
  }
  if (options.resume) {
    // Starting afresh here would silently ignore the run the caller meant (a typo in the path).
    throw new RunDirError(
      `runDir ${runDir} holds no run to resume (it is ${
        kind === undefined ? "absent" : "empty"
      }); ` +
        "check the path, or drop resume to start a new run there",
    );
  }
  try {
    await Deno.mkdir(runDir, { recursive: true });
  } catch (e) {
    throw new RunFileError(runDir, "create the run directory", e);
  }
  const marker = {
    format: RUN_FORMAT,
    version: 1,
    createdAt: new Date().toISOString(),
    ...options.info,
  };
  try {
    await writeFileAtomic(
      `${runDir}/${RUN_MARKER}`,
      new TextEncoder().encode(JSON.stringify(marker, null, 1) + "\n"),
    );
  } catch (e) {
    throw new RunFileError(`${runDir}/${RUN_MARKER}`, "write the run marker", e);
  }
  return { fresh: true, previousRun: false };
}

/**
 * Options of {@linkcode runDirectory}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { trainer, runDirectory, type RunDirectoryOptions } from "@perceptual/loss/train";
 * await initBackend("cpu");
 * const image = tf.variable(tf.zeros([1, 4, 4, 3])); // what is trained: one small image
 * const loss = (p: tf.Tensor4D, y: tf.Tensor4D) => {
 *   const pixel = tf.mean(tf.abs(tf.sub(p, y))) as tf.Scalar;
 *   return { total: tf.clone(pixel), terms: { pixel } };
 * };
 * using t = trainer({ params: [image], forward: () => tf.add(image, 0), loss });
 * const grey = (v: number) => tf.fill([1, 4, 4, 3], v) as tf.Tensor4D;
 * const batch = () => ({ input: grey(0), target: grey(0.5) }); // learn to output grey 0.5
 * const data = () => [batch(), batch()]; // 2 batches an epoch, made afresh
 * const options: RunDirectoryOptions = { checkpoints: false }; // marker and metrics.csv only
 * const runDir = runDirectory(`${await Deno.makeTempDir()}/run`, options);
 * const result = await t.fit(data, { steps: 2, runDir, quiet: true });
 * const names = (await Array.fromAsync(Deno.readDir(runDir.path))).map((e) => e.name).sort();
 * assert.equal(result.checkpoint, undefined);
 * assert.deepEqual(names, ["metrics.csv", "report.html", "run.json"]);
 * image.dispose();
 * ```
 */
export interface RunDirectoryOptions {
  /** Keep the newest this many checkpoints (default 3). */
  readonly keepCheckpoints?: number;
  /**
   * Write checkpoints (default true). Without them the directory holds the marker and the
   * metrics CSV only, and a run in it cannot be resumed.
   */
  readonly checkpoints?: boolean;
  /**
   * The directory's lock, already taken by the caller (see `acquireRunLock`) to hold it beyond
   * `fit` (while the final model is written, say); the caller releases it. Without it, `open`
   * takes the lock and `fit` releases it when it returns.
   */
  readonly lock?: RunLock;
}

/**
 * What {@linkcode RunDirectory.open} found.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type OpenedRun, runDirectory } from "@perceptual/loss/train";
 * const path = `${await Deno.makeTempDir()}/run`;
 * const first = runDirectory(path);
 * await first.open({ resume: false, info: { seed: 0 }, findCheckpoint: true });
 * first.release(); // one writer at a time: the next one may now take the lock
 * const again: OpenedRun = await runDirectory(path)
 *   .open({ resume: true, info: {}, findCheckpoint: true });
 * assert.ok(again.previousRun);
 * assert.equal(again.checkpoint, undefined);
 * assert.deepEqual(again.notes, []);
 * ```
 */
export interface OpenedRun {
  /** The directory already held a run of this library (allowed with `resume` only). */
  readonly previousRun: boolean;
  /** The newest complete checkpoint, when asked for and present. */
  readonly checkpoint: Checkpoint | undefined;
  /** Things worth telling the user: removed half-written checkpoints, skipped damaged ones. */
  readonly notes: readonly string[];
}

/**
 * A run directory as the fit loop's collaborator: `run.json` (marker), `metrics.csv`,
 * `checkpoints/step-NNNNNNNN/`. It owns every file-system decision of a run; the trainer owns
 * the state that goes into it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type RunDirectory, runDirectory } from "@perceptual/loss/train";
 * const run: RunDirectory = runDirectory(`${await Deno.makeTempDir()}/run`);
 * await run.open({ resume: false, info: {}, findCheckpoint: false }); // claims the directory
 * const state = {
 *   step: 5, epoch: 0, batchInEpoch: 5, seed: 0, totalSteps: null, schedule: null,
 *   optimizer: { className: "SGD", config: {} }, config: null, savedAt: new Date().toISOString(),
 * };
 * const path = await run.saveCheckpoint(state, [], []); // atomically, then prunes old ones
 * assert.deepEqual(path.split("/").slice(-2), ["checkpoints", "step-00000005"]);
 * ```
 */
export interface RunDirectory {
  /** The directory. */
  readonly path: string;
  /** Whether checkpoints are written (see {@linkcode RunDirectoryOptions.checkpoints}). */
  readonly checkpoints: boolean;
  /** Whether this process holds the directory's lock (`run.lock`): one writer per run. */
  readonly locked: boolean;
  /**
   * Take the directory's lock (idempotent). Throws `RunLockedError` when another live run
   * holds it; a lock left by a killed process is taken over (`tookOver` says whose).
   */
  lock(): Promise<RunLock>;
  /** Release the lock taken by {@linkcode RunDirectory.lock} (not one passed in). */
  release(): void;
  /**
   * Take the lock, claim the directory (see {@linkcode prepareRunDir}); for a previous run,
   * remove half-written checkpoints and, when `findCheckpoint`, read the newest complete one.
   */
  open(options: {
    readonly resume: boolean;
    readonly info: Readonly<Record<string, unknown>>;
    readonly findCheckpoint: boolean;
  }): Promise<OpenedRun>;
  /** Record the run's state in `run.json` (atomically; the rest of the marker is kept). */
  setStatus(status: RunStatus): Promise<void>;
  /** Write a checkpoint atomically, prune old ones, and return its directory. */
  saveCheckpoint(
    state: CheckpointState,
    weights: readonly NamedArray[],
    optimizer: readonly NamedArray[],
  ): Promise<string>;
  /**
   * The metrics CSV callback. On resume the file is repaired (rows past the checkpoint, damaged
   * rows and a partial last line removed, the original backed up) and `onRepair` gets a note.
   */
  metrics(onRepair: (note: string) => void): Callback;
}

/**
 * A {@linkcode RunDirectory} at `path`; nothing is touched until `open`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { runDirectory } from "@perceptual/loss/train";
 * const run = runDirectory(`${await Deno.makeTempDir()}/run1`, { keepCheckpoints: 2 });
 * const opened = await run.open({ resume: false, info: { seed: 0 }, findCheckpoint: true });
 * assert.equal(opened.previousRun, false);
 * assert.equal(opened.checkpoint, undefined);
 * assert.equal(run.locked, true);
 * run.release();
 * ```
 */
export function runDirectory(path: string, options: RunDirectoryOptions = {}): RunDirectory {
  const keep = options.keepCheckpoints ?? 3;
  if (!(Number.isInteger(keep) && keep >= 1)) {
    throw new RangeError(`keepCheckpoints must be an integer >= 1, got ${keep}`);
  }
  const s: RunState = {
    path,
    keep,
    checkpoints: options.checkpoints ?? true,
    ckDir: `${path}/checkpoints`,
    given: options.lock,
    own: undefined,
  };
  return {
    path,
    checkpoints: s.checkpoints,
    get locked() {
      return held(s) !== undefined;
    },
    lock: () => lock(s),
    release: () => release(s),
    open: (o) => openRun(s, o),
    setStatus: (status) => setStatus(path, status),
    saveCheckpoint: (state, weights, optimizer) => saveIn(s, state, weights, optimizer),
    metrics: (onRepair) => metricsCsv(`${path}/metrics.csv`, { onRepair }),
  };
}

/** A run directory's settings, and the lock it took itself (`own`) if any. */
interface RunState {
  readonly path: string;
  readonly keep: number;
  readonly checkpoints: boolean;
  readonly ckDir: string;
  /** A lock passed in: the caller's, never released here. */
  readonly given: RunLock | undefined;
  own: RunLock | undefined;
}

function held(s: RunState): RunLock | undefined {
  return s.given?.held ? s.given : s.own?.held ? s.own : undefined;
}

async function lock(s: RunState): Promise<RunLock> {
  return held(s) ?? (s.own = await acquireRunLock(s.path));
}

function release(s: RunState): void {
  s.own?.release();
  s.own = undefined;
}

async function openRun(
  s: RunState,
  { resume, info, findCheckpoint }: Parameters<RunDirectory["open"]>[0],
): Promise<OpenedRun> {
  // Nothing to lock for a resume of nothing: that is refused, and nothing is created.
  if (resume && await pathKind(s.path) === undefined) {
    await prepareRunDir(s.path, { resume, info });
  }
  const taken = await lock(s);
  try {
    return await claim(s, taken, resume, info, findCheckpoint);
  } catch (e) {
    // Refused: the lock this call took goes with it (one passed in stays the caller's).
    if (s.own === taken) release(s);
    throw e;
  }
}

/** With the lock `taken`: claim the directory, clean up and find the newest checkpoint. */
async function claim(
  s: RunState,
  taken: RunLock,
  resume: boolean,
  info: Readonly<Record<string, unknown>>,
  findCheckpoint: boolean,
): Promise<OpenedRun> {
  const status = await prepareRunDir(s.path, { resume, info });
  const notes: string[] = [];
  if (taken.tookOver !== undefined) {
    notes.push(
      `took over ${taken.path}, left by process ${taken.tookOver.pid} (started ` +
        `${taken.tookOver.startedAt}), which is no longer running`,
    );
  }
  if (!status.previousRun || !s.checkpoints) {
    return { previousRun: status.previousRun, checkpoint: undefined, notes };
  }
  for (const t of await removeStaleTemps(s.ckDir)) notes.push(`removed half-written ${t}`);
  if (!findCheckpoint) return { previousRun: true, checkpoint: undefined, notes };
  const found = await latestCheckpoint(s.ckDir);
  for (const k of found.skipped) notes.push(`skipped ${k.dir}: ${k.why}`);
  if (found.checkpoint === undefined && found.skipped.length > 0) {
    throw new CheckpointError(
      `no complete checkpoint in ${s.ckDir}: ${
        found.skipped.map((k) => k.why).join("; ")
      }; nothing was changed`,
    );
  }
  return { previousRun: true, checkpoint: found.checkpoint, notes };
}

async function setStatus(path: string, status: RunStatus): Promise<void> {
  const file = `${path}/${RUN_MARKER}`;
  try {
    const marker = JSON.parse(await Deno.readTextFile(file));
    const { resume: _r, error: _e, ...rest } = marker;
    const next = { ...rest, ...status, updatedAt: new Date().toISOString() };
    await writeFileAtomic(file, JSON.stringify(next, null, 1) + "\n");
  } catch (e) {
    throw new RunFileError(file, "record the run's state", e);
  }
}

async function saveIn(
  s: RunState,
  state: CheckpointState,
  weights: readonly NamedArray[],
  optimizer: readonly NamedArray[],
): Promise<string> {
  if (!s.checkpoints) throw new RangeError(`run directory ${s.path} keeps no checkpoints`);
  const dir = await writeCheckpoint(s.ckDir, state, weights, optimizer);
  await pruneCheckpoints(s.ckDir, s.keep);
  return dir;
}

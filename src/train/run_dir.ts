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
import { CheckpointError, RunDirError } from "./errors.ts";
import { listDir, pathKind, writeFileAtomic } from "../_internal/fs.ts";
import { metricsCsv } from "./_metrics_csv.ts";

/** The marker file that says a directory is a training run made by this library. */
export const RUN_MARKER: string = "run.json";
const RUN_FORMAT = "perceptual-loss/run";

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
 * import { prepareRunDir } from "./run_dir.ts";
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
  const names = await listDir(runDir);
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
  await Deno.mkdir(runDir, { recursive: true });
  const marker = {
    format: RUN_FORMAT,
    version: 1,
    createdAt: new Date().toISOString(),
    ...options.info,
  };
  await writeFileAtomic(
    `${runDir}/${RUN_MARKER}`,
    new TextEncoder().encode(JSON.stringify(marker, null, 1) + "\n"),
  );
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
}

/**
 * What {@linkcode RunDirectory.open} found.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type OpenedRun, runDirectory } from "@perceptual/loss/train";
 * const path = `${await Deno.makeTempDir()}/run`;
 * await runDirectory(path).open({ resume: false, info: { seed: 0 }, findCheckpoint: true });
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
  /**
   * Claim the directory (see {@linkcode prepareRunDir}); for a previous run, remove
   * half-written checkpoints and, when `findCheckpoint`, read the newest complete one.
   */
  open(options: {
    readonly resume: boolean;
    readonly info: Readonly<Record<string, unknown>>;
    readonly findCheckpoint: boolean;
  }): Promise<OpenedRun>;
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
 * ```
 */
export function runDirectory(path: string, options: RunDirectoryOptions = {}): RunDirectory {
  const keep = options.keepCheckpoints ?? 3;
  if (!(Number.isInteger(keep) && keep >= 1)) {
    throw new RangeError(`keepCheckpoints must be an integer >= 1, got ${keep}`);
  }
  const checkpoints = options.checkpoints ?? true;
  const ckDir = `${path}/checkpoints`;
  return {
    path,
    checkpoints,
    async open({ resume, info, findCheckpoint }) {
      const status = await prepareRunDir(path, { resume, info });
      const notes: string[] = [];
      if (!status.previousRun || !checkpoints) {
        return { previousRun: status.previousRun, checkpoint: undefined, notes };
      }
      for (const t of await removeStaleTemps(ckDir)) notes.push(`removed half-written ${t}`);
      if (!findCheckpoint) return { previousRun: true, checkpoint: undefined, notes };
      const found = await latestCheckpoint(ckDir);
      for (const k of found.skipped) notes.push(`skipped ${k.dir}: ${k.why}`);
      if (found.checkpoint === undefined && found.skipped.length > 0) {
        throw new CheckpointError(
          `no complete checkpoint in ${ckDir}: ${
            found.skipped.map((k) => k.why).join("; ")
          }; nothing was changed`,
        );
      }
      return { previousRun: true, checkpoint: found.checkpoint, notes };
    },
    async saveCheckpoint(state, weights, optimizer) {
      if (!checkpoints) throw new RangeError(`run directory ${path} keeps no checkpoints`);
      const dir = await writeCheckpoint(ckDir, state, weights, optimizer);
      await pruneCheckpoints(ckDir, keep);
      return dir;
    },
    metrics: (onRepair) => metricsCsv(`${path}/metrics.csv`, { onRepair }),
  };
}

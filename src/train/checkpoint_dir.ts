/**
 * The checkpoints folder of a run: listing, finding the newest complete checkpoint, pruning old
 * ones and removing half-written ones. Only directories this library made are ever removed.
 *
 * @module
 */
import { listDir, pathKind, syncDir } from "../_internal/fs.ts";
import {
  type Checkpoint,
  isRecord,
  MANIFEST_FORMAT,
  readCheckpoint,
  STEP_DIR,
  TEMP_PREFIX,
} from "./checkpoint.ts";
import { CheckpointError } from "./errors.ts";

const decoder = new TextDecoder();

/** A `step-*` directory in a checkpoints folder. */
export interface CheckpointEntry {
  /** Its path. */
  readonly dir: string;
  /** The step in its name. */
  readonly step: number;
}

/**
 * The `step-*` directories under `checkpointsDir`, newest first (not verified).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { listCheckpoints } from "@perceptual/loss/train";
 * assert.deepEqual(await listCheckpoints("/no/such/run/checkpoints"), []);
 * ```
 */
export async function listCheckpoints(checkpointsDir: string): Promise<CheckpointEntry[]> {
  const entries: CheckpointEntry[] = [];
  for (const name of await listDir(checkpointsDir)) {
    const m = STEP_DIR.exec(name);
    if (m && await pathKind(`${checkpointsDir}/${name}`) === "dir") {
      entries.push({ dir: `${checkpointsDir}/${name}`, step: Number(m[1]) });
    }
  }
  return entries.sort((a, b) => b.step - a.step);
}

/**
 * What {@linkcode latestCheckpoint} found.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   writeCheckpoint,
 *   type LatestCheckpoint,
 *   latestCheckpoint,
 * } from "@perceptual/loss/train";
 * const dir = await Deno.makeTempDir();
 * await writeCheckpoint(dir, {
 *   step: 3, epoch: 0, batchInEpoch: 3, seed: 0, totalSteps: null, schedule: null,
 *   optimizer: { className: "SGD", config: {} }, config: null, savedAt: new Date().toISOString(),
 * }, [], []);
 * await Deno.mkdir(`${dir}/step-00000009`); // newer, but without a manifest: a crash mid-write
 * const found: LatestCheckpoint = await latestCheckpoint(dir);
 * assert.equal(found.checkpoint?.state.step, 3);
 * assert.deepEqual(found.skipped.map((s) => s.dir.split("/").pop()), ["step-00000009"]);
 * ```
 */
export interface LatestCheckpoint {
  /** The newest complete checkpoint, if any. */
  readonly checkpoint: Checkpoint | undefined;
  /** Newer `step-*` directories that were skipped, with the reason. */
  readonly skipped: readonly { readonly dir: string; readonly why: string }[];
}

/**
 * The newest checkpoint under `checkpointsDir` that passes {@linkcode readCheckpoint}; newer
 * incomplete or damaged ones are skipped (and listed), never loaded.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { latestCheckpoint } from "@perceptual/loss/train";
 * const found = await latestCheckpoint(await Deno.makeTempDir());
 * assert.equal(found.checkpoint, undefined);
 * ```
 */
export async function latestCheckpoint(checkpointsDir: string): Promise<LatestCheckpoint> {
  const skipped: { dir: string; why: string }[] = [];
  for (const entry of await listCheckpoints(checkpointsDir)) {
    try {
      return { checkpoint: await readCheckpoint(entry.dir), skipped };
    } catch (e) {
      if (!(e instanceof CheckpointError)) throw e;
      skipped.push({ dir: entry.dir, why: e.message });
    }
  }
  return { checkpoint: undefined, skipped };
}

/**
 * Remove the oldest complete checkpoints so that `keep` remain. Only directories named
 * `step-*` that carry our manifest are ever removed; anything else is left alone.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pruneCheckpoints } from "@perceptual/loss/train";
 * assert.deepEqual(await pruneCheckpoints(await Deno.makeTempDir(), 3), []);
 * ```
 */
export async function pruneCheckpoints(checkpointsDir: string, keep: number): Promise<string[]> {
  const ours: CheckpointEntry[] = [];
  for (const entry of await listCheckpoints(checkpointsDir)) {
    try {
      const m = JSON.parse(decoder.decode(await Deno.readFile(`${entry.dir}/manifest.json`)));
      if (isRecord(m) && m.format === MANIFEST_FORMAT) ours.push(entry);
    } catch {
      // Not complete or not ours: never removed.
    }
  }
  const removed: string[] = [];
  for (const entry of ours.slice(Math.max(0, keep))) {
    // Rename first (atomic), then delete: a kill mid-delete leaves a `.tmp-` directory that the
    // next start removes, never a half-deleted `step-*` one.
    const name = entry.dir.slice(entry.dir.lastIndexOf("/") + 1);
    const doomed = `${checkpointsDir}/${TEMP_PREFIX}${name.slice(5)}-prune-${
      crypto.randomUUID().slice(0, 8)
    }`;
    await Deno.rename(entry.dir, doomed);
    await Deno.remove(doomed, { recursive: true });
    removed.push(entry.dir);
  }
  if (removed.length > 0) await syncDir(checkpointsDir);
  return removed;
}

/**
 * Remove `.tmp-step-*` directories left by a write that was killed; they are never loaded.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { removeStaleTemps } from "@perceptual/loss/train";
 * assert.deepEqual(await removeStaleTemps(await Deno.makeTempDir()), []);
 * ```
 */
export async function removeStaleTemps(checkpointsDir: string): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await listDir(checkpointsDir)) {
    if (name.startsWith(TEMP_PREFIX) && await pathKind(`${checkpointsDir}/${name}`) === "dir") {
      await Deno.remove(`${checkpointsDir}/${name}`, { recursive: true });
      removed.push(`${checkpointsDir}/${name}`);
    }
  }
  return removed;
}

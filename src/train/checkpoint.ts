/**
 * Checkpoints on disk: written atomically, verified before loading, pruned to the last N.
 *
 * Layout of one checkpoint, `<runDir>/checkpoints/step-00000300/`:
 * - `model.bin`, `optimizer.bin`: raw little-endian tensor data, laid out by the specs in
 * - `state.json`: step, data position, seed, schedule, optimizer class and config, user config,
 *   and the name/shape/dtype/offset of every tensor;
 * - `manifest.json`: byte length and SHA-256 of the three files above, written LAST.
 *
 * Everything is written into `checkpoints/.tmp-step-…` and fsynced, then the directory is renamed
 * into place and its parent fsynced. A `step-*` directory without a manifest whose hashes match is
 * never loaded: a crash mid-write leaves at worst a `.tmp-` directory (removed on the next start)
 * or, after disk damage, a checkpoint that is skipped with the reason.
 *
 * @module
 */
import { CheckpointError } from "./errors.ts";
import { pathKind, syncDir, writeFileSynced } from "../_internal/fs.ts";
import { fileErrorText } from "../_internal/fs_error.ts";
import { sha256Hex } from "../_internal/hash.ts";
import { describeNonFinite, nonFinite } from "../_internal/weight_checks.ts";

/**
 * The dtypes a checkpoint stores.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { StoredDtype } from "@perceptual/loss/train";
 * const dtypeOf = (data: Float32Array | Int32Array): StoredDtype =>
 *   data instanceof Int32Array ? "int32" : "float32";
 * assert.equal(dtypeOf(Int32Array.of(7)), "int32");
 * assert.equal(dtypeOf(new Float32Array(2)), "float32");
 * ```
 */
export type StoredDtype = "float32" | "int32";

/**
 * One tensor's values, read out of the engine.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { NamedArray } from "@perceptual/loss/train";
 * const kernel: NamedArray = {
 *   name: "conv1/kernel", shape: [3, 3, 1, 4], dtype: "float32", data: new Float32Array(36),
 * };
 * assert.ok(kernel.data.length === kernel.shape.reduce((a, b) => a * b));
 * ```
 */
export interface NamedArray {
  /** The weight or slot name at save time. */
  readonly name: string;
  /** Its shape. */
  readonly shape: readonly number[];
  /** Its dtype. */
  readonly dtype: StoredDtype;
  /** Its values, row-major. */
  readonly data: Float32Array | Int32Array;
}

/**
 * Where one tensor sits in a `.bin` file.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type TensorSpec, writeCheckpoint } from "@perceptual/loss/train";
 * const state = {
 *   step: 1, epoch: 0, batchInEpoch: 1, seed: 0, totalSteps: null, schedule: null,
 *   optimizer: { className: "SGD", config: {} }, config: null, savedAt: new Date().toISOString(),
 * };
 * const a = { name: "a", shape: [2], dtype: "float32" as const, data: Float32Array.of(1, 2) };
 * const b = { name: "b", shape: [], dtype: "int32" as const, data: Int32Array.of(3) };
 * const path = await writeCheckpoint(await Deno.makeTempDir(), state, [a, b], []);
 * const specs: TensorSpec[] = JSON.parse(await Deno.readTextFile(`${path}/state.json`)).model;
 * // where each tensor sits in model.bin
 * assert.deepEqual(specs.map((s) => `${s.name} ${s.dtype} ${s.offset}+${s.bytes}`), [
 *   "a float32 0+8",
 *   "b int32 8+4",
 * ]);
 * ```
 */
export interface TensorSpec {
  /** The weight or slot name at save time. */
  readonly name: string;
  /** Its shape. */
  readonly shape: readonly number[];
  /** Its dtype. */
  readonly dtype: StoredDtype;
  /** Byte offset in the file. */
  readonly offset: number;
  /** Byte length. */
  readonly bytes: number;
}

/**
 * What `state.json` records besides the tensor specs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type CheckpointState, readCheckpoint, writeCheckpoint } from "@perceptual/loss/train";
 * const state: CheckpointState = {
 *   step: 3, epoch: 1, batchInEpoch: 1, seed: 0, totalSteps: 10, schedule: "constant(0.001)",
 *   optimizer: { className: "Adam", config: {} }, config: { note: "anything JSON" },
 *   savedAt: new Date().toISOString(),
 * };
 * const path = await writeCheckpoint(await Deno.makeTempDir(), state, [], []);
 * assert.equal(path.split("/").pop(), "step-00000003");
 * assert.deepEqual((await readCheckpoint(path)).state.config, { note: "anything JSON" });
 * ```
 */
export interface CheckpointState {
  /** Steps completed when it was written. */
  readonly step: number;
  /** The 0-based epoch the next batch belongs to. */
  readonly epoch: number;
  /** Batches of that epoch already consumed. */
  readonly batchInEpoch: number;
  /** The trainer's seed (data factories get it). */
  readonly seed: number;
  /** The run length the schedule was following, if known. */
  readonly totalSteps: number | null;
  /** The schedule's description. */
  readonly schedule: string | null;
  /** The optimizer's class name (`Adam`, `SGD`, …) and `getConfig()`. */
  readonly optimizer: { readonly className: string; readonly config: unknown };
  /** Whatever the caller passed as `config` to the trainer (CLI flags, model config, …). */
  readonly config: unknown;
  /** ISO time of writing. */
  readonly savedAt: string;
}

/**
 * A verified checkpoint, read back.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type Checkpoint, readCheckpoint, writeCheckpoint } from "@perceptual/loss/train";
 * const state = {
 *   step: 1, epoch: 0, batchInEpoch: 1, seed: 0, totalSteps: null, schedule: null,
 *   optimizer: { className: "SGD", config: {} }, config: null, savedAt: new Date().toISOString(),
 * };
 * const w = { name: "w", shape: [2], dtype: "float32" as const, data: Float32Array.of(1, 2) };
 * const path = await writeCheckpoint(await Deno.makeTempDir(), state, [w], []);
 * const checkpoint: Checkpoint = await readCheckpoint(path); // hashes verified first
 * assert.equal(checkpoint.dir, path);
 * assert.equal(checkpoint.state.step, 1);
 * assert.deepEqual(checkpoint.model[0]!.data, Float32Array.of(1, 2));
 * ```
 */
export interface Checkpoint {
  /** Its directory. */
  readonly dir: string;
  /** Its recorded state. */
  readonly state: CheckpointState;
  /** Model weights in `model.weights` order. */
  readonly model: readonly NamedArray[];
  /** Optimizer weights in `optimizer.getWeights()` order. */
  readonly optimizer: readonly NamedArray[];
}

const STATE_FORMAT = "perceptual-loss/checkpoint";
/** The `format` of a checkpoint's `manifest.json`. */
export const MANIFEST_FORMAT = "perceptual-loss/checkpoint-manifest";
const FILES = ["model.bin", "optimizer.bin", "state.json"] as const;
/** The name of a complete checkpoint directory; the step is the first group. */
export const STEP_DIR: RegExp = /^step-(\d{8,})$/;
/** The prefix of a checkpoint directory being written or pruned (never loaded). */
export const TEMP_PREFIX = ".tmp-step-";

/**
 * The directory name of the checkpoint taken after `step` steps.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkpointName } from "@perceptual/loss/train";
 * assert.equal(checkpointName(300), "step-00000300");
 * ```
 */
export function checkpointName(step: number): string {
  return `step-${String(step).padStart(8, "0")}`;
}

function pack(arrays: readonly NamedArray[]): { bytes: Uint8Array; specs: TensorSpec[] } {
  const specs: TensorSpec[] = [];
  let offset = 0;
  for (const a of arrays) {
    const size = a.shape.reduce((x, y) => x * y, 1);
    if (a.data.length !== size) {
      throw new CheckpointError(
        `tensor '${a.name}' has ${a.data.length} values for shape [${a.shape}]`,
      );
    }
    specs.push({
      name: a.name,
      shape: [...a.shape],
      dtype: a.dtype,
      offset,
      bytes: a.data.byteLength,
    });
    offset += a.data.byteLength;
  }
  const bytes = new Uint8Array(offset);
  for (const [i, a] of arrays.entries()) {
    bytes.set(
      new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength),
      specs[i]!.offset,
    );
  }
  return { bytes, specs };
}

function unpack(bytes: Uint8Array, specs: readonly TensorSpec[], file: string): NamedArray[] {
  return specs.map((s) => {
    if (s.offset + s.bytes > bytes.length) {
      throw new CheckpointError(`${file}: tensor '${s.name}' runs past the end of the file`);
    }
    // Copy: the slice may not be 4-byte aligned inside the file buffer.
    const buf = bytes.slice(s.offset, s.offset + s.bytes).buffer;
    const data = s.dtype === "int32" ? new Int32Array(buf) : new Float32Array(buf);
    // The hashes only prove the file is what was written: a run saved after it diverged, or a
    // file rewritten with its manifest, can still hold NaN. Refused here, on host bytes.
    const bad = s.dtype === "float32" ? nonFinite(data) : undefined;
    if (bad !== undefined) {
      throw new CheckpointError(
        `${file}: tensor '${s.name}' holds ${describeNonFinite(bad)}; this checkpoint cannot ` +
          "be resumed from: resume from an earlier one (delete this directory)",
      );
    }
    return { name: s.name, shape: s.shape, dtype: s.dtype, data };
  });
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Write a checkpoint atomically into `checkpointsDir/step-NNNNNNNN` and return its path.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readCheckpoint, writeCheckpoint } from "@perceptual/loss/train";
 * const dir = await Deno.makeTempDir();
 * const state = {
 *   step: 1, epoch: 0, batchInEpoch: 1, seed: 0, totalSteps: 10, schedule: null,
 *   optimizer: { className: "SGD", config: {} }, config: null, savedAt: new Date().toISOString(),
 * };
 * const w = { name: "w", shape: [2], dtype: "float32" as const, data: new Float32Array([1, 2]) };
 * const path = await writeCheckpoint(dir, state, [w], []);
 * assert.deepEqual((await readCheckpoint(path)).model[0]!.data, Float32Array.of(1, 2));
 * ```
 */
export async function writeCheckpoint(
  checkpointsDir: string,
  state: CheckpointState,
  model: readonly NamedArray[],
  optimizer: readonly NamedArray[],
): Promise<string> {
  const name = checkpointName(state.step);
  const tmp = `${checkpointsDir}/${TEMP_PREFIX}${name.slice(5)}-${crypto.randomUUID().slice(0, 8)}`;
  const final = `${checkpointsDir}/${name}`;
  try {
    await Deno.mkdir(checkpointsDir, { recursive: true });
    await Deno.mkdir(tmp);
    const m = pack(model);
    const o = pack(optimizer);
    const stateJson = encoder.encode(
      JSON.stringify(
        { format: STATE_FORMAT, version: 1, ...state, model: m.specs, optimizerWeights: o.specs },
        null,
        1,
      ),
    );
    const contents: Record<(typeof FILES)[number], Uint8Array> = {
      "model.bin": m.bytes,
      "optimizer.bin": o.bytes,
      "state.json": stateJson,
    };
    const files: Record<string, { bytes: number; sha256: string }> = {};
    for (const f of FILES) {
      await writeFileSynced(`${tmp}/${f}`, contents[f]);
      files[f] = { bytes: contents[f].length, sha256: await sha256Hex(contents[f]) };
    }
    // The manifest goes last: its presence with matching hashes is what "complete" means.
    const manifest = { format: MANIFEST_FORMAT, version: 1, step: state.step, files };
    await writeFileSynced(
      `${tmp}/manifest.json`,
      encoder.encode(JSON.stringify(manifest, null, 1)),
    );
    await syncDir(tmp);
    if (await pathKind(final) !== undefined) {
      // Only a leftover of this run can sit here (a step trained again after a resume, or an
      // unreadable one): the run's lock guarantees no other writer. Renamed aside atomically
      // into a temporary name (removed at once, or on the next start), never left as a copy.
      const doomed = `${checkpointsDir}/${TEMP_PREFIX}${name.slice(5)}-old-${
        crypto.randomUUID().slice(0, 8)
      }`;
      await Deno.rename(final, doomed);
      await Deno.rename(tmp, final);
      await Deno.remove(doomed, { recursive: true }).catch(() => {});
    } else {
      await Deno.rename(tmp, final);
    }
    await syncDir(checkpointsDir);
    return final;
  } catch (e) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw new CheckpointError(`could not write checkpoint ${final}: ${fileErrorText(e, final)}`);
  }
}

/** A plain JSON object. */
export function isRecord(x: unknown): x is Record<string, unknown> {
  return x !== null && typeof x === "object" && !Array.isArray(x);
}

function checkSpecs(x: unknown, what: string): TensorSpec[] {
  if (!Array.isArray(x)) throw new CheckpointError(`state.json: ${what} is not a list`);
  return x.map((s, i) => {
    if (
      !isRecord(s) || typeof s.name !== "string" || !Array.isArray(s.shape) ||
      !s.shape.every((d) => Number.isInteger(d) && d >= 0) ||
      (s.dtype !== "float32" && s.dtype !== "int32") || !Number.isInteger(s.offset) ||
      !Number.isInteger(s.bytes) ||
      (s.bytes as number) !== 4 * (s.shape as number[]).reduce((a: number, b: number) => a * b, 1)
    ) {
      throw new CheckpointError(`state.json: ${what}[${i}] is not a valid tensor spec`);
    }
    return s as unknown as TensorSpec;
  });
}

/**
 * Read and verify one checkpoint directory: the manifest must exist, and every file must have
 * the recorded length and SHA-256. Throws {@linkcode CheckpointError} saying what is wrong.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readCheckpoint } from "@perceptual/loss/train";
 * try {
 *   await readCheckpoint(await Deno.makeTempDir());
 * } catch (e) {
 *   assert.ok((e as Error).message.includes("manifest.json"));
 * }
 * ```
 */
export async function readCheckpoint(dir: string): Promise<Checkpoint> {
  const contents = await verifiedFiles(dir);
  let raw: unknown;
  try {
    raw = JSON.parse(decoder.decode(contents["state.json"]));
  } catch {
    throw new CheckpointError(`${dir}/state.json is not JSON`);
  }
  const state = checkState(dir, raw);
  const r = raw as Record<string, unknown>;
  const modelSpecs = checkSpecs(r.model, "model");
  const optSpecs = checkSpecs(r.optimizerWeights, "optimizerWeights");
  return {
    dir,
    state,
    model: unpack(contents["model.bin"]!, modelSpecs, `${dir}/model.bin`),
    optimizer: unpack(contents["optimizer.bin"]!, optSpecs, `${dir}/optimizer.bin`),
  };
}

/** Every file of checkpoint `dir`, each checked against the length and SHA-256 in its manifest. */
async function verifiedFiles(dir: string): Promise<Record<string, Uint8Array>> {
  let manifest: unknown;
  try {
    manifest = JSON.parse(decoder.decode(await Deno.readFile(`${dir}/manifest.json`)));
  } catch (e) {
    throw new CheckpointError(
      `${dir} is incomplete: manifest.json is missing or unreadable (${
        e instanceof Error ? e.message : String(e)
      })`,
    );
  }
  if (!isRecord(manifest) || manifest.format !== MANIFEST_FORMAT || !isRecord(manifest.files)) {
    throw new CheckpointError(`${dir}/manifest.json is not a checkpoint manifest`);
  }
  const contents: Record<string, Uint8Array> = {};
  for (const f of FILES) {
    const entry = manifest.files[f];
    if (!isRecord(entry)) throw new CheckpointError(`${dir}/manifest.json does not list ${f}`);
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(`${dir}/${f}`);
    } catch {
      throw new CheckpointError(`${dir}/${f} is missing`);
    }
    if (bytes.length !== entry.bytes) {
      throw new CheckpointError(
        `${dir}/${f} has ${bytes.length} bytes, the manifest says ${entry.bytes} (truncated?)`,
      );
    }
    if (await sha256Hex(bytes) !== entry.sha256) {
      throw new CheckpointError(`${dir}/${f} does not match its SHA-256 in the manifest`);
    }
    contents[f] = bytes;
  }
  return contents;
}

/** The position and settings in `state.json` of checkpoint `dir`, each field checked. */
function checkState(dir: string, raw: unknown): CheckpointState {
  if (!isRecord(raw) || raw.format !== STATE_FORMAT || raw.version !== 1) {
    throw new CheckpointError(`${dir}/state.json is not a version-1 checkpoint state`);
  }
  // Counts are non-negative integers: a step of -5 or 4.5 would run steps that never existed.
  for (const k of ["step", "epoch", "batchInEpoch"] as const) {
    const v = raw[k];
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
      throw new CheckpointError(
        `${dir}/state.json: '${k}' is ${JSON.stringify(v)}; it must be an integer >= 0 (the ` +
          "file was edited or damaged: resume from another checkpoint)",
      );
    }
  }
  if (typeof raw.seed !== "number" || !Number.isFinite(raw.seed)) {
    throw new CheckpointError(`${dir}/state.json: 'seed' is ${JSON.stringify(raw.seed)}`);
  }
  if (
    raw.totalSteps !== undefined && raw.totalSteps !== null &&
    !(Number.isSafeInteger(raw.totalSteps) && (raw.totalSteps as number) >= 1)
  ) {
    throw new CheckpointError(
      `${dir}/state.json: 'totalSteps' is ${JSON.stringify(raw.totalSteps)}; it must be a ` +
        "positive integer or null",
    );
  }
  const named = STEP_DIR.exec(dir.slice(dir.lastIndexOf("/") + 1));
  if (named !== null && Number(named[1]) !== raw.step) {
    throw new CheckpointError(
      `${dir}/state.json says step ${raw.step}, its directory name says ${Number(named[1])}; ` +
        "the checkpoint was edited or moved: resume from another checkpoint",
    );
  }
  if (!isRecord(raw.optimizer) || typeof raw.optimizer.className !== "string") {
    throw new CheckpointError(`${dir}/state.json: bad 'optimizer'`);
  }
  return {
    step: raw.step as number,
    epoch: raw.epoch as number,
    batchInEpoch: raw.batchInEpoch as number,
    seed: raw.seed as number,
    totalSteps: typeof raw.totalSteps === "number" ? raw.totalSteps : null,
    schedule: typeof raw.schedule === "string" ? raw.schedule : null,
    optimizer: { className: raw.optimizer.className, config: raw.optimizer.config ?? null },
    config: raw.config ?? null,
    savedAt: typeof raw.savedAt === "string" ? raw.savedAt : "",
  };
}

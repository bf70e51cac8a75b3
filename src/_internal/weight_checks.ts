/**
 * The checks every weight loader makes (VGG tfjs directories and .h5 files, U-Net model
 * directories, checkpoints), written once: shard paths that stay inside the model folder, the
 * byte size a tfjs manifest entry implies, and finite values. All run on host bytes before any
 * tensor exists, so no backend has to be read (webgpu cannot read synchronously under Deno).
 *
 * @module
 */

/**
 * Why a weight-shard path from a manifest is refused, or undefined when it is a plain relative
 * path inside the model folder. Absolute paths, `..` segments, URLs (any `scheme:`), backslashes
 * and NUL bytes are refused: a manifest must not make a local load read outside its folder.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { shardPathProblem } from "./weight_checks.ts";
 * assert.equal(shardPathProblem("group1-shard1of2.bin"), undefined);
 * assert.equal(
 *   shardPathProblem("../../etc/passwd"),
 *   "it has a '..' segment, which leaves the model folder",
 * );
 * ```
 */
export function shardPathProblem(path: string): string | undefined {
  if (typeof path !== "string" || path === "") return "it is empty";
  if (path.includes("\0")) return "it contains a NUL byte";
  if (path.includes("\\")) return "it contains a backslash (use '/' inside the model folder)";
  if (path.startsWith("/")) return "it is absolute; shard paths are relative to model.json";
  if (/^[a-z][a-z0-9+.-]*:/i.test(path)) {
    return "it is a URL or has a drive letter; local loads read only files beside model.json";
  }
  if (path.split("/").some((s) => s === "..")) {
    return "it has a '..' segment, which leaves the model folder";
  }
  return undefined;
}

/** One weight of a tfjs manifest, as far as its size and decoding go. */
export interface ManifestEntryLike {
  /** The stored dtype. */
  readonly dtype: string;
  /** The shape. */
  readonly shape: readonly number[];
  /** tfjs' weight quantization, if any. */
  readonly quantization?: {
    readonly dtype: string;
    readonly scale?: number;
    readonly min?: number;
  };
}

const BYTES: Readonly<Record<string, number>> = {
  float32: 4,
  int32: 4,
  bool: 1,
  uint8: 1,
  uint16: 2,
  float16: 2,
};

/**
 * The bytes a manifest entry occupies in its group's shards, or NaN when its dtype has no fixed
 * size (strings) or is unknown.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { manifestEntryBytes } from "./weight_checks.ts";
 * assert.equal(manifestEntryBytes({ dtype: "float32", shape: [3, 3, 3, 64] }), 6912);
 * ```
 */
export function manifestEntryBytes(entry: ManifestEntryLike): number {
  const per = BYTES[entry.quantization?.dtype ?? entry.dtype];
  return per === undefined ? NaN : per * entry.shape.reduce((a, b) => a * b, 1);
}

/** Where the non-finite values of an array are: how many, and the first index. */
export interface NonFinite {
  /** How many values are NaN or ±Infinity. */
  readonly count: number;
  /** The index of the first one. */
  readonly first: number;
  /** That value (NaN, Infinity or -Infinity). */
  readonly value: number;
}

/**
 * The non-finite values of `values` (a float array), or undefined when all are finite.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { nonFinite } from "./weight_checks.ts";
 * assert.deepEqual(
 *   nonFinite(new Float32Array([1, NaN, Infinity])),
 *   { count: 2, first: 1, value: NaN },
 * );
 * ```
 */
export function nonFinite(values: ArrayLike<number>): NonFinite | undefined {
  let count = 0;
  let first = -1;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    // v - v is 0 for finite numbers and NaN for NaN and ±Infinity: one test, no call.
    if (v - v !== 0) {
      if (count === 0) first = i;
      count++;
    }
  }
  return count === 0 ? undefined : { count, first, value: values[first]! };
}

/** `nonFinite` as a phrase: "3 NaN/infinite values (the first, NaN, at index 12)". */
export function describeNonFinite(bad: NonFinite): string {
  return `${bad.count} NaN/infinite value${bad.count === 1 ? "" : "s"} (the first, ${bad.value}, ` +
    `at index ${bad.first})`;
}

/**
 * The non-finite values a manifest entry's stored bytes decode to, without decoding them into
 * a tensor: float32 and float16 values are tested in place, quantized integers through their
 * scale and min. `bytes` is exactly the entry's bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { nonFiniteStored } from "./weight_checks.ts";
 * const b = new Uint8Array(new Float32Array([1, NaN]).buffer);
 * assert.equal(nonFiniteStored(b, { dtype: "float32", shape: [2] })?.count, 1);
 * ```
 */
export function nonFiniteStored(
  bytes: Uint8Array,
  entry: ManifestEntryLike,
): NonFinite | undefined {
  const q = entry.quantization;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (q === undefined) {
    if (entry.dtype !== "float32") return undefined; // integers and bools are always finite
    const n = bytes.byteLength >> 2;
    let count = 0;
    let first = -1;
    let value = 0;
    for (let i = 0; i < n; i++) {
      const v = view.getFloat32(4 * i, true);
      if (v - v !== 0) {
        if (count === 0) [first, value] = [i, v];
        count++;
      }
    }
    return count === 0 ? undefined : { count, first, value };
  }
  if (q.dtype === "float16") {
    const n = bytes.byteLength >> 1;
    let count = 0;
    let first = -1;
    let value = 0;
    for (let i = 0; i < n; i++) {
      const h = view.getUint16(2 * i, true);
      if ((h & 0x7c00) === 0x7c00) {
        if (count === 0) [first, value] = [i, h & 0x3ff ? NaN : h & 0x8000 ? -Infinity : Infinity];
        count++;
      }
    }
    return count === 0 ? undefined : { count, first, value };
  }
  // Affine uint8/uint16 quantization: every value is finite iff the largest magnitude is.
  const scale = q.scale ?? 1;
  const min = q.min ?? 0;
  const top = q.dtype === "uint16" ? 65535 : 255;
  if (Number.isFinite(Math.fround(top * Math.abs(scale) + Math.abs(min)))) return undefined;
  const n = bytes.byteLength / (q.dtype === "uint16" ? 2 : 1);
  return { count: n, first: 0, value: Math.fround(min + top * scale) };
}

/**
 * A per-backend cache of tensors derived from another tensor (e.g. a flipped, transposed filter),
 * kept while the source tensor's data lives. Frozen weights (a VGG loss network) then pay for the
 * derivation once, and the wasm backend's XNNPACK operator cache, keyed by the filter's buffer,
 * keeps its packed weights instead of re-packing them on every backward pass.
 *
 * Tensors are immutable in tfjs (a Variable's assign swaps in a new buffer), so a live source
 * buffer always has the same contents. Entries of dead sources are released on the next lookup.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import type { KernelIo } from "./kernel_io.ts";

/** Entries beyond these limits are evicted oldest first. */
const MAX_ENTRIES = 512;
const MAX_FLOATS = 128 * 1024 * 1024;

interface Entry {
  readonly source: tf.DataId;
  readonly value: tf.TensorInfo;
  readonly floats: number;
}

interface Cache {
  readonly entries: Map<string, Entry>;
  readonly ids: WeakMap<tf.DataId, number>;
  nextId: number;
  floats: number;
}

const caches = new WeakMap<tf.KernelBackend, Cache>();

function cacheOf(backend: tf.KernelBackend): Cache {
  let c = caches.get(backend);
  if (c === undefined) {
    c = { entries: new Map(), ids: new WeakMap(), nextId: 1, floats: 0 };
    caches.set(backend, c);
  }
  return c;
}

function drop(io: KernelIo, c: Cache, key: string, e: Entry): void {
  c.entries.delete(key);
  c.floats -= e.floats;
  io.free(e.value);
}

/**
 * The tensor `make()` derives from `source` (under `kind`), made once per live source buffer and
 * shape. The result belongs to the cache: callers must not free it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { KernelIo } from "./kernel_io.ts";
 * import { derived } from "./derived_cache.ts";
 * await initBackend("cpu");
 * const io = new KernelIo(tf.backend(), "cpu");
 * const w = tf.ones([2]);
 * const twice = derived(io, w, "copy", () => io.run("Identity", { x: w }));
 * assert.ok(twice === derived(io, w, "copy", () => io.run("Identity", { x: w })));
 * ```
 */
export function derived(
  io: KernelIo,
  source: tf.TensorInfo,
  kind: string,
  make: () => tf.TensorInfo,
): tf.TensorInfo {
  const c = cacheOf(io.backend);
  for (const [key, e] of c.entries) if (!io.has(e.source)) drop(io, c, key, e);
  let id = c.ids.get(source.dataId);
  if (id === undefined) {
    id = c.nextId++;
    c.ids.set(source.dataId, id);
  }
  const key = `${id}/${kind}/${source.shape.join("x")}`;
  const hit = c.entries.get(key);
  if (hit !== undefined) return hit.value;
  const value = make();
  const floats = value.shape.reduce((a, b) => a * b, 1);
  c.entries.set(key, { source: source.dataId, value, floats });
  c.floats += floats;
  for (const [k, e] of c.entries) {
    if (c.entries.size <= MAX_ENTRIES && c.floats <= MAX_FLOATS) break;
    if (k !== key) drop(io, c, k, e);
  }
  return value;
}

/**
 * Release every cached derived tensor of `backend` (e.g. before measuring memory).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { KernelIo } from "./kernel_io.ts";
 * import { clearDerivedCache, derived } from "./derived_cache.ts";
 * await initBackend("cpu");
 * const io = new KernelIo(tf.backend(), "cpu");
 * const w = tf.ones([2]);
 * let made = 0;
 * const make = () => (made++, io.run("Identity", { x: w }));
 * derived(io, w, "copy", make);
 * derived(io, w, "copy", make); // cached
 * clearDerivedCache(io);
 * derived(io, w, "copy", make); // made again
 * assert.equal(made, 2);
 * ```
 */
export function clearDerivedCache(io: KernelIo): void {
  const c = caches.get(io.backend);
  if (c === undefined) return;
  for (const [key, e] of c.entries) drop(io, c, key, e);
}

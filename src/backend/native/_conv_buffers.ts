/**
 * Host memory of the convolutions that convert their operands around a oneDNN primitive (bf16
 * in ./_bf16_conv.ts, Winograd in ./_winograd_conv.ts): a scratch buffer per role for an
 * activation's converted copy, and each weight tensor's copies in the layouts primitives asked
 * for. Internal to the native backend.
 *
 * @module
 */
import { HostBuffer } from "./_primitive.ts";

type Ptr = Deno.PointerValue;

/**
 * A scratch buffer up to this size is kept for the process's life. A larger one (a whole photo's
 * activations: 279 MB for 1280×852×64 in f32) is kept while calls keep coming — the layers of
 * one image, image after image — and dropped once none came for {@linkcode IDLE_DROP_MS}:
 * allocating it afresh for every call cost more than the convolution (new host memory is
 * paid in page faults, ~160 MB/s on these VMs: 0.15 s per 70 MB buffer).
 */
const KEEP_SCRATCH_BYTES = 64 * 2 ** 20;
/** How long an unused large scratch buffer is held. */
const IDLE_DROP_MS = 2000;

/** One scratch buffer, grown as needed (calls run one at a time). */
export class Scratch {
  #buf: HostBuffer | undefined;
  #drop: ReturnType<typeof setTimeout> | undefined;

  /** At least `bytes` bytes, 64-byte aligned; valid until {@linkcode release} or a larger call. */
  of(bytes: number): Ptr {
    clearTimeout(this.#drop);
    this.#drop = undefined;
    if (this.#buf === undefined || this.#buf.size < bytes) this.#buf = new HostBuffer(bytes);
    return this.#buf.p;
  }

  /** The call is over: a buffer too large to keep is dropped if no call follows soon. */
  release(): void {
    if (this.#buf === undefined || this.#buf.size <= KEEP_SCRATCH_BYTES) return;
    clearTimeout(this.#drop);
    const drop = setTimeout(() => this.#buf = undefined, IDLE_DROP_MS);
    // The timer must not keep the process alive.
    Deno.unrefTimer(drop);
    this.#drop = drop;
  }
}

/**
 * `sizeof(dnnl_memory_desc_t)`: 696 in oneDNN 2.6.3, and the same across 2.x (oneDNN keeps its
 * ABI within a major version).
 */
const MD_STRUCT_BYTES = 696;

/** A primitive's memory layout `md` as a cache key (equal descriptors give equal bytes). */
export function layoutKey(md: Ptr): string {
  const bytes = new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(md!, MD_STRUCT_BYTES));
  return btoa(String.fromCharCode(...bytes));
}

/**
 * The entry of `list` (most recently used first) that `match`es, moved to the front; undefined
 * when none does.
 */
export function takeRecent<T>(list: T[], match: (entry: T) => boolean): T | undefined {
  const at = list.findIndex(match);
  if (at < 0) return undefined;
  const [hit] = list.splice(at, 1);
  list.unshift(hit!);
  return hit;
}

/**
 * Layouts kept per weight tensor. oneDNN picks a layout per shape, and a few shapes (a tiny
 * image, a whole photo) can ask for different blockings of the same weights; two cover a run
 * that alternates between training crops and evaluation images, without holding one copy per
 * image size (VGG-16's Winograd weights are ~235 MB per copy).
 */
const LAYOUTS_PER_TENSOR = 2;

/** Weight tensors' converted copies, by tensor data (which never changes) and layout. */
const copies = new WeakMap<object, { key: string; buf: HostBuffer }[]>();

/**
 * Tensor data `id`'s copy in layout `key` (`bytes` long), made by `convert(dst)` on first use;
 * the least recently used layout beyond {@linkcode LAYOUTS_PER_TENSOR} is dropped. Copies go
 * with their tensor.
 */
export function weightCopy(
  id: object,
  key: string,
  bytes: number,
  convert: (dst: Ptr) => void,
): Ptr {
  let list = copies.get(id);
  if (list === undefined) copies.set(id, list = []);
  const hit = takeRecent(list, (c) => c.key === key);
  if (hit !== undefined) return hit.buf.p;
  const buf = new HostBuffer(bytes);
  convert(buf.p);
  list.unshift({ key, buf });
  list.length = Math.min(list.length, LAYOUTS_PER_TENSOR);
  return buf.p;
}

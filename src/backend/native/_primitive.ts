/**
 * oneDNN memory descriptors, primitives with their memory objects bound once, reorders, and the
 * aligned host buffers that hold reordered weights. Internal to the native backend.
 *
 * @module
 */
import {
  check,
  create,
  dims,
  DNNL,
  type Dnnl,
  implName,
  MD_BYTES,
  OP_DESC_BYTES,
  ptr,
} from "./_dnnl.ts";
import { adviseHugePages, HUGE_PAGE_BYTES } from "./_huge_pages.ts";

/** A memory descriptor living in a host buffer (kept alive with it). */
export class Md {
  readonly bytes: Uint8Array<ArrayBuffer> = new Uint8Array(MD_BYTES);
  readonly p: Deno.PointerValue = ptr(this.bytes);
}

/** A plain f32 descriptor: logical `shape` laid out as `tag` (`DNNL.nhwc`, `DNNL.any`, …). */
export function mdTag(dnnl: Dnnl, shape: readonly number[], tag: number): Md {
  const md = new Md();
  check(
    "dnnl_memory_desc_init_by_tag",
    dnnl.fn.dnnl_memory_desc_init_by_tag(md.bytes, shape.length, dims(shape), DNNL.f32, tag),
  );
  return md;
}

/** A f32 descriptor with explicit element strides (transposed matrices, broadcast batches). */
export function mdStrides(dnnl: Dnnl, shape: readonly number[], strides: readonly number[]): Md {
  const md = new Md();
  check(
    "dnnl_memory_desc_init_by_strides",
    dnnl.fn.dnnl_memory_desc_init_by_strides(
      md.bytes,
      shape.length,
      dims(shape),
      DNNL.f32,
      dims(strides),
    ),
  );
  return md;
}

/** An operation descriptor buffer for `dnnl_*_desc_init`. */
export function opDesc(): Uint8Array<ArrayBuffer> {
  return new Uint8Array(OP_DESC_BYTES);
}

/** Build a primitive descriptor; `undefined` where oneDNN has no implementation for it. */
export function primitiveDesc(
  dnnl: Dnnl,
  desc: Uint8Array<ArrayBuffer>,
  attr: Deno.PointerValue = null,
  hint: Deno.PointerValue = null,
): Deno.PointerValue | undefined {
  const out = new BigUint64Array(1);
  const status = dnnl.fn.dnnl_primitive_desc_create(out, desc, attr, dnnl.engine, hint);
  if (status !== DNNL.success) return undefined;
  return Deno.UnsafePointer.create(out[0]);
}

/** Host buffers from this size on start on a huge-page boundary and ask for huge pages. */
const HUGE_FROM_BYTES = 2 * HUGE_PAGE_BYTES;

/**
 * Host memory aligned to 64 bytes, for reordered weights and temporaries; a large one aligned to
 * a huge page and backed by huge pages where Linux has them (./_huge_pages.ts).
 */
export class HostBuffer {
  readonly #store: Uint8Array<ArrayBuffer>;
  /** Its start. */
  readonly p: Deno.PointerValue;
  /** Its size in bytes. */
  readonly size: number;
  /** Allocate `size` bytes. */
  constructor(size: number) {
    const align = size >= HUGE_FROM_BYTES ? HUGE_PAGE_BYTES : 64;
    this.#store = new Uint8Array(size + align);
    const base = Deno.UnsafePointer.value(ptr(this.#store));
    const pad = Number((BigInt(align) - (BigInt(base) % BigInt(align))) % BigInt(align));
    this.p = Deno.UnsafePointer.offset(ptr(this.#store) as Deno.PointerObject, pad);
    this.size = size;
    if (align === HUGE_PAGE_BYTES) adviseHugePages(this.p, size);
  }
}

/**
 * A primitive with one memory object per execution argument, bound to the descriptors its
 * primitive descriptor asks for. Each call only swaps the data pointers in.
 */
export class Primitive {
  /** The implementation oneDNN chose, e.g. `brgconv:avx512_core` (a `ref:` one is slow). */
  readonly impl: string;
  /** Bytes each argument needs in the layout the primitive wants, by argument id. */
  readonly bytes: ReadonlyMap<number, number>;
  readonly #dnnl: Dnnl;
  readonly #prim: Deno.PointerValue;
  readonly #mems: Deno.PointerValue[];
  readonly #args: Uint8Array<ArrayBuffer>;
  /** Further primitive descriptors it keeps alive (a backward primitive's forward hint). */
  readonly #owned: Deno.PointerValue[];
  #destroyed = false;
  /** The descriptor's memory descriptors stay valid while `pd` lives (until {@linkcode destroy}). */
  readonly pd: Deno.PointerValue;

  /**
   * Create the primitive for `pd` with memory objects for `argIds` (execution order of `run`);
   * it owns `pd` and the descriptors in `owned`, destroyed with it.
   */
  constructor(
    dnnl: Dnnl,
    pd: Deno.PointerValue,
    readonly argIds: readonly number[],
    owned: readonly Deno.PointerValue[] = [],
  ) {
    this.#dnnl = dnnl;
    this.pd = pd;
    this.#owned = [...owned];
    this.impl = implName(dnnl, pd);
    const fn = dnnl.fn;
    this.#prim = create("dnnl_primitive_create", (o) => fn.dnnl_primitive_create(o, pd));
    this.#args = new Uint8Array(16 * argIds.length);
    const view = new DataView(this.#args.buffer);
    const bytes = new Map<number, number>();
    this.#mems = argIds.map((arg, i) => {
      const md = this.md(arg);
      bytes.set(arg, Number(fn.dnnl_memory_desc_get_size(md)));
      const mem = create(
        "dnnl_memory_create",
        (o) => fn.dnnl_memory_create(o, md, dnnl.engine, null),
      );
      view.setInt32(16 * i, arg, true);
      view.setBigUint64(16 * i + 8, BigInt(Deno.UnsafePointer.value(mem)), true);
      return mem;
    });
    this.bytes = bytes;
  }

  /** The memory descriptor the primitive wants for argument `arg`. */
  md(arg: number): Deno.PointerValue {
    // dnnl_query_exec_arg_md (255) with the argument id as index.
    return this.#dnnl.fn.dnnl_primitive_desc_query_md(this.pd, 255, arg);
  }

  /** The implementation's name, for reports. */
  toString(): string {
    return this.impl;
  }

  /** Whether argument `arg` is laid out exactly as `md`. */
  matches(arg: number, md: Md): boolean {
    return this.#dnnl.fn.dnnl_memory_desc_equal(this.md(arg), md.p) === 1;
  }

  /**
   * Destroy its oneDNN objects: the primitive, its memory objects, its primitive descriptor and
   * those it owns. Idempotent; it must not run afterwards.
   */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    const fn = this.#dnnl.fn;
    fn.dnnl_primitive_destroy(this.#prim);
    for (const m of this.#mems) fn.dnnl_memory_destroy(m);
    fn.dnnl_primitive_desc_destroy(this.pd);
    for (const pd of this.#owned) fn.dnnl_primitive_desc_destroy(pd);
  }

  /** Execute with `handles[i]` as the data of `argIds[i]`; returns when the result is written. */
  run(handles: readonly Deno.PointerValue[]): void {
    if (this.#destroyed) throw new Error(`oneDNN primitive ${this.impl} used after destroy()`);
    const fn = this.#dnnl.fn;
    for (let i = 0; i < handles.length; i++) {
      fn.dnnl_memory_set_data_handle(this.#mems[i]!, handles[i]!);
    }
    check(
      "dnnl_primitive_execute",
      fn.dnnl_primitive_execute(this.#prim, this.#dnnl.stream, this.argIds.length, this.#args),
    );
    fn.dnnl_stream_wait(this.#dnnl.stream);
  }
}

/**
 * `p`, unless oneDNN had only its reference implementation (`ref:…`, far slower than the kernels
 * it would replace) for it: then `p` is destroyed and undefined returned.
 */
export function unlessReference(p: Primitive | undefined): Primitive | undefined {
  if (p === undefined || !p.impl.startsWith("ref")) return p;
  p.destroy();
  return undefined;
}

/** A reorder from layout `from` to layout `to` (weights to and from oneDNN's blocked formats). */
export function reorder(dnnl: Dnnl, from: Deno.PointerValue, to: Deno.PointerValue): Primitive {
  const pd = create(
    "dnnl_reorder_primitive_desc_create",
    (o) => dnnl.fn.dnnl_reorder_primitive_desc_create(o, from, dnnl.engine, to, dnnl.engine, null),
  );
  return new Primitive(dnnl, pd, [DNNL.argSrc, DNNL.argDst]);
}

/**
 * Primitive attributes carrying a ReLU post-op (conv + bias + ReLU in one pass); the caller
 * destroys them with `dnnl_primitive_attr_destroy` once its primitive descriptor is made.
 */
export function reluAttr(dnnl: Dnnl): Deno.PointerValue {
  const fn = dnnl.fn;
  const ops = create("dnnl_post_ops_create", (o) => fn.dnnl_post_ops_create(o));
  check(
    "dnnl_post_ops_append_eltwise",
    fn.dnnl_post_ops_append_eltwise(ops, 1, DNNL.eltwiseRelu, 0, 0),
  );
  const attr = create("dnnl_primitive_attr_create", (o) => fn.dnnl_primitive_attr_create(o));
  check("dnnl_primitive_attr_set_post_ops", fn.dnnl_primitive_attr_set_post_ops(attr, ops));
  fn.dnnl_post_ops_destroy(ops);
  return attr;
}

/**
 * oneDNN's element-wise binary primitive with post-ops (and the u8 descriptors comparisons
 * write): the building block of the native Adam update and comparison kernels. Internal to the
 * native backend.
 *
 * @module
 */
import { check, create, dims, DNNL, type Dnnl } from "./_dnnl.ts";
import { Md, opDesc, Primitive, primitiveDesc } from "./_primitive.ts";
import { threadsFor } from "./_threads.ts";

const P = "pointer" as const;
const B = "buffer" as const;
const I = "i32" as const;

/** oneDNN calls beyond ./_dnnl.ts' table, bound on the same library file. */
const EXTRA = {
  dnnl_binary_desc_init: { parameters: [B, I, P, P, P], result: I },
  dnnl_post_ops_append_binary: { parameters: [P, I, P], result: I },
  dnnl_primitive_attr_set_scales: { parameters: [P, I, "i64", I, B], result: I },
} as const;

type Extra = Deno.DynamicLibrary<typeof EXTRA>["symbols"];
const extras = new Map<string, Extra>();

function extraOf(dnnl: Dnnl): Extra {
  let e = extras.get(dnnl.path);
  if (e === undefined) {
    e = Deno.dlopen(dnnl.path, EXTRA).symbols;
    extras.set(dnnl.path, e);
  }
  return e;
}

/** `dnnl_alg_kind_t` of the binary algorithms used (dnnl_types.h, oneDNN 2.x). */
export const BINARY = {
  add: 0x1fff0,
  mul: 0x1fff1,
  div: 0x1fff4,
  ge: 0x1fff6,
  gt: 0x1fff7,
  le: 0x1fff8,
  lt: 0x1fff9,
} as const;

/** A binary algorithm's name. */
export type BinaryAlg = keyof typeof BINARY;

/** `dnnl_eltwise_sqrt`. */
const ELTWISE_SQRT = 0x6f;
/** `dnnl_u8`: what comparisons write (tfjs's bool tensors are one byte per element). */
const U8 = 6;

/** A dense 1-D descriptor of `n` elements, float32 or (`u8`) bytes. */
export function md1d(dnnl: Dnnl, n: number, u8 = false): Md {
  const md = new Md();
  check(
    "dnnl_memory_desc_init_by_tag",
    dnnl.fn.dnnl_memory_desc_init_by_tag(md.bytes, 1, dims([n]), u8 ? U8 : DNNL.f32, DNNL.a),
  );
  return md;
}

/** `DNNL_ARG_ATTR_MULTIPLE_POST_OP(idx) | DNNL_ARG_SRC_1`: the tensor of binary post-op `idx`. */
function postOpSrc1(idx: number): number {
  return (16384 * (idx + 1)) | 2;
}

/** A post-op: a binary one reading a tensor of descriptor `md`, or sqrt. */
export type PostOp = { readonly alg: "add" | "mul" | "div"; readonly md: Md } | "sqrt";

/**
 * The primitive `dst = post((scale·src0) alg (scale·src1))`, undefined where oneDNN has no
 * implementation. Its `run` takes the data of src0, src1, dst, then each binary post-op's tensor,
 * in that order.
 */
export function binaryPrimitive(
  dnnl: Dnnl,
  alg: BinaryAlg,
  src0: Md,
  src1: Md,
  dst: Md,
  post: readonly PostOp[] = [],
  scale = 1,
): Primitive | undefined {
  const fn = dnnl.fn;
  const x = extraOf(dnnl);
  const desc = opDesc();
  if (x.dnnl_binary_desc_init(desc, BINARY[alg], src0.p, src1.p, dst.p) !== DNNL.success) {
    return undefined;
  }
  const ops = create("dnnl_post_ops_create", (o) => fn.dnnl_post_ops_create(o));
  const args: number[] = [DNNL.argSrc, 2, DNNL.argDst];
  try {
    post.forEach((op, idx) => {
      if (op === "sqrt") {
        check(
          "dnnl_post_ops_append_eltwise",
          fn.dnnl_post_ops_append_eltwise(ops, 1, ELTWISE_SQRT, 0, 0),
        );
        return;
      }
      check(
        "dnnl_post_ops_append_binary",
        x.dnnl_post_ops_append_binary(ops, BINARY[op.alg], op.md.p),
      );
      args.push(postOpSrc1(idx));
    });
    const attr = create("dnnl_primitive_attr_create", (o) => fn.dnnl_primitive_attr_create(o));
    try {
      check("dnnl_primitive_attr_set_post_ops", fn.dnnl_primitive_attr_set_post_ops(attr, ops));
      for (const arg of scale === 1 ? [] : [DNNL.argSrc, 2]) {
        check(
          "dnnl_primitive_attr_set_scales",
          x.dnnl_primitive_attr_set_scales(attr, arg, 1n, 0, Float32Array.of(scale)),
        );
      }
      const pd = primitiveDesc(dnnl, desc, attr);
      return pd === undefined ? undefined : new Primitive(dnnl, pd, args);
    } finally {
      fn.dnnl_primitive_attr_destroy(attr);
    }
  } finally {
    fn.dnnl_post_ops_destroy(ops);
  }
}

/**
 * Elements from which an element-wise primitive runs on the run's OpenMP threads (below: one
 * thread, whose call costs less than waking the second). Element-wise results do not depend on
 * the count.
 */
export const MIN_PARALLEL = 1 << 16;

/** The thread count of an element-wise primitive over `n` elements (0: OpenMP not found). */
export function elementwiseThreads(dnnl: Dnnl, n: number): number {
  return threadsFor(dnnl.omp, n >= MIN_PARALLEL ? Infinity : 0);
}

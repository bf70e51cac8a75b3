/**
 * The element-wise kernels of `native-host` on oneDNN: on that backend every kernel not written
 * for oneDNN is the cpu backend's one-threaded JS, and these run over every activation of a VGG
 * or U-Net step (bias adds and ReLUs, the loss terms' differences, their gradients, max pools).
 * Unary kernels are oneDNN eltwise primitives, binary ones (with one side broadcast) binary
 * primitives, `Greater` a binary primitive writing bytes (tfjs' bool), `MaxPool` a pooling
 * primitive. Each result is computed per element, so the thread count cannot change it. `Log`
 * stays on the cpu kernel: oneDNN's vectorised log was 30 ulp off `Math.log`. Shapes or
 * dtypes oneDNN cannot take go to the cpu kernel it replaced. Internal to the native backends.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { poolGeometry, poolKey } from "./_matmul_pool.ts";
import type { KernelArgs } from "../_kernels/kernel_io.ts";
import { check, dims, DNNL, type Dnnl } from "./_dnnl.ts";
import { Md, mdTag, opDesc, Primitive, primitiveDesc } from "./_primitive.ts";
import { byteView, floatView, makeOutput, outOrFallback, tensorPointer } from "./_address.ts";
import { record, tune } from "./_tune.ts";
import { HOST_COPY_KERNELS } from "./_host_copy.ts";
import { threadsFor, withThreads } from "./_threads.ts";

const P = "pointer" as const;
const B = "buffer" as const;
const I = "i32" as const;

/** The oneDNN calls these kernels add to ./_dnnl.ts' (bound from the same library file). */
const SYMBOLS = {
  dnnl_eltwise_forward_desc_init: { parameters: [B, I, I, P, "f32", "f32"], result: I },
  dnnl_binary_desc_init: { parameters: [B, I, P, P, P], result: I },
} as const;

type Extra = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];
let extra: Extra | undefined;

function extraOf(dnnl: Dnnl): Extra {
  // The same file as the loaded oneDNN: dlopen returns the same library, so engine and stream
  // handles are shared. Kept open for the process, like ./_dnnl.ts' own handle.
  extra ??= Deno.dlopen(dnnl.path, SYMBOLS).symbols;
  return extra;
}

/** oneDNN's u8, for tfjs' bool tensors (one byte each). */
const U8 = 6;

/** A dense row-major descriptor of `shape` (strides 0-free; rank 0 as [1]). */
function dense(dnnl: Dnnl, shape: readonly number[], dtype: number = DNNL.f32): Md {
  const s = shape.length === 0 ? [1] : shape;
  const strides = new Array<number>(s.length);
  for (let i = s.length - 1, k = 1; i >= 0; i--) {
    strides[i] = k;
    k *= s[i]!;
  }
  const md = new Md();
  check(
    "dnnl_memory_desc_init_by_strides",
    dnnl.fn.dnnl_memory_desc_init_by_strides(md.bytes, s.length, dims(s), dtype, dims(strides)),
  );
  return md;
}

type Make = (dnnl: Dnnl, fallback: tf.KernelFunc) => tf.KernelFunc;

/** The primitive for an op descriptor whose `desc_init` returned `status`, binding `argIds`. */
function primitiveOf(
  dnnl: Dnnl,
  status: number,
  desc: Uint8Array<ArrayBuffer>,
  argIds: readonly number[],
): Primitive | undefined {
  const pd = status === DNNL.success ? primitiveDesc(dnnl, desc) : undefined;
  return pd === undefined || pd === null ? undefined : new Primitive(dnnl, pd, argIds);
}

/** Below this many elements the cpu kernel is as fast as a oneDNN call (and needs no primitive). */
const MIN_ELEMENTS = 4096;

/** Run a cached primitive `key` built by `build` over `handles` (pointers taken after allocation). */
function runCached(
  dnnl: Dnnl,
  key: string,
  work: number,
  build: () => Primitive | undefined,
  handles: () => Deno.PointerValue[],
): boolean {
  const t = threadsFor(dnnl.omp, work);
  return withThreads(dnnl.omp, t, () => {
    const prim = tune(`${key} t${t}`, [build], () => {});
    if (prim === undefined) return false;
    const h = handles();
    record(`${key} t${t}`, () => prim.run(h));
    return true;
  });
}

/** A unary kernel as oneDNN eltwise `alg` with `alpha`, `beta` (from the attributes). */
function unary(
  name: string,
  alg: number,
  params: (attrs: tf.NamedAttrMap) => [number, number] = () => [0, 0],
): Make {
  return (dnnl, fallback) => (args) => {
    const { inputs, attrs } = args as unknown as KernelArgs;
    const backend = args.backend as tf.KernelBackend;
    const { x } = inputs as { x: tf.TensorInfo };
    const size = tf.util.sizeFromShape(x.shape);
    if (x.dtype !== "float32" || size < MIN_ELEMENTS) return fallback(args);
    const [alpha, beta] = params(attrs ?? {});
    const out = makeOutput(backend, x.shape.slice());
    const ok = runCached(dnnl, `${name} [${size}] ${alpha},${beta}`, 4 * size, () => {
      const md = dense(dnnl, [size]);
      const desc = opDesc();
      const status = extraOf(dnnl).dnnl_eltwise_forward_desc_init(
        desc,
        DNNL.forwardInference,
        alg,
        md.p,
        alpha,
        beta,
      );
      return primitiveOf(dnnl, status, desc, [DNNL.argSrc, DNNL.argDst]);
    }, () => [tensorPointer(backend, x), tensorPointer(backend, out)]);
    return outOrFallback(ok, out, fallback, args);
  };
}

/**
 * The operands' shapes for oneDNN's binary primitive: both at the output's rank, the first equal
 * to the output (oneDNN broadcasts only its second source). `swap` when only the operands in the
 * other order fit (for commutative kernels); undefined when neither order does.
 */
function binaryShapes(
  a: readonly number[],
  b: readonly number[],
  commutative: boolean,
): { out: number[]; first: number[]; second: number[]; swap: boolean } | undefined {
  const out = tf.backend_util.assertAndGetBroadcastShape(a.slice(), b.slice());
  const pad = (s: readonly number[]) => [...new Array(out.length - s.length).fill(1), ...s];
  const [pa, pb] = [pad(a), pad(b)];
  const same = (s: number[]) => s.every((d, i) => d === out[i]);
  if (out.length > 6) return undefined;
  if (same(pa)) return { out, first: pa, second: pb, swap: false };
  if (commutative && same(pb)) return { out, first: pb, second: pa, swap: true };
  return undefined;
}

/** A binary kernel as oneDNN binary `alg`; `Greater`-like kernels write bool (u8) results. */
function binary(name: string, alg: number, commutative: boolean, toBool = false): Make {
  return (dnnl, fallback) => (args) => {
    const { inputs } = args as unknown as KernelArgs;
    const backend = args.backend as tf.KernelBackend;
    const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    if (a.dtype !== "float32" || b.dtype !== "float32") return fallback(args);
    const s = binaryShapes(a.shape, b.shape, commutative);
    const size = s === undefined ? 0 : tf.util.sizeFromShape(s.out);
    if (s === undefined || size < MIN_ELEMENTS) return fallback(args);
    const [first, second] = s.swap ? [b, a] : [a, b];
    const out = makeOutput(backend, s.out, toBool ? "bool" : "float32");
    const key = `${name} [${s.first}]·[${s.second}]`;
    const ok = runCached(
      dnnl,
      key,
      4 * size,
      () => {
        const [m0, m1] = [dense(dnnl, s.first), dense(dnnl, s.second)];
        const mDst = dense(dnnl, s.out, toBool ? U8 : DNNL.f32);
        const desc = opDesc();
        const status = extraOf(dnnl).dnnl_binary_desc_init(desc, alg, m0.p, m1.p, mDst.p);
        // DNNL_ARG_SRC_0 = 1 (argSrc), DNNL_ARG_SRC_1 = 2.
        return primitiveOf(dnnl, status, desc, [DNNL.argSrc, 2, DNNL.argDst]);
      },
      () => [
        tensorPointer(backend, first),
        tensorPointer(backend, second),
        tensorPointer(backend, out),
      ],
    );
    return outOrFallback(ok, out, fallback, args);
  };
}

/** `MaxPool` (NHWC, float32) as a oneDNN pooling primitive for inference (no workspace). */
const maxPool: Make = (dnnl, fallback) => (args) => {
  const { inputs, attrs } = args as unknown as KernelArgs;
  const backend = args.backend as tf.KernelBackend;
  const { x } = inputs as { x: tf.TensorInfo };
  const a = attrs as unknown as tf.MaxPoolAttrs;
  if (x.dtype !== "float32" || x.shape.length !== 4) return fallback(args);
  const s = poolGeometry(x.shape, a);
  if (s.oh <= 0 || s.ow <= 0 || s.n * s.h * s.w * s.ci < MIN_ELEMENTS) return fallback(args);
  const out = makeOutput(backend, [s.n, s.oh, s.ow, s.ci]);
  const key = `maxpool ${poolKey(s)}`;
  const ok = runCached(dnnl, key, 4 * s.n * s.h * s.w * s.ci, () => {
    // The logical order oneDNN wants is NCHW; NHWC memory is that order with these strides.
    const mx = mdTag(dnnl, [s.n, s.ci, s.h, s.w], DNNL.nhwc);
    const my = mdTag(dnnl, [s.n, s.ci, s.oh, s.ow], DNNL.nhwc);
    const desc = opDesc();
    const status = dnnl.fn.dnnl_pooling_v2_forward_desc_init(
      desc,
      DNNL.forwardInference,
      DNNL.poolingMax,
      mx.p,
      my.p,
      dims([s.sh, s.sw]),
      dims([s.kh, s.kw]),
      dims([0, 0]), // oneDNN dilation is 0-based
      dims([s.top, s.left]),
      dims([s.bottom, s.right]),
    );
    return primitiveOf(dnnl, status, desc, [DNNL.argSrc, DNNL.argDst]);
  }, () => [tensorPointer(backend, x), tensorPointer(backend, out)]);
  return outOrFallback(ok, out, fallback, args);
};

/**
 * `Select` (tf.where) on same-shape float32 operands: oneDNN 2.6 has no select primitive, and the
 * cpu kernel walks indices through a generic broadcasting loop; this tight loop is several times
 * faster (a ReLU mask applied to every gradient in the frozen VGG's backward).
 */
const select: Make = (_dnnl, fallback) => (args) => {
  const { inputs } = args as unknown as KernelArgs;
  const backend = args.backend as tf.KernelBackend;
  const { condition, t, e } = inputs as Record<string, tf.TensorInfo>;
  const same = (x: tf.TensorInfo) => tf.util.arraysEqual(x.shape, t!.shape);
  if (
    t!.dtype !== "float32" || e!.dtype !== "float32" || condition!.dtype !== "bool" ||
    !same(condition!) || !same(e!)
  ) return fallback(args);
  const out = makeOutput(backend, t!.shape.slice());
  const c = byteView(backend, condition!);
  const [tv, ev, ov] = [t!, e!, out].map((x) => floatView(backend, x)) as Float32Array[];
  for (let i = 0; i < ov!.length; i++) ov![i] = c[i] ? tv![i]! : ev![i]!;
  return out;
};

/** oneDNN algorithm kinds (dnnl_types.h, 2.x). */
const ALG = {
  relu: 0x1f,
  square: 0x4f,
  abs: 0x5f,
  sqrt: 0x6f,
  linear: 0x7f,
  exp: 0xbf,
  clip: 0xff,
  add: 0x1fff0,
  mul: 0x1fff1,
  max: 0x1fff2,
  min: 0x1fff3,
  div: 0x1fff4,
  sub: 0x1fff5,
  gt: 0x1fff7,
} as const;

/** The kernels, by tfjs kernel name. */
export const HOST_KERNEL_MAKERS: Readonly<Record<string, Make>> = {
  Relu: unary("relu", ALG.relu),
  Abs: unary("abs", ALG.abs),
  Square: unary("square", ALG.square),
  Sqrt: unary("sqrt", ALG.sqrt),
  Exp: unary("exp", ALG.exp),
  Neg: unary("neg", ALG.linear, () => [-1, 0]),
  ClipByValue: unary("clip", ALG.clip, (a) => [
    (a as unknown as tf.ClipByValueAttrs).clipValueMin,
    (a as unknown as tf.ClipByValueAttrs).clipValueMax,
  ]),
  Add: binary("add", ALG.add, true),
  Multiply: binary("mul", ALG.mul, true),
  Maximum: binary("max", ALG.max, true),
  Minimum: binary("min", ALG.min, true),
  Sub: binary("sub", ALG.sub, false),
  RealDiv: binary("div", ALG.div, false),
  Greater: binary("gt", ALG.gt, false, true),
  MaxPool: maxPool,
  Select: select,
  // Block copies and leading-axes sums in JS (./_host_copy.ts); they need no oneDNN.
  ...Object.fromEntries(
    Object.entries(HOST_COPY_KERNELS).map(([k, make]): [string, Make] => [k, (_, f) => make(f)]),
  ),
};

/** Their names. */
export const HOST_KERNELS: readonly string[] = Object.keys(HOST_KERNEL_MAKERS);

/**
 * bf16 convolutions for a frozen network on oneDNN: forward (bias + optional ReLU fused) and
 * backward-data, with bf16 activations and weights, f32 accumulation and f32 results. Internal
 * to the native backend; reached through the two tfjs kernels of ./_bf16.ts.
 *
 * Each call converts its float32 input (x, or dy) to bf16 with a oneDNN reorder into a scratch
 * buffer (round to nearest even) — for a masked backward-data then multiplies that copy by the
 * ReLU's one-byte mask in place (the ReLU's backward, without a float32 pass in wasm) — runs
 * the bf16 primitive and writes float32 into the tfjs output. The weights are converted once
 * per tensor and weight layout (cached, dropped with the tensor). The primitive per shape is
 * chosen by a fixed rule (the first oneDNN builds, blocked weights first): reproducible run
 * after run.
 *
 * @module
 */
import type { ConvGeometry } from "../_kernels/conv2d_backprop_filter.ts";
import { check, dims, DNNL, type Dnnl } from "./_dnnl.ts";
import { Md, opDesc, Primitive, primitiveDesc, reorder, unlessReference } from "./_primitive.ts";
import { type ForwardConvolution, forwardOp, forwardPrimitive, key, runConv } from "./_conv.ts";
import { binaryPrimitive } from "./_binary.ts";
import { layoutKey, Scratch, weightCopy } from "./_conv_buffers.ts";
import { NativeBackendError } from "./errors.ts";

type Ptr = Deno.PointerValue;

/** oneDNN's `dnnl_bf16` data type. */
const BF16 = 2;
/** oneDNN's `dnnl_u8` data type (tfjs's bool tensors). */
const U8 = 6;

/** A descriptor of `dtype` laid out as `tag`. */
function md(dnnl: Dnnl, shape: readonly number[], dtype: number, tag: number): Md {
  const m = new Md();
  check(
    "dnnl_memory_desc_init_by_tag",
    dnnl.fn.dnnl_memory_desc_init_by_tag(m.bytes, shape.length, dims(shape), dtype, tag),
  );
  return m;
}

/** The descriptors of one geometry: f32 user tensors, their bf16 copies, any-layout weights. */
interface Mds {
  readonly xF32: Md;
  readonly xBf16: Md;
  readonly yF32: Md;
  readonly yBf16: Md;
  readonly wUser: Md;
  readonly wBf16: Record<"any" | "hwio", Md>;
  readonly bias: Md;
}

function mdsOf(dnnl: Dnnl, g: ConvGeometry): Mds {
  const x = [g.n, g.ci, g.h, g.w], y = [g.n, g.co, g.oh, g.ow], w = [g.co, g.ci, g.kh, g.kw];
  return {
    xF32: md(dnnl, x, DNNL.f32, DNNL.nhwc),
    xBf16: md(dnnl, x, BF16, DNNL.nhwc),
    yF32: md(dnnl, y, DNNL.f32, DNNL.nhwc),
    yBf16: md(dnnl, y, BF16, DNNL.nhwc),
    wUser: md(dnnl, w, DNNL.f32, DNNL.hwio),
    wBf16: { any: md(dnnl, w, BF16, DNNL.any), hwio: md(dnnl, w, BF16, DNNL.hwio) },
    bias: md(dnnl, [g.co], DNNL.f32, DNNL.a),
  };
}

function forwardDesc(
  dnnl: Dnnl,
  g: ConvGeometry,
  src: Md,
  w: Md,
  bias: Md | undefined,
  dst: Md,
): Uint8Array<ArrayBuffer> | undefined {
  const desc = opDesc();
  const status = dnnl.fn.dnnl_convolution_forward_desc_init(
    desc,
    DNNL.forwardTraining,
    DNNL.convolutionDirect,
    src.p,
    w.p,
    bias?.p ?? null,
    dst.p,
    dims([g.sh, g.sw]),
    dims([g.top, g.left]),
    dims([g.bottom, g.right]),
  );
  return status === DNNL.success ? desc : undefined;
}

/** The bf16 copy of an input (x, or dy). */
const scratch = new Scratch();

/** A bf16 primitive with the reorders around it. */
interface Bf16Plan {
  readonly prim: Primitive;
  /** f32 input → bf16 scratch. */
  readonly toBf16: Primitive;
  /** f32 HWIO weights → the primitive's bf16 layout. */
  readonly toWeights: Primitive;
  readonly weightKey: string;
  toString(): string;
  destroy(): void;
}

function plan(dnnl: Dnnl, prim: Primitive, from: Md, to: Md, wUser: Md): Bf16Plan {
  const toBf16 = reorder(dnnl, from.p, to.p);
  const wMd = prim.md(DNNL.argWeights);
  const toWeights = reorder(dnnl, wUser.p, wMd);
  return {
    prim,
    toBf16,
    toWeights,
    weightKey: layoutKey(wMd),
    toString: () => `${prim.impl} bf16`,
    destroy() {
      toBf16.destroy();
      toWeights.destroy();
      prim.destroy();
    },
  };
}

/** The weights `w` (tensor identity `id`) in `p`'s bf16 layout, converted on first use. */
function weightsOf(p: Bf16Plan, id: object, w: Ptr): Ptr {
  const bytes = p.toWeights.bytes.get(DNNL.argDst)!;
  return weightCopy(id, p.weightKey, bytes, (dst) => p.toWeights.run([w, dst]));
}

function buildForward(
  dnnl: Dnnl,
  g: ConvGeometry,
  m: Mds,
  layout: "any" | "hwio",
  bias: boolean,
  relu: boolean,
): Bf16Plan | undefined {
  const desc = forwardDesc(dnnl, g, m.xBf16, m.wBf16[layout], bias ? m.bias : undefined, m.yF32);
  if (desc === undefined) return undefined;
  const prim = forwardPrimitive(dnnl, desc, bias, relu);
  return prim && plan(dnnl, prim, m.xF32, m.xBf16, m.wUser);
}

function buildBackwardData(
  dnnl: Dnnl,
  g: ConvGeometry,
  m: Mds,
  layout: "any" | "hwio",
): Bf16Plan | undefined {
  const w = m.wBf16[layout];
  const fwd = forwardDesc(dnnl, g, m.xBf16, w, undefined, m.yBf16);
  const hint = fwd && primitiveDesc(dnnl, fwd);
  if (hint === undefined) return undefined;
  const desc = opDesc();
  const status = dnnl.fn.dnnl_convolution_backward_data_desc_init(
    desc,
    DNNL.convolutionDirect,
    m.xF32.p,
    w.p,
    m.yBf16.p,
    dims([g.sh, g.sw]),
    dims([g.top, g.left]),
    dims([g.bottom, g.right]),
  );
  const pd = status === DNNL.success ? primitiveDesc(dnnl, desc, null, hint) : undefined;
  if (pd === undefined) {
    dnnl.fn.dnnl_primitive_desc_destroy(hint);
    return undefined;
  }
  const prim = new Primitive(dnnl, pd, [DNNL.argDiffDst, DNNL.argWeights, DNNL.argDiffSrc], [
    hint,
  ]);
  return plan(dnnl, prim, m.yF32, m.yBf16, m.wUser);
}

const mdCache = new Map<string, Mds>();
function mdsFor(dnnl: Dnnl, g: ConvGeometry): Mds {
  const k = key("", g);
  let m = mdCache.get(k);
  if (m === undefined) mdCache.set(k, m = mdsOf(dnnl, g));
  return m;
}

/** The implementations are not `ref:` ones (a reference bf16 kernel would be far slower). */
function fast<T extends Bf16Plan>(p: T | undefined): T | undefined {
  if (p !== undefined && p.prim.impl.startsWith("ref")) {
    p.destroy();
    return undefined;
  }
  return p;
}

/**
 * `dst = src0 · mask` over `n` elements, bf16 times oneDNN u8 (tfjs's one-byte bools, 0 or 1)
 * into bf16, in place on the bf16 copy of `dy`: the ReLU's backward, folded into the pass the
 * bf16 conversion makes anyway. oneDNN 2.6.3 runs it `jit:uni` (f32 src0 into bf16 is `ref:any`,
 * hence after the conversion, not in it).
 */
function maskPrimitive(dnnl: Dnnl, n: number): Primitive | undefined {
  const bf16 = md(dnnl, [n], BF16, DNNL.a);
  return unlessReference(binaryPrimitive(dnnl, "mul", bf16, md(dnnl, [n], U8, DNNL.a), bf16));
}

/** A bf16 backward-data plan that masks the gradient first (./_bf16.ts' masked kernel). */
interface MaskedPlan extends Bf16Plan {
  readonly mask: Primitive;
}

function withMask(dnnl: Dnnl, p: Bf16Plan | undefined, n: number): MaskedPlan | undefined {
  if (p === undefined) return undefined;
  const mask = maskPrimitive(dnnl, n);
  if (mask === undefined) {
    p.destroy();
    return undefined;
  }
  return {
    ...p,
    mask,
    toString: () => `${p} masked:${mask.impl}`,
    destroy() {
      mask.destroy();
      p.destroy();
    },
  };
}

/**
 * Run `p` on input `input` (f32, converted to bf16 first, then times the u8 `mask` when given),
 * weights `w` and `rest`.
 */
function runPlan(
  p: Bf16Plan & { readonly mask?: Primitive },
  input: Ptr,
  w: Ptr,
  wId: object,
  rest: readonly Ptr[],
  mask?: Ptr,
): void {
  const tmp = scratch.of(p.toBf16.bytes.get(DNNL.argDst)!);
  try {
    p.toBf16.run([input, tmp]);
    if (mask !== undefined) p.mask!.run([tmp, mask, tmp]);
    p.prim.run([tmp, weightsOf(p, wId, w), ...rest]);
  } finally {
    scratch.release();
  }
}

/** Both weight layouts, blocked first: blocked weights won every VGG shape measured. */
const LAYOUTS = ["any", "hwio"] as const;

/**
 * A bf16 forward convolution of f32 `x` with f32 HWIO weights `w` (converted once per tensor
 * identity `wId`), f32 bias and ReLU fused when asked, f32 result in `y`. False where oneDNN
 * has no fast bf16 implementation for the shape.
 */
export const bf16ConvForward: ForwardConvolution = (dnnl, g, bias, relu, ptrs, wId) =>
  runConv(
    dnnl,
    forwardOp("bf16_conv_fwd", bias, relu),
    g,
    () => LAYOUTS.map((l) => () => fast(buildForward(dnnl, g, mdsFor(dnnl, g), l, bias, relu))),
    // By the fixed rule even with timing on (the no-op run keeps the first that builds).
    () => {},
    ptrs,
    (p, a) => runPlan(p, a.x, a.w, wId, bias ? [a.b!, a.y] : [a.y]),
  );

/**
 * A bf16 backward-data convolution: f32 `dx` from f32 `dy` (converted to bf16 and, when `mask`
 * is given, multiplied by that u8 mask of dy's shape — a ReLU's backward) and the weights in
 * bf16. False where oneDNN has no fast bf16 implementation for the shape.
 */
export function bf16ConvBackwardData(
  dnnl: Dnnl,
  g: ConvGeometry,
  ptrs: () => { dy: Ptr; w: Ptr; dx: Ptr; mask?: Ptr },
  wId: object,
  masked = false,
): boolean {
  const n = g.n * g.oh * g.ow * g.co;
  return runConv<Bf16Plan & { readonly mask?: Primitive }, ReturnType<typeof ptrs>>(
    dnnl,
    `bf16_conv_bwd_data${masked ? "+mask" : ""}`,
    g,
    () =>
      LAYOUTS.map((l) => () => {
        const p = fast(buildBackwardData(dnnl, g, mdsFor(dnnl, g), l));
        return masked ? withMask(dnnl, p, n) : p;
      }),
    () => {},
    ptrs,
    (p, a) => {
      if (masked && a.mask === undefined) {
        throw new NativeBackendError("bf16 masked backward-data convolution: no mask address");
      }
      runPlan(p, a.dy, a.w, wId, [a.dx], masked ? a.mask : undefined);
    },
  );
}

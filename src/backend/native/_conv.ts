/**
 * Convolution primitives (forward with optional bias + ReLU, backward-data, backward-weights) for
 * NHWC tensors with HWIO filters, cached by shape, each with the weight layout that measured
 * fastest. Internal to the native backend.
 *
 * Weight layout: oneDNN's fast kernels want blocked weights (`format_tag::any`); forcing plain
 * `hwio` made it fall back to a gemm path 2–3× slower on most convs, but where there are few
 * pixels for many channels the gemm path wins. The layout is chosen by a fixed rule
 * ({@linkcode layoutOrder}), so every process makes the same choice and results are
 * bit-identical run after run; timing both on first use is opt-in (see ./_tune.ts).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { ConvGeometry } from "../_kernels/conv2d_backprop_filter.ts";
import { holdsData } from "./_address.ts";
import { takeRecent } from "./_conv_buffers.ts";
import { DNNL, type Dnnl } from "./_dnnl.ts";
import { type Candidate, record, tune } from "./_tune.ts";
import { threadsFor, withThreads } from "./_threads.ts";
import {
  HostBuffer,
  type Md,
  mdTag,
  opDesc,
  Primitive,
  primitiveDesc,
  reluAttr,
  reorder,
} from "./_primitive.ts";
import { dims } from "./_dnnl.ts";

type Ptr = Deno.PointerValue;
type Layout = "any" | "hwio";

/**
 * The weight layouts to try for a convolution, preferred first: the fixed rule that replaces
 * per-process timing. Measured on an AMD EPYC (AVX-512, 2 threads, oneDNN 2.6.3), `any` vs
 * `hwio` in ms: forward [4,8,8,512]·512 17.5 vs 3.3, [4,16,16,256]·256 2.9 vs 5.0; backward-data
 * [4,8,8,512] 17.2 vs 4.5, [4,16,16,256] 7.0 vs 3.7, [2,12,12,128] 1.6 vs 0.3, [2,24,24,128]
 * 2.3 vs 1.0, [2,24,24,64] 0.24 vs 0.31, [4,32,32,128] 3.5 vs 4.9; backward-weights `any` won
 * every shape (1.2–2.5×). Hence: `hwio` first for a forward conv with fewer output pixels
 * (n·oh·ow) than input channels, and for backward-data with at most 16 pixels per channel;
 * `any` first everywhere else. The other layout stays as the fallback when the first cannot
 * be built.
 */
export function layoutOrder(
  op: "forward" | "backwardData" | "backwardWeights",
  g: ConvGeometry,
): readonly Layout[] {
  const pixels = g.n * g.oh * g.ow;
  const gemmFirst = op === "forward"
    ? pixels < g.ci
    : op === "backwardData"
    ? pixels <= 16 * Math.max(g.ci, g.co)
    : false;
  return gemmFirst ? ["hwio", "any"] : ["any", "hwio"];
}

/** The descriptors of one convolution geometry. */
export interface Mds {
  readonly x: Md;
  readonly y: Md;
  readonly wUser: Md;
  readonly w: Record<Layout, Md>;
  readonly bias: Md;
}

function mds(dnnl: Dnnl, g: ConvGeometry): Mds {
  const wShape = [g.co, g.ci, g.kh, g.kw];
  return {
    x: mdTag(dnnl, [g.n, g.ci, g.h, g.w], DNNL.nhwc),
    y: mdTag(dnnl, [g.n, g.co, g.oh, g.ow], DNNL.nhwc),
    wUser: mdTag(dnnl, wShape, DNNL.hwio),
    w: { any: mdTag(dnnl, wShape, DNNL.any), hwio: mdTag(dnnl, wShape, DNNL.hwio) },
    bias: mdTag(dnnl, [g.co], DNNL.a),
  };
}

function forwardDesc(dnnl: Dnnl, g: ConvGeometry, m: Mds, layout: Layout, bias: boolean) {
  const desc = opDesc();
  const status = dnnl.fn.dnnl_convolution_forward_desc_init(
    desc,
    DNNL.forwardTraining,
    DNNL.convolutionDirect,
    m.x.p,
    m.w[layout].p,
    bias ? m.bias.p : null,
    m.y.p,
    dims([g.sh, g.sw]),
    dims([g.top, g.left]),
    dims([g.bottom, g.right]),
  );
  return status === DNNL.success ? desc : undefined;
}

/** The forward primitive descriptor that oneDNN's backward convolutions take as their hint. */
function backwardHint(dnnl: Dnnl, g: ConvGeometry, m: Mds, layout: Layout) {
  const fwd = forwardDesc(dnnl, g, m, layout, false);
  return fwd && primitiveDesc(dnnl, fwd);
}

/** Destroy a primitive descriptor made here that did not end up owned by a primitive. */
function dropPd(dnnl: Dnnl, pd: Deno.PointerValue | undefined): undefined {
  if (pd !== undefined) dnnl.fn.dnnl_primitive_desc_destroy(pd);
  return undefined;
}

/** The oneDNN arrays a convolution descriptor takes: strides, padding before, padding after. */
type Spatial = [BigInt64Array<ArrayBuffer>, BigInt64Array<ArrayBuffer>, BigInt64Array<ArrayBuffer>];

/**
 * A backward convolution primitive: `init` fills the op descriptor (oneDNN's backward-data or
 * backward-weights `desc_init`) given this geometry's strides and padding; the forward pass of
 * the same shape is its hint.
 */
function backwardPrimitive(
  dnnl: Dnnl,
  g: ConvGeometry,
  m: Mds,
  layout: Layout,
  init: (desc: Uint8Array<ArrayBuffer>, ...spatial: Spatial) => number,
  args: readonly number[],
): Primitive | undefined {
  const hint = backwardHint(dnnl, g, m, layout);
  if (hint === undefined) return undefined;
  const desc = opDesc();
  const spatial: Spatial = [dims([g.sh, g.sw]), dims([g.top, g.left]), dims([g.bottom, g.right])];
  if (init(desc, ...spatial) !== DNNL.success) return dropPd(dnnl, hint);
  const pd = primitiveDesc(dnnl, desc, null, hint);
  // The backward descriptor may refer to its forward hint: the primitive owns both.
  return pd === undefined ? dropPd(dnnl, hint) : new Primitive(dnnl, pd, args, [hint]);
}

/**
 * Weight tensors reordered for a primitive, most recently used first, by tensor data (which never
 * changes, so a copy stays valid while its tensor lives). A trained weight is new data after every
 * update: its copy takes over the buffer of a copy whose tensor is gone, else (past
 * {@linkcode REORDER_SLOTS}) of the least recently used one, instead of a fresh allocation. (A
 * fresh buffer per weight per step was ~3-7 MB of new host memory per step of the main job's
 * U-Net, paid in page faults at ~160 MB/s on these VMs and in garbage collections.)
 */
const reordered = new Map<Primitive, { id: object; buf: HostBuffer }[]>();

/**
 * Copies kept per primitive: enough for the frozen loss network's weights of one shape (VGG-19
 * has four [3,3,256,256] convolutions in block 3, three at one geometry) beside a trained one.
 */
const REORDER_SLOTS = 8;

/** Weights in the layout `to` wants: `w` itself, or the reordered copy of tensor data `id`. */
function weightsFor(to: Primitive | undefined, id: object, w: Ptr): Ptr {
  if (to === undefined) return w;
  let slots = reordered.get(to);
  if (slots === undefined) reordered.set(to, slots = []);
  const hit = takeRecent(slots, (e) => e.id === id);
  if (hit !== undefined) return hit.buf.p;
  const backend = tf.backend();
  let free = slots.findIndex((e) => !holdsData(backend, e.id));
  if (free < 0 && slots.length >= REORDER_SLOTS) free = slots.length - 1;
  const buf = free >= 0
    ? slots.splice(free, 1)[0]!.buf
    : new HostBuffer(to.bytes.get(DNNL.argDst)!);
  to.run([w, buf.p]);
  slots.unshift({ id, buf });
  return buf.p;
}

/**
 * The forward convolution primitive of op descriptor `desc` (ReLU fused as a post-op when asked),
 * run with (src, weights, [bias,] dst); undefined where oneDNN has no implementation.
 */
export function forwardPrimitive(
  dnnl: Dnnl,
  desc: Uint8Array<ArrayBuffer>,
  bias: boolean,
  relu: boolean,
): Primitive | undefined {
  const attr = relu ? reluAttr(dnnl) : null;
  const pd = primitiveDesc(dnnl, desc, attr);
  // oneDNN copies the attributes into the descriptor.
  if (attr !== null) dnnl.fn.dnnl_primitive_attr_destroy(attr);
  if (pd === undefined) return undefined;
  const args = bias
    ? [DNNL.argSrc, DNNL.argWeights, DNNL.argBias, DNNL.argDst]
    : [DNNL.argSrc, DNNL.argWeights, DNNL.argDst];
  return new Primitive(dnnl, pd, args);
}

/** A forward convolution ready to run. */
export interface ConvForward {
  toString(): string;
  destroy(): void;
  run(x: Ptr, w: Ptr, wId: object, bias: Ptr | undefined, y: Ptr): void;
}

function buildForward(
  dnnl: Dnnl,
  g: ConvGeometry,
  m: Mds,
  layout: Layout,
  bias: boolean,
  relu: boolean,
): ConvForward | undefined {
  const desc = forwardDesc(dnnl, g, m, layout, bias);
  if (desc === undefined) return undefined;
  const prim = forwardPrimitive(dnnl, desc, bias, relu);
  if (prim === undefined) return undefined;
  const toPrim = prim.matches(DNNL.argWeights, m.wUser)
    ? undefined
    : reorder(dnnl, m.wUser.p, prim.md(DNNL.argWeights));
  return {
    run(x, w, wId, b, y) {
      const wp = weightsFor(toPrim, wId, w);
      prim.run(bias ? [x, wp, b!, y] : [x, wp, y]);
    },
    destroy() {
      if (toPrim !== undefined) reordered.delete(toPrim);
      toPrim?.destroy();
      prim.destroy();
    },
    toString: () => `${prim.impl} weights:${layout}`,
  };
}

/** A backward-data convolution ready to run: dx from dy and the weights. */
export interface ConvBackwardData {
  toString(): string;
  destroy(): void;
  run(dy: Ptr, w: Ptr, wId: object, dx: Ptr): void;
}

function buildBackwardData(
  dnnl: Dnnl,
  g: ConvGeometry,
  m: Mds,
  layout: Layout,
): ConvBackwardData | undefined {
  const prim = backwardPrimitive(
    dnnl,
    g,
    m,
    layout,
    (desc, ...spatial) =>
      dnnl.fn.dnnl_convolution_backward_data_desc_init(
        desc,
        DNNL.convolutionDirect,
        m.x.p,
        m.w[layout].p,
        m.y.p,
        ...spatial,
      ),
    [DNNL.argDiffDst, DNNL.argWeights, DNNL.argDiffSrc],
  );
  if (prim === undefined) return undefined;
  const toPrim = prim.matches(DNNL.argWeights, m.wUser)
    ? undefined
    : reorder(dnnl, m.wUser.p, prim.md(DNNL.argWeights));
  return {
    run(dy, w, wId, dx) {
      prim.run([dy, weightsFor(toPrim, wId, w), dx]);
    },
    destroy() {
      if (toPrim !== undefined) reordered.delete(toPrim);
      toPrim?.destroy();
      prim.destroy();
    },
    toString: () => `${prim.impl} weights:${layout}`,
  };
}

/** A backward-weights convolution ready to run: dW (HWIO) from x and dy. */
export interface ConvBackwardWeights {
  toString(): string;
  destroy(): void;
  run(x: Ptr, dy: Ptr, dw: Ptr): void;
}

function buildBackwardWeights(
  dnnl: Dnnl,
  g: ConvGeometry,
  m: Mds,
  layout: Layout,
): ConvBackwardWeights | undefined {
  const prim = backwardPrimitive(
    dnnl,
    g,
    m,
    layout,
    (desc, ...spatial) =>
      dnnl.fn.dnnl_convolution_backward_weights_desc_init(
        desc,
        DNNL.convolutionDirect,
        m.x.p,
        m.w[layout].p,
        null,
        m.y.p,
        ...spatial,
      ),
    [DNNL.argSrc, DNNL.argDiffDst, DNNL.argDiffWeights],
  );
  if (prim === undefined) return undefined;
  if (prim.matches(DNNL.argDiffWeights, m.wUser)) {
    return {
      run: (x, dy, dw) => prim.run([x, dy, dw]),
      destroy: () => prim.destroy(),
      toString: () => `${prim.impl} weights:${layout}`,
    };
  }
  const back = reorder(dnnl, prim.md(DNNL.argDiffWeights), m.wUser.p);
  const tmp = new HostBuffer(prim.bytes.get(DNNL.argDiffWeights)!);
  return {
    run(x, dy, dw) {
      prim.run([x, dy, tmp.p]);
      back.run([tmp.p, dw]);
    },
    destroy() {
      back.destroy();
      prim.destroy();
    },
    toString: () => `${prim.impl} weights:${layout}`,
  };
}

/** The cache and profile key of convolution `op` on geometry `g`. */
export function key(op: string, g: ConvGeometry): string {
  return `${op} x[${g.n},${g.h},${g.w},${g.ci}] w[${g.kh},${g.kw},${g.ci},${g.co}] ` +
    `s${g.sh},${g.sw} p${g.top},${g.left},${g.bottom},${g.right}`;
}

/** Multiply-adds × 2 of the convolution (the same for its two gradients). */
export function flops(g: ConvGeometry): number {
  return 2 * g.n * g.oh * g.ow * g.co * g.ci * g.kh * g.kw;
}

const mdCache = new Map<string, Mds>();
/** The descriptors of geometry `g` (NHWC x and y, HWIO and `any` weights, bias), made once. */
export function mdsFor(dnnl: Dnnl, g: ConvGeometry): Mds {
  const k = key("", g);
  let m = mdCache.get(k);
  if (m === undefined) mdCache.set(k, m = mds(dnnl, g));
  return m;
}

/**
 * The shape every convolution entry point shares (f32 here, bf16 in ./_bf16_conv.ts): on the
 * thread count the convolution's size calls for, the plan cached under `op`'s key — chosen by
 * ./_tune.ts among `builders` (in the fixed rule's order; `time` runs a candidate when timing is
 * opted into) — run once on the tensors' addresses, which `ptrs` reads only now (after the
 * caller's allocations), and recorded in the profile. False where no plan could be built.
 */
export function runConv<P extends Candidate, A>(
  dnnl: Dnnl,
  op: string,
  g: ConvGeometry,
  builders: () => readonly (() => P | undefined)[],
  time: (plan: P) => void,
  ptrs: () => A,
  run: (plan: P, a: A) => void,
): boolean {
  const t = threadsFor(dnnl.omp, flops(g));
  return withThreads(dnnl.omp, t, () => {
    const k = `${key(op, g)} t${t}`;
    const plan = tune(k, builders(), time);
    if (plan === undefined) return false;
    const a = ptrs();
    record(k, () => run(plan, a));
    return true;
  });
}

/**
 * A forward convolution entry point (f32 direct here, bf16 in ./_bf16_conv.ts, Winograd in
 * ./_winograd_conv.ts): geometry `g`, bias and ReLU fused when asked, the tensors' addresses read
 * by `ptrs` when it runs, the weights' tensor identity `wId` (for their converted copies). False
 * where it has no implementation for the shape (the caller falls back).
 */
export type ForwardConvolution = (
  dnnl: Dnnl,
  g: ConvGeometry,
  bias: boolean,
  relu: boolean,
  ptrs: () => { x: Ptr; w: Ptr; b: Ptr | undefined; y: Ptr },
  wId: object,
) => boolean;

/** The cache and profile name of forward convolution `op` with what it fuses. */
export function forwardOp(op: string, bias: boolean, relu: boolean): string {
  return `${op}${bias ? "+bias" : ""}${relu ? "+relu" : ""}`;
}

/**
 * Run a forward convolution (bias and ReLU fused when given), building its primitive on first
 * use. Returns false where oneDNN has no implementation (the caller falls back).
 */
export const convForward: ForwardConvolution = (dnnl, g, bias, relu, ptrs, wId) =>
  runConv(
    dnnl,
    forwardOp("conv_fwd", bias, relu),
    g,
    () =>
      layoutOrder("forward", g).map((l) => () =>
        buildForward(dnnl, g, mdsFor(dnnl, g), l, bias, relu)
      ),
    // Tuning runs use a fresh identity so that a layout's cost includes its weight reorder.
    (c) => {
      const p = ptrs();
      c.run(p.x, p.w, {}, p.b, p.y);
    },
    ptrs,
    (plan, p) => plan.run(p.x, p.w, wId, p.b, p.y),
  );

/** Run a backward-data convolution; false where oneDNN has no implementation. */
export function convBackwardData(
  dnnl: Dnnl,
  g: ConvGeometry,
  ptrs: () => { dy: Ptr; w: Ptr; dx: Ptr },
  wId: object,
): boolean {
  return runConv(
    dnnl,
    "conv_bwd_data",
    g,
    () =>
      layoutOrder("backwardData", g).map((l) => () =>
        buildBackwardData(dnnl, g, mdsFor(dnnl, g), l)
      ),
    (c) => {
      const p = ptrs();
      c.run(p.dy, p.w, {}, p.dx);
    },
    ptrs,
    (plan, p) => plan.run(p.dy, p.w, wId, p.dx),
  );
}

/** Run a backward-weights convolution; false where oneDNN has no implementation. */
export function convBackwardWeights(
  dnnl: Dnnl,
  g: ConvGeometry,
  ptrs: () => { x: Ptr; dy: Ptr; dw: Ptr },
): boolean {
  return runConv(
    dnnl,
    "conv_bwd_weights",
    g,
    () =>
      layoutOrder("backwardWeights", g).map((l) => () =>
        buildBackwardWeights(dnnl, g, mdsFor(dnnl, g), l)
      ),
    (c) => {
      const p = ptrs();
      c.run(p.x, p.dy, p.dw);
    },
    ptrs,
    (plan, p) => plan.run(p.x, p.dy, p.dw),
  );
}

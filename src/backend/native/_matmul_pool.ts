/**
 * Batched matrix products (Gram matrices and their gradients) and the max-pool gradient as
 * oneDNN primitives, cached by shape. Internal to the native backend.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { type ConvGeometry, geometryOfInfo } from "../_kernels/conv2d_backprop_filter.ts";
import { dims, DNNL, type Dnnl } from "./_dnnl.ts";
import { HostBuffer, mdTag, opDesc, Primitive, primitiveDesc } from "./_primitive.ts";
import { record, tune } from "./_tune.ts";
import { threadsFor, withThreads } from "./_threads.ts";

type Ptr = Deno.PointerValue;

/** One batched product `[bA|bB, M, K] × [.., K, N] → [B, M, N]`, operands optionally transposed. */
export interface MatMulShape {
  readonly batchA: number;
  readonly batchB: number;
  readonly m: number;
  readonly k: number;
  readonly n: number;
  readonly transposeA: boolean;
  readonly transposeB: boolean;
}

function buildMatMul(dnnl: Dnnl, s: MatMulShape): Primitive | undefined {
  const batch = Math.max(s.batchA, s.batchB);
  // A transposed operand is the plain one's memory read with swapped strides: tag acb.
  const a = mdTag(dnnl, [s.batchA, s.m, s.k], s.transposeA ? DNNL.acb : DNNL.abc);
  const b = mdTag(dnnl, [s.batchB, s.k, s.n], s.transposeB ? DNNL.acb : DNNL.abc);
  const c = mdTag(dnnl, [batch, s.m, s.n], DNNL.abc);
  const desc = opDesc();
  if (dnnl.fn.dnnl_matmul_desc_init(desc, a.p, b.p, null, c.p) !== DNNL.success) return undefined;
  const pd = primitiveDesc(dnnl, desc);
  if (pd === undefined) return undefined;
  const prim = new Primitive(dnnl, pd, [DNNL.argSrc, DNNL.argWeights, DNNL.argDst]);
  // Descriptors must outlive the primitive descriptor's use of them at creation only; keep anyway.
  void [a, b, c];
  return prim;
}

/** Run `c = a · b` (with transposes); false where oneDNN has no implementation. */
export function matMul(
  dnnl: Dnnl,
  s: MatMulShape,
  ptrs: () => { a: Ptr; b: Ptr; c: Ptr },
): boolean {
  const t = threadsFor(dnnl.omp, 2 * Math.max(s.batchA, s.batchB) * s.m * s.k * s.n);
  const key = `matmul a[${s.batchA},${s.m},${s.k}]${s.transposeA ? "ᵀ" : ""} ` +
    `b[${s.batchB},${s.k},${s.n}]${s.transposeB ? "ᵀ" : ""} t${t}`;
  return withThreads(dnnl.omp, t, () => {
    const prim = tune(key, [() => buildMatMul(dnnl, s)], () => {});
    if (prim === undefined) return false;
    const p = ptrs();
    record(key, () => prim.run([p.a, p.b, p.c]));
    return true;
  });
}

interface PoolGradPlan {
  destroy(): void;
  readonly forward: Primitive;
  readonly backward: Primitive;
  readonly dst: HostBuffer;
  readonly workspace: HostBuffer;
}

function buildPoolGrad(dnnl: Dnnl, s: ConvGeometry): PoolGradPlan | undefined {
  const x = mdTag(dnnl, [s.n, s.ci, s.h, s.w], DNNL.nhwc);
  const y = mdTag(dnnl, [s.n, s.ci, s.oh, s.ow], DNNL.nhwc);
  const geometry = [
    dims([s.sh, s.sw]),
    dims([s.kh, s.kw]),
    dims([0, 0]), // oneDNN dilation is 0-based
    dims([s.top, s.left]),
    dims([s.bottom, s.right]),
  ] as const;
  const fdesc = opDesc();
  const fs = dnnl.fn.dnnl_pooling_v2_forward_desc_init(
    fdesc,
    DNNL.forwardTraining,
    DNNL.poolingMax,
    x.p,
    y.p,
    ...geometry,
  );
  if (fs !== DNNL.success) return undefined;
  const fpd = primitiveDesc(dnnl, fdesc);
  if (fpd === undefined) return undefined;
  const bdesc = opDesc();
  const bs = dnnl.fn.dnnl_pooling_v2_backward_desc_init(
    bdesc,
    DNNL.poolingMax,
    x.p,
    y.p,
    ...geometry,
  );
  if (bs !== DNNL.success) return undefined;
  const bpd = primitiveDesc(dnnl, bdesc, null, fpd);
  if (bpd === undefined) return undefined;
  const forward = new Primitive(dnnl, fpd, [DNNL.argSrc, DNNL.argDst, DNNL.argWorkspace]);
  const backward = new Primitive(dnnl, bpd, [DNNL.argDiffDst, DNNL.argWorkspace, DNNL.argDiffSrc]);
  return {
    forward,
    backward,
    dst: new HostBuffer(forward.bytes.get(DNNL.argDst)!),
    workspace: new HostBuffer(Math.max(1, forward.bytes.get(DNNL.argWorkspace)!)),
    destroy() {
      backward.destroy();
      forward.destroy();
    },
    toString: () => `${forward.impl} / ${backward.impl}`,
  } as PoolGradPlan;
}

/** The geometry of a 2-D pool over an NHWC input of `shape`, from tfjs's pool attributes. */
export function poolGeometry(
  shape: readonly number[],
  a: Pick<tf.MaxPoolAttrs, "filterSize" | "strides" | "pad" | "dimRoundingMode">,
): ConvGeometry {
  return geometryOfInfo(tf.backend_util.computePool2DInfo(
    shape as [number, number, number, number],
    a.filterSize,
    a.strides,
    1,
    a.pad,
    a.dimRoundingMode,
  ));
}

/** A pool's cache key: its input, window, strides and padding. */
export function poolKey(s: ConvGeometry): string {
  return `x[${s.n},${s.h},${s.w},${s.ci}] k${s.kh},${s.kw} s${s.sh},${s.sw} ` +
    `p${s.top},${s.left},${s.bottom},${s.right}`;
}

/**
 * The max-pool gradient: oneDNN's backward pass needs the forward's workspace (where each
 * window's maximum was), so the forward runs again on the input first. False where no
 * implementation exists.
 */
export function maxPoolGrad(
  dnnl: Dnnl,
  s: ConvGeometry,
  ptrs: () => { x: Ptr; dy: Ptr; dx: Ptr },
): boolean {
  // Memory-bound: counted as a few flops per input element.
  const t = threadsFor(dnnl.omp, 4 * s.n * s.h * s.w * s.ci);
  const key = `maxpool_grad ${poolKey(s)} t${t}`;
  return withThreads(dnnl.omp, t, () => {
    const plan = tune(key, [() => buildPoolGrad(dnnl, s)], () => {});
    if (plan === undefined) return false;
    const p = ptrs();
    record(key, () => {
      plan.forward.run([p.x, plan.dst.p, plan.workspace.p]);
      plan.backward.run([p.dy, plan.workspace.p, p.dx]);
    });
    return true;
  });
}

/**
 * Forward 3×3 convolutions by oneDNN's Winograd algorithm (F(4×4, 3×3) on AVX-512; F(2×2, 3×3)
 * for some small shapes), for evaluation: inside {@linkcode withWinograd} (a loss network's
 * features of whole evaluation images, a model's predictions of them) and outside any gradient
 * computation. Internal to the native backend; the f32 kernels of ./_kernels.ts try it first
 * where {@linkcode winogradApplies}.
 *
 * oneDNN 2.6 runs Winograd only on its blocked activation layout (nChw16c) and its own weight
 * format: each call reorders x from NHWC into a scratch buffer, runs the primitive (bias and
 * ReLU fused) into a second one and reorders the result back into the tfjs output; the weights
 * are converted (HWIO → OIHW → Winograd) once per tensor and layout. Measured with those
 * reorders, on an AMD EPYC (AVX-512, 2 threads), against the direct convolution (brgconv):
 * 64→64 on 512² 41.6 vs 50.1 ms, 128→128 on 256² 30.9 vs 49.5, 256→256 on 128² 21.8 vs 47.1,
 * 512→512 on 64² 16.0 vs 46.4, 512→512 on 32² 5.6 vs 11.4; at 32 channels or on fewer than
 * ~1,000 output pixels of 512 channels it is no faster (32→32 on 512² 14.0 vs 11.7).
 *
 * The result differs from the direct convolution's by rounding: ~1e-5 of the outputs' mean
 * magnitude (VGG-like weights and ReLU inputs), against ~1e-7 between two direct
 * implementations. Deterministic: the same input gives the same bits in every run.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { ConvGeometry } from "../_kernels/conv2d_backprop_filter.ts";
import { dims, DNNL, type Dnnl } from "./_dnnl.ts";
import { layoutKey, Scratch, weightCopy } from "./_conv_buffers.ts";
import {
  type ForwardConvolution,
  forwardOp,
  forwardPrimitive,
  type Mds,
  mdsFor,
  runConv,
} from "./_conv.ts";
import { type Md, mdTag, opDesc, type Primitive, reorder } from "./_primitive.ts";

type Ptr = Deno.PointerValue;

/** Fewest output pixels (n·oh·ow) for Winograd: below, 512-channel convolutions gain nothing. */
const MIN_PIXELS = 1024;
/** Fewest input and output channels: at 32 the direct convolution is faster. */
const MIN_CHANNELS = 64;

let enabled = true;
/** How many {@linkcode withWinograd} calls are running (nested). */
let scopes = 0;

/** Turn Winograd for inference convolutions on (the default) or off (`configureNative`). */
export function setWinograd(on: boolean | undefined): void {
  enabled = on ?? true;
}

/** Whether inference convolutions may run by Winograd. */
export function winogradOn(): boolean {
  return enabled;
}

/**
 * Run `fn` (synchronous) with Winograd allowed for its forward convolutions on `native`.
 * Evaluation code opts in with it, and nothing else: a loss network's calibration or a training
 * target's features also run outside gradients, and the training that follows would not be the
 * same to the last bit as with direct convolutions.
 */
export function withWinograd<T>(fn: () => T): T {
  scopes++;
  try {
    return fn();
  } finally {
    scopes--;
  }
}

/**
 * Whether a convolution of geometry `g` runs by Winograd here: switched on, inside
 * {@linkcode withWinograd}, no gradient being computed, and a shape where oneDNN has it and it is
 * faster — 3×3, stride 1, 'same' padding of 1, at least 64 input and output channels in
 * multiples of 16, at least 1,024 output pixels.
 */
export function winogradApplies(g: ConvGeometry): boolean {
  return enabled && scopes > 0 && !computingGradients() && g.kh === 3 && g.kw === 3 && g.sh === 1 &&
    g.sw === 1 && g.top === 1 && g.left === 1 && g.bottom === 1 && g.right === 1 &&
    g.oh === g.h && g.ow === g.w && g.ci >= MIN_CHANNELS && g.co >= MIN_CHANNELS &&
    g.ci % 16 === 0 && g.co % 16 === 0 && g.n * g.oh * g.ow >= MIN_PIXELS;
}

/**
 * Whether tfjs is inside a gradient computation: its forward function (`gradientDepth`) or its
 * backward pass (`activeTape`, kept until the gradients are made). Training steps stay on the
 * direct convolutions, exactly as before.
 */
function computingGradients(): boolean {
  const state = (tf.engine() as unknown as {
    state?: { gradientDepth?: number; activeTape?: unknown };
  }).state;
  // An engine without these fields: assume a gradient could be computed (direct, exact).
  if (state === undefined || typeof state.gradientDepth !== "number") return true;
  return state.gradientDepth > 0 || state.activeTape != null;
}

/** A Winograd primitive with the reorders around it. */
interface WinogradPlan {
  readonly prim: Primitive;
  /** NHWC x → the primitive's blocked layout. */
  readonly toBlocked: Primitive;
  /** The primitive's blocked result → NHWC y. */
  readonly toNhwc: Primitive;
  /** HWIO weights → OIHW (oneDNN reorders into Winograd weights only from OIHW). */
  readonly toOihw: Primitive;
  /** OIHW weights → the primitive's Winograd layout. */
  readonly toWinograd: Primitive;
  readonly weightKey: string;
  toString(): string;
  destroy(): void;
}

function build(dnnl: Dnnl, g: ConvGeometry, bias: boolean, relu: boolean) {
  const m = mdsFor(dnnl, g);
  // Activations in whatever layout Winograd wants (oneDNN 2.6: nChw16c), not NHWC.
  const [xAny, yAny] = [
    mdTag(dnnl, [g.n, g.ci, g.h, g.w], DNNL.any),
    mdTag(dnnl, [g.n, g.co, g.oh, g.ow], DNNL.any),
  ];
  const desc = opDesc();
  const status = dnnl.fn.dnnl_convolution_forward_desc_init(
    desc,
    DNNL.forwardInference,
    DNNL.convolutionWinograd,
    xAny.p,
    m.w.any.p,
    bias ? m.bias.p : null,
    yAny.p,
    dims([g.sh, g.sw]),
    dims([g.top, g.left]),
    dims([g.bottom, g.right]),
  );
  if (status !== DNNL.success) return undefined;
  const prim = forwardPrimitive(dnnl, desc, bias, relu);
  if (prim === undefined) return undefined;
  // Only oneDNN's jit Winograd kernels (F(4×4, 3×3) `jit_wino_4x3`, or F(2×2, 3×3)
  // `jit_fp32_wino_2x3`, which it picks for a few small shapes): never a reference one.
  if (!prim.impl.startsWith("jit") || !prim.impl.includes("wino")) {
    prim.destroy();
    return undefined;
  }
  return plan(dnnl, prim, m, mdTag(dnnl, [g.co, g.ci, g.kh, g.kw], DNNL.abcd));
}

function plan(dnnl: Dnnl, prim: Primitive, m: Mds, oihw: Md): WinogradPlan {
  const wMd = prim.md(DNNL.argWeights);
  const toBlocked = reorder(dnnl, m.x.p, prim.md(DNNL.argSrc));
  const toNhwc = reorder(dnnl, prim.md(DNNL.argDst), m.y.p);
  const toOihw = reorder(dnnl, m.wUser.p, oihw.p);
  const toWinograd = reorder(dnnl, oihw.p, wMd);
  const all = [toBlocked, toNhwc, toOihw, toWinograd, prim];
  return {
    prim,
    toBlocked,
    toNhwc,
    toOihw,
    toWinograd,
    weightKey: layoutKey(wMd),
    toString: () => `${prim.impl} winograd`,
    destroy: () => all.forEach((p) => p.destroy()),
  };
}

/** x in the blocked layout; the result in it; the OIHW weights on their way to Winograd. */
const [src, dst, oihwTmp] = [new Scratch(), new Scratch(), new Scratch()];

function weightsOf(p: WinogradPlan, id: object, w: Ptr): Ptr {
  const bytes = p.toWinograd.bytes.get(DNNL.argDst)!;
  return weightCopy(id, p.weightKey, bytes, (to) => {
    const tmp = oihwTmp.of(p.toOihw.bytes.get(DNNL.argDst)!);
    p.toOihw.run([w, tmp]);
    p.toWinograd.run([tmp, to]);
    oihwTmp.release();
  });
}

function runPlan(p: WinogradPlan, a: { x: Ptr; w: Ptr; b: Ptr | undefined; y: Ptr }, wId: object) {
  try {
    const xs = src.of(p.toBlocked.bytes.get(DNNL.argDst)!);
    const ys = dst.of(p.prim.bytes.get(DNNL.argDst)!);
    const wp = weightsOf(p, wId, a.w);
    p.toBlocked.run([a.x, xs]);
    p.prim.run(a.b === undefined ? [xs, wp, ys] : [xs, wp, a.b, ys]);
    p.toNhwc.run([ys, a.y]);
  } finally {
    src.release();
    dst.release();
  }
}

/**
 * A forward convolution by Winograd of f32 NHWC `x` with f32 HWIO weights `w` (converted once
 * per tensor identity `wId`), bias and ReLU fused when asked. False where oneDNN has no jit
 * Winograd kernel for it (e.g. a CPU without AVX-512): the caller runs the direct one.
 */
export const winogradConvForward: ForwardConvolution = (dnnl, g, bias, relu, ptrs, wId) =>
  runConv(
    dnnl,
    forwardOp("conv_fwd_winograd", bias, relu),
    g,
    () => [() => build(dnnl, g, bias, relu)],
    // One candidate: nothing to time.
    () => {},
    ptrs,
    (p, a) => runPlan(p, a, wId),
  );

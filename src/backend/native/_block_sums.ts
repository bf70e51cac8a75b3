/**
 * Per-block float32 sums of long contiguous runs with oneDNN's reduction primitive, for the
 * native `Sum`/`Mean` (./_reduce.ts) to combine in float64. Internal to the native backend.
 *
 * A float64 JS loop over the 10⁶ Gram differences of a style term costs 1 ms once V8 has
 * optimised it and 20–40 ms before (a training step calls it twice, so it rarely is): oneDNN
 * sums each block of {@linkcode BLOCK} floats in compiled code on the OpenMP threads, and
 * only the 16× fewer block sums go through JS. Accuracy stays that of the float64 loop to within
 * a block's float32 rounding (16 additions): 64-float blocks already missed the float64 answer
 * for 25 000 copies of 4/3 by more than 1e-7 relative (tests/native_kernels_test.ts), 16 do not. Every block is reduced by
 * one thread in a fixed order, so results do not depend on load or timing.
 *
 * @module
 */
import { DNNL, type Dnnl } from "./_dnnl.ts";
import { HostBuffer, mdStrides, opDesc, Primitive, primitiveDesc } from "./_primitive.ts";
import { record, tune } from "./_tune.ts";
import { threadsFor, withThreads } from "./_threads.ts";

/** Floats summed in float32 per block. */
export const BLOCK = 16;
/** Runs shorter than this stay on the float64 JS loop (oneDNN's call overhead would dominate). */
export const MIN_RUN = 16384;

/** The float64 sum of `a[start..end)`: the one loop every native reduction runs, so it stays hot. */
export function sumF64(a: Float32Array, start: number, end: number): number {
  let s = 0;
  for (let j = start; j < end; j++) s += a[j]!;
  return s;
}

let warmed = false;

/**
 * Have V8 optimise {@linkcode sumF64} now (a few ms, once per process): unoptimised, it ran the
 * 65 536 block sums of a [4,512,512] mean in 11–24 ms instead of 0.5 ms, the first training steps
 * paying that on every loss term.
 */
export function warmSumF64(): void {
  if (warmed) return;
  warmed = true;
  const a = new Float32Array(4096).fill(1);
  let s = 0;
  for (let i = 0; i < 400; i++) s += sumF64(a, 0, a.length);
  if (s !== 400 * 4096) throw new Error(`sumF64 warm-up summed ${s}`);
}

/** `dnnl_reduction_sum` (dnnl_types.h, oneDNN 2.x: `dnnl_resampling_linear` + 3). */
const REDUCTION_SUM = 0x2fff4;

interface BlockPlan {
  readonly prim: Primitive;
  readonly partials: HostBuffer;
  destroy(): void;
}

function build(dnnl: Dnnl, rows: number, run: number): BlockPlan | undefined {
  const blocks = Math.floor(run / BLOCK);
  // [rows, blocks, BLOCK] read in place (a row's tail past the last whole block is skipped).
  const src = mdStrides(dnnl, [rows, blocks, BLOCK], [run, BLOCK, 1]);
  const dst = mdStrides(dnnl, [rows, blocks, 1], [blocks, 1, 1]);
  const desc = opDesc();
  if (dnnl.fn.dnnl_reduction_desc_init(desc, REDUCTION_SUM, src.p, dst.p, 0, 0) !== DNNL.success) {
    return undefined;
  }
  const pd = primitiveDesc(dnnl, desc);
  if (pd === undefined) return undefined;
  const prim = new Primitive(dnnl, pd, [DNNL.argSrc, DNNL.argDst]);
  void [src, dst];
  const partials = new HostBuffer(rows * blocks * 4);
  return { prim, partials, destroy: () => prim.destroy(), toString: () => prim.impl } as BlockPlan;
}

/**
 * Sum each of `rows` contiguous runs of `run` floats of `src` into `dst` (float64 accumulation of
 * float32 block sums), times `scale`. False where oneDNN has no reduction for it (the caller then
 * sums in JS).
 */
export function sumRuns(
  dnnl: Dnnl,
  src: Float32Array,
  rows: number,
  run: number,
  scale: number,
  dst: Float32Array,
): boolean {
  const blocks = Math.floor(run / BLOCK);
  const t = threadsFor(dnnl.omp, 8 * rows * run);
  const key = `reduce_sum x[${rows},${blocks},${BLOCK}] t${t}`;
  return withThreads(dnnl.omp, t, () => {
    const plan = tune(key, [() => build(dnnl, rows, run)], () => {});
    if (plan === undefined) return false;
    record(key, () => plan.prim.run([Deno.UnsafePointer.of(src), plan.partials.p]));
    const parts = new Float32Array(
      Deno.UnsafePointerView.getArrayBuffer(plan.partials.p!, rows * blocks * 4),
    );
    for (let r = 0; r < rows; r++) {
      const whole = sumF64(parts, r * blocks, (r + 1) * blocks);
      dst[r] = (whole + sumF64(src, r * run + blocks * BLOCK, (r + 1) * run)) * scale;
    }
    return true;
  });
}

/**
 * Sums over leading axes (bias and batch-norm gradients: [N,H,W,C] → [C]) as one oneDNN matrix
 * product `ones[1,M] · X[M,C]`. oneDNN 2.6.3's reduction primitive has only its reference
 * implementation (`ref:any`) for leading axes, 3–10× slower than wasm, and wasm's own `Sum` over
 * leading axes transposes first: 7.2 ms for [4,64,64,64] → [64] (a loaded 2-core EPYC), where
 * `Mul` of the same tensor took 0.2 ms. The product accumulates in float32 in a blocked order
 * fixed by the shape and thread count, so repeated runs agree bit for bit. Internal to the native
 * backend.
 *
 * @module
 */
import type { Dnnl } from "./_dnnl.ts";
import { HostBuffer } from "./_primitive.ts";
import { matMul } from "./_matmul_pool.ts";

/**
 * Elements from which a leading-axes sum goes to oneDNN: at wasm's ~7 ns per element a 4 096
 * element sum costs ~30 µs there, about what a small oneDNN product call costs.
 */
export const MIN_LEADING = 1 << 12;

let ones: { buf: HostBuffer; n: number } | undefined;

/** A run of at least `n` floats equal to 1 (grown as needed, kept). */
function onesOf(n: number): Deno.PointerValue {
  if (ones === undefined || ones.n < n) {
    const buf = new HostBuffer(4 * n);
    new Float32Array(Deno.UnsafePointerView.getArrayBuffer(buf.p!, 4 * n)).fill(1);
    ones = { buf, n };
  }
  return ones.buf.p;
}

/**
 * `dst[c] = Σ_r src[r·cols + c]` for `rows` × `cols` floats at `src`; false where oneDNN has no
 * product for the shape (the caller then uses its fallback).
 */
export function sumRows(
  dnnl: Dnnl,
  rows: number,
  cols: number,
  ptrs: () => { src: Deno.PointerValue; dst: Deno.PointerValue },
): boolean {
  const a = onesOf(rows);
  return matMul(
    dnnl,
    { batchA: 1, batchB: 1, m: 1, k: rows, n: cols, transposeA: false, transposeB: false },
    () => {
      const p = ptrs();
      return { a, b: p.src, c: p.dst };
    },
  );
}

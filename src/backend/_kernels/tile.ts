/**
 * A `Tile` for wasm built from block copies.
 *
 * wasm's stock `Tile` walks the output one element at a time; tfjs' batch-norm gradient tiles the
 * per-channel variance to the full activation shape on every backward pass (14 calls, 75–118 ms of
 * a ~2.5 s U-Net + VGG training step here). Tiling is pure replication: each input row is copied
 * once and then doubled with `copyWithin`, a memmove.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import { type KernelArgs, KernelIo } from "./kernel_io.ts";

function fill(
  src: Float32Array,
  dst: Float32Array,
  inShape: readonly number[],
  reps: readonly number[],
  inStrides: readonly number[],
  outStrides: readonly number[],
  axis: number,
  srcOff: number,
  dstOff: number,
): void {
  const n = inShape[axis]!;
  const last = axis === inShape.length - 1;
  if (last) {
    dst.set(src.subarray(srcOff, srcOff + n), dstOff);
  } else {
    for (let i = 0; i < n; i++) {
      fill(
        src,
        dst,
        inShape,
        reps,
        inStrides,
        outStrides,
        axis + 1,
        srcOff + i * inStrides[axis]!,
        dstOff + i * outStrides[axis]!,
      );
    }
  }
  // The first copy of this axis' span is in place: double it until it has `reps` copies.
  const span = n * (last ? 1 : outStrides[axis]!);
  const total = span * reps[axis]!;
  for (let done = span; done < total;) {
    const len = Math.min(done, total - done);
    dst.copyWithin(dstOff + done, dstOff, dstOff + len);
    done += len;
  }
}

/**
 * The registry's kernel function for `Tile` on `backendName`; non-float32 tensors go to `stock`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tileKernel } from "./tile.ts";
 * assert.equal(typeof tileKernel("wasm", () => { throw new Error("no stock"); }), "function");
 * ```
 */
export function tileKernel(backendName: string, stock: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { inputs, backend, attrs } = args as unknown as KernelArgs;
    const { x } = inputs as { x: tf.TensorInfo };
    const reps = (attrs as unknown as tf.TileAttrs).reps;
    if (x.dtype !== "float32" || x.shape.length === 0 || reps.length !== x.shape.length) {
      return stock(args);
    }
    const outShape = x.shape.map((d, i) => d * reps[i]!);
    const io = new KernelIo(backend, backendName);
    const out = io.alloc(outShape);
    if (outShape.some((d) => d === 0)) return out;
    const stridesOf = (shape: readonly number[]) => {
      const s = new Array<number>(shape.length).fill(1);
      for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1]! * shape[i + 1]!;
      return s;
    };
    fill(io.view(x), io.view(out), x.shape, reps, stridesOf(x.shape), stridesOf(outShape), 0, 0, 0);
    return out;
  };
}

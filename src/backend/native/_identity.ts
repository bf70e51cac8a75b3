/**
 * `Identity` (what `tf.clone` runs) on the native backends as a second handle on the same data,
 * as tfjs's cpu and webgl backends do it, instead of wasm's copy. tfjs calls it far more often
 * than user code does: `tf.where` clones its three operands when their shapes already agree
 * (`broadcastTo`), and `tf.customGrad` clones every tensor it saves for the backward pass. In the
 * main job's training step (examples/superres.ts, 4 × 64² crops, VGG-19 blocks 1–3) that was 308
 * copies and 148 MB of memory traffic per step, 27–150 ms under load. Tensors never change in
 * place (kernels write only outputs they made; variables take new data on `assign`; the native
 * Adam writes fresh buffers), so sharing is safe; the data is freed with its last handle.
 * Internal to the native backends.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";

/** The backend calls used: both stores count handles per data id (tfjs' `Reshape` uses them). */
interface Counted extends tf.KernelBackend {
  incRef(dataId: tf.DataId): void;
}

/**
 * The `Identity` kernel: the input's data under a new handle (strings, which wasm keeps outside
 * its heap, go to `fallback`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { identityKernel } from "./_identity.ts";
 * const kernel = identityKernel(() => {
 *   throw new Error("not reached");
 * });
 * let refs = 1;
 * const backend = { incRef: () => refs++ } as never;
 * const dataId = {};
 * const out = kernel({ inputs: { x: { dataId, shape: [2], dtype: "float32" } }, backend, attrs: {} });
 * assert.deepEqual(out, { dataId, shape: [2], dtype: "float32" });
 * assert.equal(refs, 2);
 * ```
 */
export function identityKernel(fallback: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    if (x.dtype === "string") return fallback(args);
    (args.backend as Counted).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape.slice(), dtype: x.dtype };
  };
}

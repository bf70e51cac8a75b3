/**
 * The block-copy kernels the native backends take over (`Slice`, `SplitV`, `Concat`,
 * src/backend/native/_host_copy.ts; on `native` from wasm, on `native-host` from cpu): bit-equal
 * to the cpu backend's stock kernels on short runs (3-float pixels, copied element by element)
 * and long ones (one `copyWithin` over the wasm heap, one `set` between host arrays), every axis,
 * no leaks; and `Identity` as a shared handle. Skipped, saying why, without libdnnl.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import {
  initBackend,
  installTrainingKernels,
  uninstallTrainingKernels,
} from "../src/backend/mod.ts";
import { skipWithoutNative } from "./_native.ts";

const ignore = skipWithoutNative("native_copy_test");

/** Distinct values (index-derived, so a misplaced element shows). */
function values(shape: number[], offset: number): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: n }, (_, i) => offset + i * 0.5 - n / 7), shape);
}

type Result = { shape: number[]; values: number[] };

/** Every case of the three kernels, read back. */
function cases(): Result[] {
  const read = (t: tf.Tensor): Result => ({ shape: t.shape, values: [...t.dataSync()] });
  const out: Result[] = [];
  tf.tidy(() => {
    const px = values([4, 8, 9, 3], 1); // pixels: 3-float rows
    const act = values([2, 5, 6, 20], 2); // activations: 20-float rows
    for (
      const [begin, size] of [
        [[0, 0, 2, 0], [4, 8, 6, 3]],
        [[1, 2, 0, 1], [2, 5, 9, 2]],
        [[0, 0, 0, 0], [4, 8, 9, 3]],
        [[3, 7, 8, 2], [1, 1, 1, 1]],
      ]
    ) {
      out.push(read(tf.slice(px, begin, size)));
    }
    out.push(read(tf.slice(act, [0, 1, 2, 4], [2, 3, 3, 16])));
    out.push(read(tf.slice(values([10, 7], 3), [2, 1], [5, 6])));
    for (const axis of [0, 1, 2, 3]) {
      const sizes = [[1, 1], [2, 3], [1, 5], [4, 16]][axis]!;
      for (const t of tf.split(act, sizes, axis)) out.push(read(t));
      out.push(read(tf.concat([px, values(px.shape.map((d, i) => i === axis ? 2 : d), 4)], axis)));
    }
    out.push(read(tf.concat([values([4, 8, 9, 3], 5), px, values([4, 8, 9, 1], 6)], 3)));
    out.push(read(tf.concat([values([3, 0], 7), values([3, 4], 8)], 1)));
  });
  return out;
}

for (const [name, stockOf] of [["native", "wasm"], ["native-host", "cpu"]] as const) {
  Deno.test({
    name: `${name} Slice, SplitV and Concat equal the cpu backend's stock kernels bit for bit`,
    ignore,
    async fn() {
      await initBackend(name);
      for (const k of ["Slice", "SplitV", "Concat"]) {
        assert.notEqual(
          tf.getKernel(k, name)!.kernelFunc,
          tf.getKernel(k, stockOf)!.kernelFunc,
          `${k}: ${name} runs ${stockOf}'s own kernel`,
        );
      }
      const before = tf.memory().numTensors;
      const got = cases();
      assert.equal(tf.memory().numTensors, before, `${name} copy kernels leaked tensors`);
      await initBackend("cpu");
      uninstallTrainingKernels("cpu");
      try {
        const want = cases();
        assert.equal(got.length, want.length);
        got.forEach((g, i) => assert.deepEqual(g, want[i], `case ${i}`));
      } finally {
        installTrainingKernels("cpu");
      }
    },
  });
}

Deno.test({
  name: "native Identity shares the data: values kept after the original goes, freed with the last",
  ignore,
  async fn() {
    await initBackend("native");
    const backend = tf.backend();
    const [tensors, ids] = [tf.memory().numTensors, backend.numDataIds()];
    const x = values([4, 8, 9, 3], 1);
    const want = [...x.dataSync()];
    const y = tf.clone(x);
    // tf.where clones its three operands; only its result is new data.
    const z = tf.tidy(() => tf.where(tf.greater(x, 0), x, tf.zerosLike(x)));
    assert.equal(backend.numDataIds(), ids + 2, "a clone made no new data (x and z only)");
    x.dispose();
    assert.deepEqual([...y.dataSync()], want, "the clone outlives the original");
    assert.deepEqual([...z.dataSync()], want.map((v) => (v > 0 ? v : 0)));
    tf.dispose([y, z]);
    assert.equal(tf.memory().numTensors, tensors);
    assert.equal(backend.numDataIds(), ids, "the shared data is freed with its last handle");
  },
});

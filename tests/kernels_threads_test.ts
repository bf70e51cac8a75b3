// Threaded wasm (opt-in, src/backend/wasm_threads.ts): it starts with 2 threads under Deno and the
// training kernels give the cpu backend's stock results there too.
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import {
  enableWasmThreads,
  initBackend,
  installTrainingKernels,
  uninstallTrainingKernels,
  WasmThreadsError,
} from "../src/backend/mod.ts";

function values(seed: number, n: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    out[i] = s / 1073741824 - 1;
  }
  return out;
}

/** Gradients of a VGG-like block (fused conv+ReLU, max-pool, stride-2 conv, Gram) w.r.t. all. */
function gradients(): Float32Array[] {
  return tf.tidy(() => {
    const x = tf.tensor4d(values(1, 3 * 20 * 18 * 8), [3, 20, 18, 8]);
    const w1 = tf.tensor4d(values(2, 3 * 3 * 8 * 32), [3, 3, 8, 32]);
    const b1 = tf.tensor1d(values(3, 32));
    const w2 = tf.tensor4d(values(4, 3 * 3 * 32 * 16), [3, 3, 32, 16]);
    const f = (xx: tf.Tensor, a: tf.Tensor, bias: tf.Tensor, b: tf.Tensor) => {
      const h = tf.fused.conv2d({
        x: xx as tf.Tensor4D,
        filter: a as tf.Tensor4D,
        bias,
        strides: 1,
        pad: "same",
        activation: "relu",
      });
      const p = tf.maxPool(h, 2, 2, "valid");
      const y = tf.conv2d(p, b as tf.Tensor4D, 2, "same");
      const flat = tf.reshape(y, [3, -1, 16]);
      return tf.sum(tf.matMul(flat, flat, true, false));
    };
    return tf.grads(f)([x, w1, b1, w2]).map((g) => g.dataSync() as Float32Array);
  });
}

Deno.test("threaded wasm starts with 2 threads and trains convs like the cpu backend", async () => {
  await initBackend("cpu");
  uninstallTrainingKernels("cpu");
  const reference = gradients();
  installTrainingKernels("cpu");
  const info = await enableWasmThreads({ threads: 2 });
  assert.equal(info.threads, 2);
  assert.equal((await enableWasmThreads({ threads: 2 })).threads, 2, "idempotent");
  const choice = await initBackend("wasm");
  assert.ok(choice.kernels.includes("Conv2DBackpropFilter"));
  try {
    const got = gradients();
    got.forEach((g, i) => {
      let d = 0;
      let m = 0;
      g.forEach((v, j) => {
        d = Math.max(d, Math.abs(v - reference[i]![j]!));
        m = Math.max(m, Math.abs(reference[i]![j]!));
      });
      assert.ok(d <= 1e-5 * m, `gradient ${i}: max diff ${d}, scale ${m}`);
    });
  } finally {
    await initBackend("cpu");
  }
});

Deno.test("WasmThreadsError names the fix", () => {
  const e = new WasmThreadsError("the wasm backend already started single-threaded");
  assert.equal(e.name, "WasmThreadsError");
  assert.match(e.message, /single-threaded/);
});

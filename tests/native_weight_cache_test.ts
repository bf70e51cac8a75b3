/**
 * The native convolutions' reordered-weight copies (src/backend/native/_conv.ts): a primitive
 * keeps the copies of its last few weight tensors and hands the buffer of a disposed tensor, else
 * the least recently used one, to a new tensor. Ten weights each disposed after use (training),
 * then twelve live ones used in turn and again in another order (hits, evictions and re-reorders
 * of evicted tensors), forward and backward-data, each result against the cpu backend's stock
 * kernels. Skipped, saying why, without libdnnl.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import {
  initBackend,
  installTrainingKernels,
  uninstallTrainingKernels,
} from "../src/backend/mod.ts";
import { nativeInfo } from "../src/backend/native/mod.ts";
import { skipWithoutNative } from "./_native.ts";

const ignore = skipWithoutNative("native_weight_cache_test");

const X: [number, number, number, number] = [1, 24, 24, 32];
const W: [number, number, number, number] = [3, 3, 32, 32];
/** Weight tensors in use order: each once, then back and forth past the eight kept copies. */
const ORDER = [...Array(12).keys(), 11, 0, 5, 9, 1, 1, 10, 3];

function results(): number[][] {
  return tf.tidy(() => {
    const x = tf.randomUniform(X, -1, 1, "float32", 3) as tf.Tensor4D;
    const ws = [...Array(12).keys()].map((i) =>
      tf.randomUniform(W, -0.2, 0.2, "float32", 10 + i) as tf.Tensor4D
    );
    // Trained weights: each replaced (disposed) after use, its copy's buffer taken by the next.
    const trained = [...Array(10).keys()].flatMap((i) => {
      const w = tf.randomUniform(W, -0.2, 0.2, "float32", 100 + i) as tf.Tensor4D;
      const y = [...tf.conv2d(x, w, 1, "same").dataSync()];
      w.dispose();
      return [y];
    });
    return [
      ...trained,
      ...ORDER.flatMap((i) => [
        [...tf.conv2d(x, ws[i]!, 1, "same").dataSync()],
        [...tf.conv2dTranspose(x, ws[i]!, X, 1, "same").dataSync()],
      ]),
    ];
  });
}

Deno.test({
  name: "native conv weight copies: reused buffers give the cpu backend's results",
  ignore,
  async fn() {
    await initBackend("native");
    const before = tf.memory().numTensors;
    const got = results();
    assert.equal(tf.memory().numTensors, before, "leaked tensors");
    const now = nativeInfo();
    assert.ok(typeof now !== "string");
    const geometry = `x[${X}] w[${W}]`;
    for (const op of ["conv_fwd", "conv_bwd_data"]) {
      const p = now.primitives.find((p) => p.key.startsWith(op) && p.key.includes(geometry));
      assert.ok(p !== undefined, `${op} ${geometry} did not run on oneDNN`);
      // Blocked weights: the copies under test exist (plain hwio weights need none).
      assert.match(p.chosen, /weights:any/, `${op}: ${p.chosen}`);
    }
    await initBackend("cpu");
    uninstallTrainingKernels("cpu");
    try {
      const want = results();
      got.forEach((g, k) => {
        let worst = 0;
        g.forEach((v, j) => worst = Math.max(worst, Math.abs(v - want[k]![j]!)));
        assert.ok(worst < 1e-4, `call ${k}: max |diff| ${worst}`);
      });
    } finally {
      installTrainingKernels("cpu");
    }
  },
});

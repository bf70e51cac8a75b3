/**
 * On webgpu (no synchronous reads under Deno) the trainer's divergence check reads the
 * prediction's statistics with the loss, asynchronously: a healthy step runs with synchronous
 * reads made to fail, and a diverged output is a DivergenceError, not a WebGpuSyncReadError.
 * Ignored, with the reason printed, where there is no WebGPU adapter.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { initBackend } from "../src/backend/mod.ts";
import { guardWebgpuSyncReads } from "../src/backend/webgpu_sync_read.ts";
import { evaluate, feature, pixel, plus } from "../src/loss/mod.ts";
import { DivergenceError, trainer } from "../src/train/mod.ts";
import { vgg16 } from "../src/vgg/mod.ts";
import { pipe } from "fp-ts/lib/function.js";

async function webgpuMissing(): Promise<string | undefined> {
  const gpu = (globalThis.navigator as { gpu?: GPU } | undefined)?.gpu;
  if (gpu === undefined) return "navigator.gpu is absent in this runtime";
  try {
    if (await gpu.requestAdapter() === null) {
      return "no WebGPU adapter (install mesa-vulkan-drivers)";
    }
  } catch (e) {
    return `navigator.gpu.requestAdapter() failed: ${e instanceof Error ? e.message : e}`;
  }
  return undefined;
}
const missing = await webgpuMissing();
if (missing !== undefined) console.log(`webgpu divergence test ignored: ${missing}`);

Deno.test({
  name: "webgpu: the divergence check reads asynchronously and names the step",
  ignore: missing !== undefined,
  async fn() {
    await initBackend("webgpu");
    assert.equal(guardWebgpuSyncReads(), true);
    try {
      using net = await vgg16({ weights: { random: 1 }, upTo: "block1_conv2" });
      const loss = evaluate(pipe(pixel(), plus(feature("block1_conv2"))), net);
      const model = tfl.sequential({
        layers: [tfl.layers.conv2d({ filters: 3, kernelSize: 1, inputShape: [32, 32, 3] })],
      });
      const eye = tf.tensor4d([1, 0, 0, 0, 1, 0, 0, 0, 1], [1, 1, 3, 3]);
      const input = tf.randomUniform([2, 32, 32, 3], 0, 1, "float32", 3) as tf.Tensor4D;
      const b = { input, target: tf.reverse(input, 3) as tf.Tensor4D };
      model.setWeights([eye, tf.zeros([3])]);
      using t = trainer({ model, loss, optimizer: tf.train.sgd(1e-3) });
      assert.equal((await t.step(b)).step, 1, "a healthy step needs no synchronous read");
      model.setWeights([eye, tf.fill([3], 5)]);
      await assert.rejects(
        () => t.step(b),
        (e) => e instanceof DivergenceError && e.step === 2 && /outputRange/.test(e.message),
      );
      tf.dispose([eye, b.input, b.target]);
      model.dispose();
    } finally {
      await initBackend("cpu");
    }
  },
});

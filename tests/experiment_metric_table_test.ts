// metricTable: hand-computed PSNR/SSIM for constant images, a LayersModel and baselines scored
// side by side, any metric function as a column, and no tensor left behind.
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { initBackend } from "../src/backend/mod.ts";
import { metricTable } from "../src/experiment/mod.ts";

Deno.test("metricTable: PSNR by hand, a model beside baselines, custom columns, no leak", async () => {
  await initBackend("cpu");
  const target = tf.fill([2, 12, 12, 3], 0.5) as tf.Tensor4D;
  const input = tf.fill([2, 12, 12, 3], 0.25) as tf.Tensor4D;
  // A model that adds 0.125 to every pixel: its error is 0.125 everywhere.
  const model = tfl.sequential({
    layers: [tfl.layers.dense({
      inputShape: [null, null, 3],
      units: 3,
      kernelInitializer: "identity",
      biasInitializer: tfl.initializers.constant({ value: 0.125 }),
    })],
  });
  const before = tf.memory().numTensors;
  const maxError = async (p: tf.Tensor4D, t: tf.Tensor4D) => {
    const d = tf.tidy(() => tf.max(tf.abs(tf.sub(p, t))));
    const v = (await d.data())[0]!;
    tf.dispose(d);
    return v;
  };
  const table = await metricTable({
    sets: [{ name: "flat", input, target }],
    methods: { input: (x) => tf.clone(x), over: (x) => tf.add(x, 2) as tf.Tensor4D, model },
    metrics: { "PSNR": (await import("../src/metrics/mod.ts")).psnr, "max error": maxError },
  });
  assert.equal(tf.memory().numTensors, before, "no tensor left behind");
  assert.deepEqual(table.columns, ["set", "method", "PSNR", "max error"]);
  assert.deepEqual(table.rows.map((r) => r[1]), ["input", "over", "model"]);
  // PSNR = 10·log10(1 / mse), peak 1: errors 0.25, 0.5 (clipped at 1), 0.125.
  const want = [0.25, 0.5, 0.125].map((e) => 10 * Math.log10(1 / (e * e)));
  table.rows.forEach((r, i) => assert.ok(Math.abs((r[2] as number) - want[i]!) < 1e-4, `${r}`));
  table.rows.forEach((r, i) =>
    assert.ok(Math.abs((r[3] as number) - [0.25, 0.5, 0.125][i]!) < 1e-6)
  );
  assert.match(table.text, /^set\s+method\s+PSNR\s+max error\n/);
  tf.dispose([input, target]);
  model.dispose();
});

// Training the U-Net on the cpu and wasm backends: gradients agree across backends with batch 2,
// and a small U-Net overfits one batch (pixel loss falls at least 10×).
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import type * as tfl from "@tensorflow/tfjs-layers";
import { initBackend } from "../src/backend/mod.ts";
import { leakGuard } from "../src/lifetime/mod.ts";
import { unet, type UNetConfig } from "../src/unet/mod.ts";
import { maxPool2x2 } from "../src/unet/max_pool.ts";
import {
  maxPoolGradByHand,
  noise,
  relativeDiff,
  trainableGradients,
  weightArrays,
} from "./unet_test_helpers.ts";

Deno.test("wasm: maxPool2x2's gradient matches a hand computation (wasm's own MaxPoolGrad does not)", async () => {
  await initBackend("wasm");
  const x = tf.randomNormal([2, 4, 6, 3], 0, 1, "float32", 1) as tf.Tensor4D;
  const dy = tf.randomNormal([2, 2, 3, 3], 0, 1, "float32", 2);
  const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(maxPool2x2(t as tf.Tensor4D), dy)))(x);
  assert.deepEqual(Array.from(g.dataSync()), Array.from(maxPoolGradByHand(x, dy)));
  tf.dispose([x, dy, g]);
  await initBackend("cpu");
});

/** Every layer kind: batch norm, pixel shuffle (ICNR), transpose, bilinear, SR tail, range. */
const CROSS_BACKEND_CASES: Partial<UNetConfig>[] = [
  { upsample: "pixelShuffle", scale: 2, outputRange: [0, 1] },
  { upsample: "transpose", inChannels: 1, outChannels: 3, activation: "leakyRelu" },
  { upsample: "bilinear", scale: 4, norm: "none", activation: "swish" },
];

function gradientsOn(
  backend: "cpu" | "wasm",
  cfg: Partial<UNetConfig>,
  weights: Map<string, Float32Array> | undefined,
): {
  grads: Map<string, Float32Array>;
  weights: Map<string, Float32Array>;
  inference: Float32Array;
} {
  const model = unet(cfg);
  if (weights !== undefined) {
    // Same starting point on both backends, whatever the initializers do.
    model.setWeights(
      model.weights.map((w) => tf.tensor(weights.get(w.originalName)!, w.shape as number[])),
    );
  }
  const inC = cfg.inChannels ?? 3;
  const outC = cfg.outChannels ?? 3;
  const s = cfg.scale ?? 1;
  const x = tf.tensor4d(noise(2 * 8 * 8 * inC, 31), [2, 8, 8, inC]);
  const r = tf.tensor4d(noise(2 * 64 * s * s * outC, 32), [2, 8 * s, 8 * s, outC]);
  const w = weightArrays(model);
  const grads = trainableGradients(model, x, r);
  const inference = tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync() as Float32Array);
  assert.equal(tf.getBackend(), backend);
  tf.dispose([x, r]);
  model.dispose();
  return { grads, weights: w, inference };
}

Deno.test("batch 2: cpu and wasm gradients agree to 1e-4 (relative, per weight tensor), and outputs", async () => {
  for (const extra of CROSS_BACKEND_CASES) {
    const cfg = { depth: 2, baseFilters: 4, seed: 40, ...extra };
    await initBackend("cpu");
    const cpu = gradientsOn("cpu", cfg, undefined);
    await initBackend("wasm");
    const wasm = gradientsOn("wasm", cfg, cpu.weights);
    for (const [name, g] of cpu.grads) {
      const d = relativeDiff(g, wasm.grads.get(name)!);
      assert.ok(d < 1e-4, `${JSON.stringify(extra)} ${name}: cpu vs wasm relative difference ${d}`);
    }
    const d = relativeDiff(cpu.inference, wasm.inference);
    assert.ok(d < 1e-5, `${JSON.stringify(extra)} predict: cpu vs wasm relative difference ${d}`);
  }
  await initBackend("cpu");
});

/** Adam on one fixed batch; returns the first and last pixel (MSE) losses. */
function overfit(model: tfl.LayersModel, x: tf.Tensor, y: tf.Tensor, steps: number): number[] {
  const optimizer = tf.train.adam(1e-2);
  const guard = leakGuard({ warmupSteps: 1 });
  const losses: number[] = [];
  for (let i = 1; i <= steps; i++) {
    const loss = optimizer.minimize(
      () =>
        tf.losses.meanSquaredError(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
      true,
    )!;
    losses.push(loss.dataSync()[0]!);
    loss.dispose();
    guard.check(i);
  }
  optimizer.dispose();
  return losses;
}

for (const backend of ["cpu", "wasm"] as const) {
  for (
    const [label, cfg, size] of [
      ["12×12, scale 1", { depth: 2, baseFilters: 8, seed: 50 }, 12],
      ["8×8 → 16×16, scale 2", { depth: 1, baseFilters: 8, scale: 2, seed: 51 }, 8],
    ] as const
  ) {
    Deno.test(`${backend}: a small U-Net overfits one batch (${label}): loss falls ≥ 10×`, async () => {
      await initBackend(backend);
      const model = unet(cfg as Partial<UNetConfig>);
      const s = (cfg as Partial<UNetConfig>).scale ?? 1;
      const x = tf.tensor4d(noise(2 * size * size * 3, 60), [2, size, size, 3]);
      // An unrelated target: nothing but memorising the batch lowers the loss.
      const y = tf.tensor4d(noise(2 * size * size * s * s * 3, 61), [2, size * s, size * s, 3]);
      const losses = overfit(model, x, y, 60);
      const first = losses[0]!;
      const last = losses[losses.length - 1]!;
      assert.ok(
        last * 10 <= first,
        `${backend} ${label}: loss ${first} → ${last} (${(first / last).toFixed(1)}×)`,
      );
      tf.dispose([x, y]);
      model.dispose();
    });
  }
}

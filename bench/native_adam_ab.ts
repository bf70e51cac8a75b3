/**
 * The native training step (case (c)) with tfjs's stock Adam and with the fused oneDNN Adam,
 * alternated in one process so both see the same load: `deno run -A bench/native_adam_ab.ts
 * [rounds]` prints the median step and the median update alone for each.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../src/backend/mod.ts";
import { nativeAdamApply } from "../src/backend/native/_adam.ts";
import { benchGenerator } from "./bench_models.ts";
import { loadModels } from "./cases.ts";

const rounds = Number(Deno.args[0] ?? 7);
await initBackend("native");
const m = await loadModels("lib");
const model = benchGenerator();
const lowRes = tf.randomUniform([4, 32, 32, 3], 0, 1, "float32", 8) as tf.Tensor4D;
const target = tf.randomUniform([4, 64, 64, 3], 0, 1, "float32", 9) as tf.Tensor4D;
const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
const optimizers = { stock: tf.train.adam(1e-3), fused: tf.train.adam(1e-3) };
const times = { stock: [] as number[], fused: [] as number[] };
const updates = { stock: [] as number[], fused: [] as number[] };

async function step(kind: "stock" | "fused"): Promise<void> {
  const optimizer = optimizers[kind];
  const t0 = performance.now();
  let u = 0;
  const cost = tf.tidy(() => {
    const { value, grads } = tf.variableGrads(() => {
      const pred = model.apply(lowRes, { training: true }) as tf.Tensor4D;
      return m.loss(pred, target);
    }, vars);
    // Wait for the gradients (wasm and oneDNN run synchronously), then time the update alone.
    const t1 = performance.now();
    if (kind === "stock" || !nativeAdamApply(optimizer, grads)) {
      optimizer.applyGradients(grads as Record<string, tf.Variable>);
    }
    u = performance.now() - t1;
    return value;
  });
  await cost.data();
  cost.dispose();
  times[kind].push(performance.now() - t0);
  updates[kind].push(u);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
await step("stock");
await step("fused");
for (const k of ["stock", "fused"] as const) [times[k], updates[k]] = [[], []];
for (let r = 0; r < rounds; r++) {
  await step("stock");
  await step("fused");
}
for (const k of ["stock", "fused"] as const) {
  console.log(
    `${k}: step ${median(times[k]).toFixed(1)} ms, update ${median(updates[k]).toFixed(1)} ms ` +
      `(medians of ${rounds}, load ${Deno.loadavg()[0]!.toFixed(1)})`,
  );
}
Deno.exit(0);

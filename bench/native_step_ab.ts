/**
 * The native training step (case (c)) as it was (`stock`: tfjs's Adam, wasm's comparisons and
 * leading-axis sums) and as it is (`fused`: oneDNN Adam, comparisons and column sums), alternated
 * step by step in one process so both see the same load (the only fair comparison on a shared
 * machine): `deno run -A bench/native_step_ab.ts [rounds]` prints the median step and the median
 * update alone for each.
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

/** Which kernels run: the native ones, or (`stock`) wasm's own for what this round moved. */
let mode: "stock" | "fused" = "fused";
const stockOf = (name: string) => tf.getKernel(name, "wasm")!.kernelFunc;
const nativeOf = (name: string) => tf.getKernel(name, "native")!.kernelFunc;
for (const name of ["Greater", "GreaterEqual", "Less", "LessEqual", "Sum", "Mean"]) {
  const [stock, native] = [stockOf(name), nativeOf(name)];
  // Sum/Mean: only leading-axis reductions went back to wasm; trailing ones stay float64.
  const leadingOnly = name === "Sum" || name === "Mean";
  tf.unregisterKernel(name, "native");
  tf.registerKernel({
    kernelName: name,
    backendName: "native",
    kernelFunc: (args) => {
      if (mode === "fused") return native(args);
      if (!leadingOnly) return stock(args);
      const { x } = args.inputs as { x: tf.TensorInfo };
      const axes = tf.util.parseAxisParam(args.attrs!.axis as number[], x.shape);
      const leading = axes.length < x.shape.length && [...axes].sort().every((a, i) => a === i);
      return (leading ? stock : native)(args);
    },
  });
}
const m = await loadModels("lib");
const model = benchGenerator();
const lowRes = tf.randomUniform([4, 32, 32, 3], 0, 1, "float32", 8) as tf.Tensor4D;
const target = tf.randomUniform([4, 64, 64, 3], 0, 1, "float32", 9) as tf.Tensor4D;
const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
const optimizers = { stock: tf.train.adam(1e-3), fused: tf.train.adam(1e-3) };
const times = { stock: [] as number[], fused: [] as number[] };
const updates = { stock: [] as number[], fused: [] as number[] };

async function step(kind: "stock" | "fused"): Promise<void> {
  mode = kind;
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

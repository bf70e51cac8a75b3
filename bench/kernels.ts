/**
 * The project's training kernels against the stock ones they replace or complement:
 * `deno run -A bench/kernels.ts [wasm|cpu] [--threads=2]` prints, per layer shape, the forward
 * conv, the input gradient (ours vs stock), the filter gradient (ours; stock where it exists) and
 * a batched Gram product, as the best of a few runs in ms (cpu: one run each; it only gets
 * this project's filter gradient, so its two input-gradient columns are the same stock kernel).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import {
  enableWasmThreads,
  initBackend,
  installTrainingKernels,
  uninstallTrainingKernels,
} from "../src/backend/mod.ts";

const backend = Deno.args.find((a) => !a.startsWith("--")) ?? "wasm";
const threads = Deno.args.find((a) => a.startsWith("--threads="));
if (threads !== undefined) await enableWasmThreads({ threads: Number(threads.slice(10)) });
await initBackend(backend);
const slow = backend === "cpu";

/** Best of `reps` runs, after one warm-up run unless the backend is the slow cpu one. */
async function best(f: () => tf.Tensor, reps: number): Promise<number> {
  if (!slow) {
    const warm = f();
    await warm.data();
    warm.dispose();
  }
  let ms = Infinity;
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    const y = f();
    await y.data();
    ms = Math.min(ms, performance.now() - t0);
    y.dispose();
  }
  return ms;
}

/** Time `f` with this project's kernels, then with the stock ones (undefined if it has none). */
async function oursAndStock(
  kernel: string,
  f: () => tf.Tensor,
  reps: number,
): Promise<[number, number | undefined]> {
  const ours = await best(f, reps);
  uninstallTrainingKernels(backend as "wasm" | "cpu");
  try {
    if (tf.getKernel(kernel, backend) === undefined) return [ours, undefined];
    return [ours, await best(f, reps)];
  } finally {
    installTrainingKernels(backend as "wasm" | "cpu");
  }
}

type Shape4 = [number, number, number, number];
const layers: [Shape4, Shape4, number][] = slow
  ? [[[4, 32, 32, 64], [3, 3, 64, 64], 1], [[4, 16, 16, 128], [3, 3, 128, 128], 2]]
  : [
    [[4, 64, 64, 64], [3, 3, 64, 64], 1],
    [[4, 32, 32, 128], [3, 3, 128, 128], 1],
    [[4, 16, 16, 256], [3, 3, 256, 256], 1],
    [[4, 8, 8, 512], [3, 3, 512, 512], 1],
    [[1, 224, 224, 64], [3, 3, 64, 64], 1],
    [[1, 28, 28, 512], [3, 3, 512, 512], 1],
    [[4, 64, 64, 64], [3, 3, 64, 64], 2],
  ];
const fmt = (ms: number | undefined) => ms === undefined ? "—" : ms.toFixed(1);
console.log(
  `| ${backend}${threads ? ` ${threads.slice(10)} threads` : ""}: x, filter, stride | GFLOP | ` +
    "forward conv | dX ours | dX stock | dW ours | dW stock |",
);
console.log("|---|---|---|---|---|---|---|");
for (const [xs, ws, s] of layers) {
  const x = tf.randomNormal(xs) as tf.Tensor4D;
  const w = tf.randomNormal(ws) as tf.Tensor4D;
  const y = tf.conv2d(x, w, s, "same");
  const dy = tf.randomNormal(y.shape) as tf.Tensor4D;
  const reps = slow ? 1 : 4;
  const gflop = 2 * y.size * ws[0]! * ws[1]! * ws[2]! / 1e9;
  const fwd = await best(() => tf.conv2d(x, w, s, "same"), reps);
  const [dxOurs, dxStock] = await oursAndStock(
    "Conv2DBackpropInput",
    () => tf.conv2dTranspose(dy, w, xs, s, "same"),
    reps,
  );
  const dwAttrs = { strides: s, pad: "same", dataFormat: "NHWC", filterShape: ws };
  const [dwOurs, dwStock] = await oursAndStock(
    "Conv2DBackpropFilter",
    () => tf.engine().runKernel("Conv2DBackpropFilter", { x, dy }, dwAttrs) as tf.Tensor,
    reps,
  );
  console.log(
    `| [${xs}] × [${ws}] s${s} | ${gflop.toFixed(2)} | ${fmt(fwd)} | ${fmt(dxOurs)} | ` +
      `${fmt(dxStock)} | ${fmt(dwOurs)} | ${fmt(dwStock)} |`,
  );
  tf.dispose([x, w, y, dy]);
}
if (!slow) {
  const a = tf.randomNormal([4, 256, 256]);
  const [ours, stock] = await oursAndStock(
    "BatchMatMul",
    () => tf.matMul(a, a, true, false),
    5,
  );
  console.log(`\nGram [4,256,256]ᵀ·[4,256,256]: ours ${fmt(ours)} ms, stock ${fmt(stock)} ms`);
  a.dispose();
}
Deno.exit(0);

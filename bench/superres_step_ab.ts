/**
 * The main job's step (superres_case.ts) with this round's native kernels (`after`) and with
 * wasm's own for them (`before`), alternated step by step in one process so both see the same
 * load: `deno run -A bench/superres_step_ab.ts [rounds] [--kernels=Slice,SplitV,Concat]` prints
 * the median and best step of each and their ratio. Both sides train the same model (one step
 * each per round), so the pair measures the kernels, not the weights.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../src/backend/mod.ts";
import { prepareSuperres } from "./superres_case.ts";

const rounds = Number(Deno.args.find((a) => !a.startsWith("--")) ?? 9);
const kernelsFlag = Deno.args.find((a) => a.startsWith("--kernels="));
const kernels = kernelsFlag?.slice(10).split(",") ?? ["Slice", "SplitV", "Concat"];
await initBackend("native");

let mode: "before" | "after" = "after";
for (const name of kernels) {
  const stock = tf.getKernel(name, "wasm")!.kernelFunc;
  const native = tf.getKernel(name, "native")!.kernelFunc;
  tf.unregisterKernel(name, "native");
  tf.registerKernel({
    kernelName: name,
    backendName: "native",
    kernelFunc: (args) => (mode === "after" ? native : stock)(args),
  });
}
const c = await prepareSuperres();
const times = { before: [] as number[], after: [] as number[] };
async function step(kind: "before" | "after"): Promise<void> {
  mode = kind;
  const t0 = performance.now();
  await c.run();
  times[kind].push(performance.now() - t0);
}
await step("before");
await step("after");
times.before = [];
times.after = [];
for (let r = 0; r < rounds; r++) {
  await step("before");
  await step("after");
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const [mb, ma] = [median(times.before), median(times.after)];
console.log(`kernels ${kernels.join(",")}: ${rounds} rounds`);
console.log(
  `before (wasm's) median ${mb.toFixed(1)} ms, best ${Math.min(...times.before).toFixed(1)}`,
);
console.log(
  `after (native)  median ${ma.toFixed(1)} ms, best ${Math.min(...times.after).toFixed(1)}`,
);
console.log(`after/before median ${(ma / mb).toFixed(3)}`);
c.dispose();
Deno.exit(0);

/**
 * Where the time of a benchmark case goes: `deno run -A bench/profile.ts <backend> <case>
 * [--threads=N] [--bench-models]` runs the case once to warm up, then once under `tf.profile`, and prints the
 * kernel time summed per kernel name (with call counts) and the ten most expensive single calls.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { enableWasmThreads, initBackend } from "../src/backend/mod.ts";
import { nativeInfo, nativeProfile, setNativeProfiling } from "../src/backend/native/mod.ts";
import { type CaseName, loadModels, prepare } from "./cases.ts";

const [backend = "wasm", name = "train"] = Deno.args.filter((a) => !a.startsWith("--"));
const threadsFlag = Deno.args.find((a) => a.startsWith("--threads="));
if (threadsFlag !== undefined) {
  console.log(await enableWasmThreads({ threads: Number(threadsFlag.slice(10)) }));
}
await initBackend(backend);
const models = await loadModels(Deno.args.includes("--bench-models") ? "bench" : "lib");
const c = await prepare(name as CaseName, models);
await c.run();
const t0 = performance.now();
const info = await tf.profile(() => c.run());
const wall = performance.now() - t0;
const byName = new Map<string, { ms: number; calls: number }>();
for (const k of info.kernels) {
  const e = byName.get(k.name) ?? { ms: 0, calls: 0 };
  e.ms += k.kernelTimeMs as number;
  e.calls++;
  byName.set(k.name, e);
}
const total = [...byName.values()].reduce((s, e) => s + e.ms, 0);
console.log(
  `${backend} ${name}: wall ${wall.toFixed(0)} ms (profiled), kernels ${total.toFixed(0)} ms`,
);
for (const [k, e] of [...byName].sort((a, b) => b[1].ms - a[1].ms)) {
  console.log(
    `${k.padEnd(28)} ${e.ms.toFixed(1).padStart(8)} ms ${String(e.calls).padStart(5)} calls ` +
      `${(100 * e.ms / total).toFixed(1).padStart(5)}%`,
  );
}
console.log("most expensive calls:");
for (
  const k of [...info.kernels].sort((a, b) =>
    (b.kernelTimeMs as number) - (a.kernelTimeMs as number)
  ).slice(0, 12)
) {
  console.log(
    `  ${k.name.padEnd(24)} ${(k.kernelTimeMs as number).toFixed(1).padStart(7)} ms  in ${
      JSON.stringify(k.inputShapes)
    } → ${JSON.stringify(k.outputShapes)}`,
  );
}
if (backend === "native") {
  // The same step again, timing each oneDNN call (tf.profile's figures nest custom-gradient
  // scopes, so they add up to more than the wall time).
  setNativeProfiling(true);
  const t1 = performance.now();
  await c.run();
  const wall2 = performance.now() - t1;
  setNativeProfiling(false);
  const entries = nativeProfile();
  const inDnnl = entries.reduce((s, e) => s + e.ms, 0);
  console.log(
    `oneDNN: ${inDnnl.toFixed(0)} ms of a ${wall2.toFixed(0)} ms step; the rest is wasm ` +
      `(elementwise, reductions, transposes) and JS`,
  );
  for (const e of entries.slice(0, 25)) {
    console.log(`  ${e.ms.toFixed(1).padStart(7)} ms ${String(e.calls).padStart(3)}×  ${e.key}`);
  }
  const info = nativeInfo();
  if (typeof info !== "string") {
    const ref = info.primitives.filter((p) => p.chosen.startsWith("ref:"));
    console.log(`oneDNN ${info.version}: ${info.primitives.length} primitives, ${ref.length} ref:`);
    for (const p of ref) console.log(`  ref: ${p.key}`);
  }
}
c.dispose();
models.dispose();
Deno.exit(0);

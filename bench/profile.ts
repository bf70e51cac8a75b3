/**
 * Where the time of a benchmark case goes: `deno run -A bench/profile.ts <backend> <case>
 * [--threads=N] [--bench-models] [--reps=N]` runs the case once to warm up, then `reps` times
 * (default 1) under `tf.profile`, and prints the kernel time summed per kernel name (with call
 * counts) and the most expensive single calls. With several reps each call's time is its minimum
 * over the reps (calls matched by position: a step runs the same kernels in the same order), which
 * filters out most of the delays other processes cause on a shared machine.
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
const repsFlag = Deno.args.find((a) => a.startsWith("--reps="));
const reps = Math.max(1, Number(repsFlag?.slice(7) ?? 1));
await c.run();
let info: Awaited<ReturnType<typeof tf.profile>> | undefined;
const walls: number[] = [];
for (let r = 0; r < reps; r++) {
  const t0 = performance.now();
  const next = await tf.profile(() => c.run());
  walls.push(performance.now() - t0);
  if (info !== undefined && next.kernels.length !== info.kernels.length) {
    throw new Error(`rep ${r} ran ${next.kernels.length} kernels, rep 0 ${info.kernels.length}`);
  }
  if (info === undefined) info = next;
  else {
    next.kernels.forEach((k, i) => {
      const kept = info!.kernels[i]!;
      kept.kernelTimeMs = Math.min(kept.kernelTimeMs as number, k.kernelTimeMs as number);
    });
  }
}
const wall = Math.min(...walls);
const byName = new Map<string, { ms: number; calls: number }>();
for (const k of info!.kernels) {
  const e = byName.get(k.name) ?? { ms: 0, calls: 0 };
  e.ms += k.kernelTimeMs as number;
  e.calls++;
  byName.set(k.name, e);
}
const total = [...byName.values()].reduce((s, e) => s + e.ms, 0);
console.log(
  `${backend} ${name}: wall ${wall.toFixed(0)} ms (profiled, fastest of ${reps}), kernels ` +
    `${total.toFixed(0)} ms`,
);
for (const [k, e] of [...byName].sort((a, b) => b[1].ms - a[1].ms)) {
  console.log(
    `${k.padEnd(28)} ${e.ms.toFixed(1).padStart(8)} ms ${String(e.calls).padStart(5)} calls ` +
      `${(100 * e.ms / total).toFixed(1).padStart(5)}%`,
  );
}
// The same by kernel and input shapes: which sizes the many small calls have.
const byShape = new Map<string, { ms: number; calls: number }>();
for (const k of info!.kernels) {
  const key = `${k.name} ${JSON.stringify(k.inputShapes)}`;
  const e = byShape.get(key) ?? { ms: 0, calls: 0 };
  e.ms += k.kernelTimeMs as number;
  e.calls++;
  byShape.set(key, e);
}
console.log("by kernel and input shapes:");
for (const [k, e] of [...byShape].sort((a, b) => b[1].ms - a[1].ms).slice(0, 25)) {
  console.log(`  ${e.ms.toFixed(1).padStart(7)} ms ${String(e.calls).padStart(4)}×  ${k}`);
}
console.log("most expensive calls:");
for (
  const k of [...info!.kernels].sort((a, b) =>
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
  // With several reps, the oneDNN figures of the fastest one.
  let wall2 = Infinity;
  let entries: ReturnType<typeof nativeProfile> = [];
  for (let r = 0; r < reps; r++) {
    setNativeProfiling(true);
    const t1 = performance.now();
    await c.run();
    const ms = performance.now() - t1;
    setNativeProfiling(false);
    if (ms < wall2) [wall2, entries] = [ms, nativeProfile()];
  }
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

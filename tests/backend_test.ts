import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import {
  BACKEND_ENV_VAR,
  BACKEND_NAMES,
  BackendUnavailableError,
  describeBackend,
  initBackend,
  parseBackendName,
  UnknownBackendError,
} from "../src/backend/mod.ts";

Deno.test("initBackend('cpu') starts cpu and says why", async () => {
  const choice = await initBackend("cpu");
  assert.equal(choice.name, "cpu");
  assert.equal(tf.getBackend(), "cpu");
  assert.equal(choice.reason, "asked for by name");
  assert.deepEqual(choice.skipped, []);
  // gradients are registered (tfjs-core alone registers none under Deno)
  const g = tf.grad((x: tf.Tensor) => tf.sum(tf.square(x)))(tf.tensor1d([1, -2, 3]));
  assert.deepEqual(Array.from(g.dataSync()), [2, -4, 6]);
});

Deno.test("initBackend tries names in order and records why the earlier ones failed", async () => {
  const choice = await initBackend(["wasm", "cpu"]);
  assert.equal(choice.name, "wasm");
  assert.equal(tf.getBackend(), "wasm");
  await initBackend("cpu");
});

Deno.test("automatic order skips tensorflow when not installed, with the reason", async () => {
  const saved = Deno.env.get(BACKEND_ENV_VAR);
  Deno.env.delete(BACKEND_ENV_VAR);
  try {
    const choice = await initBackend();
    assert.ok(["webgpu", "native", "wasm", "cpu"].includes(choice.name), choice.name);
    const tensorflow = choice.skipped.find((s) => s.name === "tensorflow");
    assert.ok(tensorflow, "tensorflow should be listed as skipped");
    assert.match(tensorflow.why, /tfjs-node-gpu/);
    assert.match(describeBackend(choice), new RegExp(`^backend ${choice.name} `));
    // native adds the oneDNN version it found and its thread count for the run.
    assert.match(
      choice.reason,
      /^first in the default order to start(; oneDNN \d+\.\d+\.\d+, \d+ threads?)?$/,
    );
  } finally {
    if (saved !== undefined) Deno.env.set(BACKEND_ENV_VAR, saved);
    await initBackend("cpu");
  }
});

Deno.test("PERCEPTUAL_BACKEND overrides the default order; an explicit argument wins over it", async () => {
  const saved = Deno.env.get(BACKEND_ENV_VAR);
  Deno.env.set(BACKEND_ENV_VAR, "cpu");
  try {
    const fromEnv = await initBackend();
    assert.equal(fromEnv.name, "cpu");
    assert.equal(fromEnv.reason, `${BACKEND_ENV_VAR}=cpu`);
    Deno.env.set(BACKEND_ENV_VAR, "gpu-please");
    await assert.rejects(() => initBackend(), (e: unknown) => {
      assert.ok(e instanceof UnknownBackendError);
      assert.match(e.message, /gpu-please/);
      assert.match(e.message, new RegExp(BACKEND_ENV_VAR));
      assert.match(e.message, /tensorflow, webgpu, native, native-host, wasm, cpu/);
      return true;
    });
    const explicit = await initBackend("cpu");
    assert.equal(explicit.reason, "asked for by name");
  } finally {
    if (saved === undefined) Deno.env.delete(BACKEND_ENV_VAR);
    else Deno.env.set(BACKEND_ENV_VAR, saved);
  }
});

Deno.test("unknown backend names are typed errors listing the valid names", () => {
  assert.equal(parseBackendName(" WASM ", "test"), "wasm");
  assert.throws(() => parseBackendName("cuda", "--backend"), (e: unknown) => {
    assert.ok(e instanceof UnknownBackendError);
    assert.equal(e.requested, "cuda");
    assert.match(e.message, /--backend/);
    for (const n of BACKEND_NAMES) assert.match(e.message, new RegExp(n));
    return true;
  });
});

Deno.test("a backend that cannot start says why, and the next one is used", async () => {
  let installed = false;
  try {
    installed = Deno.statSync("node_modules/@tensorflow/tfjs-node-gpu").isDirectory ||
      Deno.statSync("node_modules/@tensorflow/tfjs-node").isDirectory;
  } catch { /* not installed: the case under test */ }
  if (installed) {
    console.log("skipped: tfjs-node is installed on this machine, so 'tensorflow' may start");
    return;
  }
  await assert.rejects(() => initBackend("tensorflow"), (e: unknown) => {
    assert.ok(e instanceof BackendUnavailableError);
    assert.equal(e.failures.length, 1);
    assert.equal(e.failures[0]!.name, "tensorflow");
    assert.match(e.message, /@tensorflow\/tfjs-node-gpu is not installed/);
    assert.match(e.message, /deno install --allow-scripts/);
    assert.match(e.message, /CUDA 11\.2/);
    return true;
  });
  const fallback = await initBackend(["tensorflow", "cpu"]);
  assert.equal(fallback.name, "cpu");
  assert.equal(fallback.skipped[0]!.name, "tensorflow");
});

Deno.test("PERCEPTUAL_WASM_THREADS=2 starts threaded wasm, and the choice says so", async () => {
  // A fresh process: threads must be asked for before wasm first starts.
  const script = `
    import { initBackend } from "${new URL("../src/backend/mod.ts", import.meta.url).href}";
    import * as tf from "@tensorflow/tfjs-core";
    const choice = await initBackend("wasm");
    const g = tf.grad((x) => tf.sum(tf.square(tf.conv2d(x, tf.ones([3, 3, 1, 2]), 1, "same"))));
    const dx = g(tf.ones([1, 4, 4, 1]));
    console.log(JSON.stringify({ reason: choice.reason, sum: tf.sum(dx).dataSync()[0] }));
    Deno.exit(0);
  `;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--config", new URL("../deno.json", import.meta.url).pathname, script],
    env: { PERCEPTUAL_WASM_THREADS: "2" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const { reason, sum } = JSON.parse(text.trim().split("\n").pop()!);
  assert.match(reason, /^asked for by name; 2 threads \(PERCEPTUAL_WASM_THREADS\)$/);
  // By hand: y[i,j,f] = c_i·c_j valid taps (c = [2,3,3,2]); Σ_p dL/dx_p = Σ 2·y·y over outputs
  // = 2 filters · 2 · (Σ c²)² = 4 · 26² = 2704.
  assert.equal(sum, 2704);
});

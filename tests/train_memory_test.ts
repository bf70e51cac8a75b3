// A training step too large for the backend: refused before it runs with a StepMemoryError that
// says what it needs, what the backend holds and which batch fits (checked against a small limit
// set with setMemoryLimit); an allocation failure during a step becomes the same error; nothing
// leaks, nothing changes, and the next step gives the same numbers as a trainer that never failed.
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import {
  backendMemoryLimit,
  initBackend,
  parseBytes,
  setMemoryLimit,
  WASM32_HEAP_BYTES,
} from "../src/backend/mod.ts";
import { PerceptualError } from "../src/errors/mod.ts";
import { evaluate, feature, type LossFn, pixel, plus } from "../src/loss/mod.ts";
import { StepMemoryError, trainer } from "../src/train/mod.ts";
import { estimateStepMemory } from "../src/train/_step_memory.ts";
import { layersTrainable } from "../src/train/trainable.ts";
import { unet } from "../src/unet/mod.ts";
import { vgg16 } from "../src/vgg/mod.ts";
import { oneLine } from "../src/experiment/mod.ts";
import { pipe } from "fp-ts/lib/function.js";
import { noise } from "./unet_test_helpers.ts";

function batchOf(n: number, size: number, seed: number) {
  const lr = size / 2;
  return {
    input: tf.tensor4d(noise(n * lr * lr * 3, seed).map((v) => 0.5 + 0.2 * v), [n, lr, lr, 3]),
    target: tf.tensor4d(noise(n * size * size * 3, seed + 1).map((v) => 0.5 + 0.2 * v), [
      n,
      size,
      size,
      3,
    ]),
  };
}

const config = { depth: 2, baseFilters: 4, scale: 2, seed: 7 } as const;

async function weightsOf(model: { weights: { read(): tf.Tensor }[] }): Promise<Float32Array[]> {
  return await Promise.all(model.weights.map(async (w) => await w.read().data() as Float32Array));
}

Deno.test("memory: wasm and native report the wasm32 heap; the limit can be set and parsed", async () => {
  await initBackend("wasm");
  assert.equal(backendMemoryLimit().bytes, WASM32_HEAP_BYTES);
  setMemoryLimit(123456);
  assert.equal(backendMemoryLimit().bytes, 123456);
  setMemoryLimit(undefined);
  await initBackend("cpu");
  assert.equal(backendMemoryLimit().bytes, undefined);
  assert.equal(parseBytes("3GiB"), 3 * 2 ** 30);
  assert.equal(parseBytes("512MiB"), 512 * 2 ** 20);
  assert.equal(parseBytes("4 gigs"), undefined);
  assert.throws(() => setMemoryLimit(-1), RangeError);
});

Deno.test("memory: a step over the limit is refused before it runs, then a fitting step matches a fresh trainer", async () => {
  await initBackend("wasm");
  using net = await vgg16({ weights: { random: 1 }, upTo: "block2_conv2" });
  const loss: LossFn = evaluate(pipe(pixel(), plus(feature("block2_conv2"))), net);
  const model = unet(config);
  const big = batchOf(4, 64, 11);
  const small = batchOf(1, 64, 21);
  const before = await weightsOf(model);
  // The estimates for 1 and 4 images, to put the limit between them; they change no weight.
  const t = layersTrainable(model);
  const e1 = estimateStepMemory(t, loss, small, 0);
  const e4 = estimateStepMemory(t, loss, big, 0);
  assert.deepEqual(await weightsOf(model), before);
  assert.ok(e4.bytes > e1.bytes + 2 * e1.perImage, `estimates ${e1.bytes} / ${e4.bytes}`);
  // The estimate is not below what the step really holds at its peak (measured by tf.profile,
  // on a clone of the model: training-mode batch norm updates its statistics).
  const clone = unet(config);
  const startBytes = tf.memory().numBytes;
  const measured = await tf.profile(() => {
    tf.tidy(() => {
      const { value, grads } = tf.variableGrads(
        () => loss(clone.apply(big.input, { training: true }) as tf.Tensor4D, big.target).total,
        layersTrainable(clone).params(),
      );
      tf.dispose([value, grads]);
    });
    return undefined as unknown as tf.Tensor;
  });
  assert.ok(
    e4.bytes >= measured.peakBytes && e4.bytes < startBytes + 3 * (measured.peakBytes - startBytes),
    `estimate ${e4.bytes}, measured peak ${measured.peakBytes} from ${startBytes}`,
  );
  clone.dispose();
  const limit = Math.round((e1.bytes + e4.bytes) / 2);
  setMemoryLimit(limit);
  try {
    using tr = trainer({ model, loss, seed: 3 });
    const tensorsBefore = tf.memory().numTensors; // Adam made its two β powers
    const err = await tr.step(big).then(() => undefined, (e) => e);
    assert.ok(err instanceof StepMemoryError, String(err));
    assert.ok(err instanceof PerceptualError);
    assert.equal(err.facts.when, "before");
    assert.equal(err.usable, true);
    assert.ok(err.maxBatch >= 1 && err.maxBatch < 4, `maxBatch ${err.maxBatch}`);
    assert.match(err.message, /a training step of 4 × 64×64 needs about [0-9.]+ (MiB|GiB)/);
    assert.match(err.message, /set by setMemoryLimit/);
    assert.match(err.message, /the step was not run and nothing changed/);
    assert.match(err.message, new RegExp(`--batch ${err.maxBatch}\\b`));
    assert.match(err.message, /--crop \d+/);
    // On wasm: the backend without the 4 GiB ceiling that keeps oneDNN's speed is named.
    assert.match(err.message, /--backend native-host/);
    assert.equal(tr.state.step, 0);
    // Nothing leaked, nothing changed (batch-norm statistics included).
    assert.equal(tf.memory().numTensors, tensorsBefore);
    assert.deepEqual(await weightsOf(model), before);
    // A step that fits, under the same limit.
    const m = await tr.step(small);
    assert.equal(m.step, 1);
    const after = await weightsOf(model);
    // The reference: a fresh model with the same seed and a trainer that never failed.
    setMemoryLimit(undefined);
    const ref = unet(config);
    assert.deepEqual(await weightsOf(ref), before);
    using refTrainer = trainer({ model: ref, loss, seed: 3, memoryCheck: false });
    const refMetrics = await refTrainer.step(small);
    assert.equal(m.total, refMetrics.total);
    assert.deepEqual(after, await weightsOf(ref));
    ref.dispose();
  } finally {
    setMemoryLimit(undefined);
    tf.dispose([big.input, big.target, small.input, small.target]);
    model.dispose();
    await initBackend("cpu");
  }
});

Deno.test("memory: an allocation failure during a step becomes a StepMemoryError, frees the step, and the next step runs", async () => {
  await initBackend("cpu");
  const model = unet({ ...config, norm: "none" });
  let fail: Error | undefined;
  const loss: LossFn = (p, y) => {
    const d = tf.mean(tf.abs(tf.sub(p, y))) as tf.Scalar;
    if (fail !== undefined) throw fail;
    return { total: d, terms: {} };
  };
  const b = batchOf(2, 16, 31);
  try {
    using tr = trainer({ model, loss });
    await tr.step(b); // makes the optimizer slots
    const tensors = tf.memory().numTensors;
    const weights = await weightsOf(model);
    fail = new RangeError("Array buffer allocation failed");
    const e1 = await tr.step(b).then(() => undefined, (e) => e);
    assert.ok(e1 instanceof StepMemoryError, String(e1));
    assert.equal(e1.facts.when, "during");
    assert.equal(e1.usable, true);
    assert.equal(e1.cause, fail);
    assert.match(e1.message, /ran out of memory during step 2 of 2 × 16×16 \(Array buffer/);
    assert.match(e1.message, /weights not updated/);
    assert.doesNotMatch(e1.message, /restart/);
    assert.equal(tf.memory().numTensors, tensors);
    assert.deepEqual(await weightsOf(model), weights);
    // A wasm trap: the heap may be damaged, and the message says so.
    const trap = new Error("memory access out of bounds");
    trap.name = "RuntimeError";
    fail = trap;
    const e2 = await tr.step(b).then(() => undefined, (e) => e);
    assert.ok(e2 instanceof StepMemoryError);
    assert.equal(e2.usable, false);
    assert.match(e2.message, /restart the process before training again/);
    assert.equal(tf.memory().numTensors, tensors);
    fail = undefined;
    assert.equal((await tr.step(b)).step, 2);
    assert.equal(tf.memory().numTensors, tensors);
  } finally {
    tf.dispose([b.input, b.target]);
    model.dispose();
  }
});

Deno.test("memory: the examples' one-line message shows the error a SuppressedError hides", () => {
  const original = new StepMemoryError({
    when: "during",
    batch: 16,
    height: 256,
    width: 256,
    needBytes: 2 ** 32,
    limitBytes: 2 ** 32,
    inUseBytes: 2 ** 28,
    perImageBytes: 2 ** 28,
    limitSource: "the wasm backend's wasm32 heap",
    backend: "wasm",
    usable: false,
  });
  const later = new Error("memory access out of bounds");
  const line = oneLine(
    new SuppressedError(later, original, "An error was suppressed during disposal"),
  );
  assert.doesNotMatch(line, /was suppressed/);
  assert.ok(line.startsWith("the wasm backend ran out of memory"), line);
  assert.match(line, /then, while cleaning up: memory access out of bounds\)$/);
});

Deno.test("memory: a loss that cannot run on the probes' smaller batch trains as before", async () => {
  await initBackend("wasm");
  const model = unet({ ...config, norm: "none" });
  const b = batchOf(3, 16, 41);
  // The loss reads a tensor of the batch's own size: the probe of 2 images does not broadcast against it.
  const weights = tf.ones([3, 16, 16, 3]);
  const loss: LossFn = (p, y) => ({
    total: tf.mean(tf.mul(tf.abs(tf.sub(p, y)), weights)) as tf.Scalar,
    terms: {},
  });
  try {
    using tr = trainer({ model, loss });
    const m = await tr.step(b);
    assert.equal(m.step, 1);
    assert.ok(Number.isFinite(m.total));
  } finally {
    tf.dispose([b.input, b.target, weights]);
    model.dispose();
    await initBackend("cpu");
  }
});

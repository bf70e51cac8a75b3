// trainer().step: hand-computed updates, NaN/Inf detection, lifetimes and the leak check.
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { initBackend } from "../src/backend/mod.ts";
import { assertNoLeak, TensorLeakError } from "../src/lifetime/mod.ts";
import type { LossFn } from "../src/loss/loss_result.ts";
import {
  constant,
  type DataFactory,
  NonFiniteGradientError,
  NonFiniteStepError,
  type Schedule,
  trainer,
  TrainingDataError,
} from "../src/train/mod.ts";

await initBackend("cpu");

/** A 1×1 convolution without bias: pred = w · x, one weight. */
function scaleModel(w: number): tfl.LayersModel {
  const model = tfl.sequential({
    layers: [
      tfl.layers.conv2d({ filters: 1, kernelSize: 1, useBias: false, inputShape: [2, 2, 1] }),
    ],
  });
  tf.tidy(() => model.setWeights([tf.fill([1, 1, 1, 1], w)]));
  return model;
}

function weightOf(model: tfl.LayersModel): number {
  return model.weights[0]!.read().dataSync()[0]!;
}

/** A small conv net on 8×8 RGB. */
function tinyModel(): tfl.LayersModel {
  const inp = tfl.input({ shape: [8, 8, 3] });
  const h = tfl.layers.conv2d({ filters: 4, kernelSize: 3, padding: "same", activation: "relu" })
    .apply(inp) as tfl.SymbolicTensor;
  const out = tfl.layers.conv2d({ filters: 3, kernelSize: 3, padding: "same" }).apply(
    h,
  ) as tfl.SymbolicTensor;
  return tfl.model({ inputs: inp, outputs: out });
}

const l1: LossFn = (pred, target) => {
  const pixel = tf.mean(tf.abs(tf.sub(pred, target))) as tf.Scalar;
  return { total: tf.clone(pixel), terms: { pixel } };
};

function fixedSchedule(lrs: number[], moms?: number[]): Schedule {
  return Object.assign((step: number) => lrs[step]!, {
    usesTotal: false,
    description: "fixed",
    ...(moms === undefined ? {} : { momentum: (step: number) => moms[step]! }),
  });
}

Deno.test("step: an SGD step equals the hand-computed update of an MSE loss", async () => {
  const model = scaleModel(0.5);
  const x = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);
  const y = tf.tensor4d([2, 4, 6, 8], [1, 2, 2, 1]);
  const mse: LossFn = (pred, target) => {
    const e = tf.mean(tf.square(tf.sub(pred, target))) as tf.Scalar;
    return { total: tf.clone(e), terms: { mse: e } };
  };
  using t = trainer({
    model,
    loss: mse,
    optimizer: tf.train.sgd(0.01),
    schedule: fixedSchedule([0.01, 0.01]),
  });
  // L(w) = mean((w x − 2x)²) = (w − 2)² · mean(x²) = 2.25 · 7.5 at w = 0.5;
  // dL/dw = 2 (w − 2) mean(x²) = −22.5, so w ← 0.5 + 0.01 · 22.5 = 0.725.
  const m = await t.step({ input: x, target: y });
  assert.equal(m.step, 1);
  assert.ok(Math.abs(m.total - 16.875) < 1e-4, `total ${m.total}`);
  assert.ok(Math.abs(m.terms.mse! - 16.875) < 1e-4);
  assert.ok(Math.abs(m.gradNorm - 22.5) < 1e-4, `gradNorm ${m.gradNorm}`);
  assert.equal(m.lr, 0.01);
  assert.ok(Math.abs(weightOf(model) - 0.725) < 1e-6, `w ${weightOf(model)}`);
  const m2 = await t.step({ input: x, target: y });
  assert.ok(m2.total < m.total, "the loss went down");
  assert.ok(Math.abs(m2.total - (0.725 - 2) ** 2 * 7.5) < 1e-4);
  tf.dispose([x, y]);
  model.dispose();
});

Deno.test("step: Adam with a cycled β1 matches PyTorch-style bias correction by hand", async () => {
  const model = scaleModel(1);
  const x = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);
  // L = mean(w x): the gradient is mean(x) = 2.5 at every step.
  const linear: LossFn = (pred) => {
    const v = tf.mean(pred) as tf.Scalar;
    return { total: tf.clone(v), terms: { v } };
  };
  const [b2, eps] = [0.999, 1e-8];
  using t = trainer({
    model,
    loss: linear,
    optimizer: tf.train.adam(0.1, 0.9, b2, eps),
    schedule: fixedSchedule([0.1, 0.05], [0.95, 0.85]),
  });
  await t.step({ input: x, target: x });
  const m2 = await t.step({ input: x, target: x });
  assert.equal(m2.momentum, 0.85);
  const g = 2.5;
  let w = 1;
  const m1 = (1 - 0.95) * g;
  const v1 = (1 - b2) * g * g;
  w -= 0.1 * (m1 / (1 - 0.95)) / (Math.sqrt(v1 / (1 - b2)) + eps);
  const mm = 0.85 * m1 + (1 - 0.85) * g;
  const vv = b2 * v1 + (1 - b2) * g * g;
  w -= 0.05 * (mm / (1 - 0.85 ** 2)) / (Math.sqrt(vv / (1 - b2 ** 2)) + eps);
  assert.ok(Math.abs(weightOf(model) - w) < 1e-5, `w ${weightOf(model)} expected ${w}`);
  x.dispose();
  model.dispose();
});

Deno.test("step: a batch is { input, target }; other shapes are refused naming their fields", async () => {
  const a = scaleModel(0.5);
  const x = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);
  const y = tf.tensor4d([0, 1, 0, 1], [1, 2, 2, 1]);
  using ta = trainer({ model: a, loss: l1 });
  await assert.rejects(
    () =>
      ta.step({ lowRes: x, highRes: y } as unknown as { input: tf.Tensor4D; target: tf.Tensor4D }),
    (e: unknown) =>
      e instanceof TrainingDataError &&
      /must be \{ input, target \}.*lowRes, highRes/.test(e.message),
  );
  await assert.rejects(
    () => ta.step({ input: tf.zeros([2, 2, 1]) as unknown as tf.Tensor4D, target: y }),
    (e: unknown) => e instanceof TrainingDataError && /rank 4/.test(e.message),
  );
  const gone = tf.zeros([1, 2, 2, 1]) as tf.Tensor4D;
  gone.dispose();
  await assert.rejects(() => ta.step({ input: gone, target: y }), /already disposed/);
  tf.dispose([x, y]);
  a.dispose();
});

Deno.test("step: a NaN term stops training naming the step and the term; weights untouched, no leak", async () => {
  const model = tinyModel();
  let calls = 0;
  const flaky: LossFn = (pred, target) => {
    calls++;
    const pixel = tf.mean(tf.abs(tf.sub(pred, target))) as tf.Scalar;
    const feature = tf.mul(tf.mean(pred), calls === 3 ? Number.NaN : 0.1) as tf.Scalar;
    return {
      total: tf.add(pixel, feature) as tf.Scalar,
      terms: { pixel, "feature:block2_conv2": feature },
    };
  };
  using t = trainer({ model, loss: flaky });
  const x = tf.randomUniform([2, 8, 8, 3], 0, 1, "float32", 1) as tf.Tensor4D;
  await t.step({ input: x, target: x });
  await t.step({ input: x, target: x });
  const weightsBefore = model.weights.map((w) => Array.from(w.read().dataSync()));
  const count = tf.memory().numTensors;
  const err = await t.step({ input: x, target: x }).then(() => undefined, (e) => e);
  assert.ok(err instanceof NonFiniteStepError, String(err));
  assert.equal(err.step, 3);
  assert.deepEqual(err.terms, ["feature:block2_conv2"]);
  assert.match(err.message, /step 3: 'feature:block2_conv2'/);
  assert.doesNotMatch(err.message, /'pixel'/);
  assert.equal(tf.memory().numTensors, count, "the failed step left tensors behind");
  assert.deepEqual(model.weights.map((w) => Array.from(w.read().dataSync())), weightsBefore);
  assert.equal(t.state.step, 2);
  x.dispose();
  model.dispose();
});

Deno.test("step: a NaN gradient with a finite loss names the weight", async () => {
  const model = tinyModel();
  // sqrt'(0) is infinite: relu(pred − 1e9) is 0 everywhere, so the gradient is 0 · ∞ = NaN.
  const bad: LossFn = (pred, target) => {
    const pixel = tf.mean(tf.abs(tf.sub(pred, target))) as tf.Scalar;
    const root = tf.sqrt(tf.sum(tf.relu(tf.sub(pred, 1e9)))) as tf.Scalar;
    return { total: tf.add(pixel, root) as tf.Scalar, terms: { pixel, root } };
  };
  using t = trainer({ model, loss: bad });
  const x = tf.randomUniform([2, 8, 8, 3], 0, 1, "float32", 2) as tf.Tensor4D;
  const err = await t.step({ input: x, target: x }).then(() => undefined, (e) => e);
  assert.ok(err instanceof NonFiniteGradientError, String(err));
  assert.equal(err.step, 1);
  assert.match(err.message, new RegExp(`weight '${model.trainableWeights[0]!.name}'`));
  x.dispose();
  model.dispose();
});

Deno.test("step: leaks nothing (assertNoLeak), and nothing when the loss throws", async () => {
  const model = tinyModel();
  let explode = false;
  const loss: LossFn = (pred, target) => {
    const r = l1(pred, target);
    if (explode) throw new Error("boom");
    return r;
  };
  using t = trainer({ model, loss });
  const x = tf.randomUniform([2, 8, 8, 3], 0, 1, "float32", 3) as tf.Tensor4D;
  await assertNoLeak(() => t.step({ input: x, target: x }), { warmup: 1, label: "trainer.step" });
  explode = true;
  const count = tf.memory().numTensors;
  await assert.rejects(() => t.step({ input: x, target: x }), /boom/);
  // A shape error inside the gradient tape, too.
  explode = false;
  const wrong = tf.zeros([2, 4, 4, 3]) as tf.Tensor4D;
  await assert.rejects(
    () => t.step({ input: x, target: wrong }),
    /model output has shape \[2, 8, 8, 3\] but the target has \[2, 4, 4, 3\]/,
  );
  wrong.dispose();
  assert.equal(tf.memory().numTensors, count);
  x.dispose();
  model.dispose();
});

Deno.test("step: the leak check names the step and the count", async () => {
  const model = tinyModel();
  const cache: tf.Tensor[] = [];
  const leaky: LossFn = (pred, target) => {
    cache.push(tf.keep(tf.scalar(1))); // escapes every scope: one tensor per call
    return l1(pred, target);
  };
  using t = trainer({ model, loss: leaky });
  const x = tf.randomUniform([2, 8, 8, 3], 0, 1, "float32", 4) as tf.Tensor4D;
  await t.step({ input: x, target: x }); // step 1 may create long-lived tensors (Adam slots)
  const err = await t.step({ input: x, target: x }).then(() => undefined, (e) => e);
  assert.ok(err instanceof TensorLeakError, String(err));
  assert.equal(err.tensors, 1);
  assert.match(err.message, /^step 2 left 1 tensor/);
  tf.dispose(cache);
  x.dispose();
  model.dispose();
});

Deno.test("fit: 200 steps of a small model keep the tensor count flat after step 1", async () => {
  const model = tinyModel();
  using t = trainer({ model, loss: l1, seed: 5 });
  const made: tf.Tensor[] = [];
  const data: DataFactory = function* ({ seed, epoch, batch }) {
    for (let i = batch; i < 50; i++) {
      const input = tf.randomUniform(
        [2, 8, 8, 3],
        0,
        1,
        "float32",
        seed * 7919 + epoch * 101 + i,
      ) as tf.Tensor4D;
      const target = tf.reverse(input, 3) as tf.Tensor4D;
      made.push(input, target);
      yield { input, target };
    }
  };
  const counts: number[] = [];
  const before = tf.memory().numTensors;
  const result = await t.fit(data, {
    steps: 200,
    quiet: true,
    callbacks: [{ onStepEnd: () => void counts.push(tf.memory().numTensors) }],
  });
  assert.equal(result.step, 200);
  assert.equal(counts.length, 200);
  assert.ok(counts.every((c) => c === counts[0]), `tensor counts moved: ${[...new Set(counts)]}`);
  // Adam: two slots per trainable weight, nothing else survives; every batch was disposed.
  assert.equal(tf.memory().numTensors - before, 2 * model.trainableWeights.length);
  assert.ok(made.length === 400 && made.every((m) => m.isDisposed));
  model.dispose();
});

Deno.test("trainer: dispose releases the optimizer it made, not the model", async () => {
  const model = tinyModel();
  const base = tf.memory().numTensors;
  const x = tf.randomUniform([2, 8, 8, 3]) as tf.Tensor4D;
  {
    using t = trainer({ model, loss: l1 });
    await t.step({ input: x, target: x });
    assert.ok(tf.memory().numTensors > base + 1);
  }
  assert.equal(tf.memory().numTensors, base + 1);
  assert.ok(!model.weights[0]!.read().isDisposed);
  x.dispose();
  model.dispose();
});

Deno.test("step: a tensor the loss keeps for itself (a cached term) is never disposed", async () => {
  const model = tinyModel();
  const cachedZero = tf.scalar(0);
  const loss: LossFn = (pred, target) => {
    const r = l1(pred, target);
    return { total: r.total, terms: { ...r.terms, unused: cachedZero } };
  };
  using t = trainer({ model, loss });
  const x = tf.randomUniform([2, 8, 8, 3], 0, 1, "float32", 6) as tf.Tensor4D;
  for (let i = 0; i < 3; i++) assert.equal((await t.step({ input: x, target: x })).terms.unused, 0);
  assert.ok(!cachedZero.isDisposed);
  tf.dispose([x, cachedZero]);
  model.dispose();
});

Deno.test("step over bare variables (pixel optimisation): SGD by hand, projection, no leak", async () => {
  // L = mean((x - t)^2) over 4 pixels: dL/dx = (x - t) / 2. SGD lr 1 from x = [1, 2, 3, 4],
  // t = 0: x' = x - (x - t) / 2 = [0.5, 1, 1.5, 2]; the projection clips to [0, 1.2].
  const image = tf.variable(tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]), true, "pixels_step_test");
  const target = tf.zeros([1, 2, 2, 1]) as tf.Tensor4D;
  const l2: LossFn = (pred, t) => {
    const pixel = tf.mean(tf.square(tf.sub(pred, t))) as tf.Scalar;
    return { total: tf.clone(pixel), terms: { pixel } };
  };
  const optimizer = tf.train.sgd(1);
  using t = trainer({
    params: [image],
    forward: () => image as unknown as tf.Tensor4D,
    project: () => image.assign(tf.clipByValue(image, 0, 1.2)),
    loss: l2,
    optimizer,
    schedule: constant(1),
  });
  assert.equal(t.model, undefined);
  const m = await t.step({ input: target, target });
  assert.equal(m.total, (1 + 4 + 9 + 16) / 4);
  // |grad| = |x / 2| = sqrt(0.25 + 1 + 2.25 + 4)
  assert.ok(Math.abs(m.gradNorm - Math.sqrt(7.5)) < 1e-6, `${m.gradNorm}`);
  const got = Array.from(image.dataSync());
  [0.5, 1, 1.2, 1.2].forEach((v, i) => assert.ok(Math.abs(got[i]! - v) < 1e-6, `${got}`));
  await assertNoLeak(async () => {
    await t.step({ input: target, target });
  });
  const snap = await t.snapshot();
  assert.deepEqual(snap.model.map((a) => a.name), ["pixels_step_test"]);
  assert.throws(() => trainer({ params: [image], loss: l2 }), TypeError);
  tf.dispose([image, target]);
  optimizer.dispose();
});

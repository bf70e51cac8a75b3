// The weight average (EMA): hand-computed averages, the trainer's `average` option (what the
// model shows between steps, batch-norm statistics included), checkpoints and exact resume.
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import type * as tfl from "@tensorflow/tfjs-layers";
import { initBackend } from "../src/backend/mod.ts";
import type { LossFn } from "../src/loss/loss_result.ts";
import {
  averageRate,
  CheckpointMismatchError,
  constant,
  type DataFactory,
  trainer,
  weightAverage,
} from "../src/train/mod.ts";
import { convBnConv } from "./_conv_bn_conv.ts";
import { tempDir } from "./_runs.ts";

await initBackend("cpu");

const values = (t: tf.Tensor) => Array.from(t.dataSync());

function near(actual: number[], expected: number[], tol = 1e-6): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((a, i) => {
    assert.ok(Math.abs(a - expected[i]!) <= tol, `[${i}]: ${a} vs ${expected[i]} (±${tol})`);
  });
}

Deno.test("weightAverage: three updates equal Σ d^(t−i)·w_i / Σ d^(t−i), by hand", () => {
  const before = tf.memory().numTensors;
  const d = 0.9;
  const ws = [[1, -2], [4, 0], [-3, 10]].map((v) => tf.tensor1d(v));
  {
    using avg = weightAverage({ decay: d });
    assert.equal(avg.values.length, 0);
    avg.update([ws[0]!]);
    assert.deepEqual(values(avg.values[0]!), [1, -2]); // the first weights, not the start
    avg.update([ws[1]!]);
    // (0.9·1 + 4) / 1.9 = 2.578947…, (0.9·−2 + 0) / 1.9 = −0.947368…
    near(values(avg.values[0]!), [4.9 / 1.9, -1.8 / 1.9]);
    avg.update([ws[2]!]);
    // (0.81·w1 + 0.9·w2 + w3) / 2.71
    near(values(avg.values[0]!), [(0.81 + 3.6 - 3) / 2.71, (-1.62 + 0 + 10) / 2.71]);
    assert.equal(avg.count, 3);
  }
  tf.dispose(ws);
  assert.equal(tf.memory().numTensors, before, "weightAverage leaked tensors");
});

Deno.test("averageRate: 1 first, then (1 − d)/(1 − d^t), tending to 1 − d", () => {
  assert.equal(averageRate(0.99, 1), 1);
  assert.ok(Math.abs(averageRate(0.99, 2) - 1 / 1.99) < 1e-15); // (1 − d)/(1 − d²) = 1/(1 + d)
  assert.ok(Math.abs(averageRate(0.99, 5000) - 0.01) < 1e-12);
});

Deno.test("weightAverage: refuses a bad decay, other shapes, use after dispose", () => {
  for (const decay of [0, 1, -0.5, Number.NaN]) {
    assert.throws(() => weightAverage({ decay }), /decay must be a number in \(0, 1\)/);
  }
  const a = tf.zeros([2]), b = tf.zeros([3]);
  const avg = weightAverage({ decay: 0.5 });
  avg.update([a]);
  assert.throws(() => avg.update([b]), /weight 0 has shape \[3\], not \[2\]/);
  assert.throws(() => avg.update([a, a]), /2 weights for an average of 1/);
  avg.dispose();
  assert.throws(() => avg.update([a]), /weightAverage/);
  tf.dispose([a, b]);
});

/**
 * Adam on |w − 1| with lr 0.25 from w = 0: the gradient is −1 every step, so Adam moves by
 * 0.25/(1 + 1e-7) each time: w_t = 0.25·t while below 1 (to float32 rounding: 1e-5).
 */
function toOne(decay: number | undefined) {
  const w = tf.tidy(() => tf.variable(tf.zeros([1]), true, "w"));
  const loss: LossFn = (p, y) => {
    const pixel = tf.mean(tf.abs(tf.sub(p, y))) as tf.Scalar;
    return { total: tf.clone(pixel), terms: { pixel } };
  };
  const t = trainer({
    params: [w],
    forward: () => tf.reshape(w, [1, 1, 1, 1]),
    loss,
    schedule: constant(0.25),
    ...(decay === undefined ? {} : { average: { decay } }),
  });
  return { w, t };
}

const oneBatch = () => ({
  input: tf.zeros([1, 1, 1, 1]) as tf.Tensor4D,
  target: tf.ones([1, 1, 1, 1]) as tf.Tensor4D,
});

Deno.test("trainer average: the model shows the average between steps and trains the weights", async () => {
  const before = tf.memory().numTensors;
  const { w, t } = toOne(0.5);
  const b = oneBatch();
  await t.step(b);
  near(values(w), [0.25], 1e-5); // a₁ = w₁
  await t.step(b);
  near(values(w), [(0.5 * 0.25 + 0.5) / 1.5], 1e-5); // shows a₂, trained weights are 0.5
  const snap = await t.snapshot();
  near(Array.from(snap.model[0]!.data), [0.5], 1e-5); // checkpoints keep the trained weights
  near(values(w), [(0.5 * 0.25 + 0.5) / 1.5], 1e-5); // … and the model still shows the average
  await t.step(b); // continues from 0.5, not from the average: w₃ = 0.75
  near(values(w), [(0.25 * 0.25 + 0.5 * 0.5 + 0.75) / 1.75], 1e-5);
  t.dispose();
  near(values(w), [(0.25 * 0.25 + 0.5 * 0.5 + 0.75) / 1.75], 1e-5); // kept after dispose
  tf.dispose([b.input, b.target, w]);
  assert.equal(tf.memory().numTensors, before, "the average leaked tensors");
});

/** conv → batch norm → conv on 8×8 RGB with seeded weights. */
function buildModel(): tfl.LayersModel {
  return convBnConv(4, (shape, i) => tf.randomUniform(shape, -0.5, 0.5, "float32", 2000 + i));
}

const l1: LossFn = (pred, target) => {
  const pixel = tf.mean(tf.abs(tf.sub(pred, target))) as tf.Scalar;
  return { total: tf.clone(pixel), terms: { pixel } };
};

const data: DataFactory = function* ({ seed, epoch, batch }) {
  for (let i = batch; i < 3; i++) {
    const input = tf.randomUniform([2, 8, 8, 3], 0, 1, "float32", seed * 7 + epoch * 31 + i);
    yield { input: input as tf.Tensor4D, target: tf.reverse(input, 3) as tf.Tensor4D };
  }
};

async function weightsOf(model: tfl.LayersModel): Promise<number[][]> {
  return await Promise.all(model.weights.map(async (w) => Array.from(await w.read().data())));
}

Deno.test("trainer average: every weight (batch-norm statistics too) is the hand-made EMA of the trained ones", async () => {
  const decay = 0.8;
  const model = buildModel();
  const trained: number[][][] = [];
  using t = trainer({ model, loss: l1, schedule: constant(0.01), average: { decay } });
  const snapshots = {
    onStepEnd: async () => {
      trained.push((await t.snapshot()).model.map((a) => Array.from(a.data)));
    },
  };
  await t.fit(data, { steps: 4, quiet: true, callbacks: [snapshots] });
  // The EMA of the four trained states, computed here in float64.
  const expected = trained[0]!.map((_, k) =>
    trained[0]![k]!.map((_, j) => {
      const num = trained.reduce((a, s, i) => a + decay ** (3 - i) * s[k]![j]!, 0);
      return num / trained.reduce((a, _s, i) => a + decay ** (3 - i), 0);
    })
  );
  const shown = await weightsOf(model);
  const names = model.weights.map((w) => w.name);
  assert.ok(names.some((n) => n.includes("moving_mean")), "the model has batch-norm statistics");
  shown.forEach((w, k) => near(w, expected[k]!, 1e-6));
  // The moving mean changed during training, so averaging it is not trivially the last value.
  const mm = names.findIndex((n) => n.includes("moving_mean"));
  assert.notDeepEqual(trained[3]![mm], trained[0]![mm]);
  model.dispose();
});

Deno.test("trainer average: resume from a checkpoint continues the average exactly", async () => {
  await using dir = await tempDir("weight_average_test_");
  const run = (steps: number, runDir: string, resume: boolean) => async () => {
    const model = buildModel();
    {
      using t = trainer({ model, loss: l1, schedule: constant(0.01), average: { decay: 0.7 } });
      await t.fit(data, { steps, runDir, resume, quiet: true, report: false });
    }
    const w = await weightsOf(model);
    model.dispose();
    return w;
  };
  const straight = await run(5, `${dir.path}/a`, false)();
  await run(2, `${dir.path}/b`, false)();
  const before = tf.memory().numTensors;
  const resumed = await run(5, `${dir.path}/b`, true)();
  assert.equal(tf.memory().numTensors, before, "resume with an average leaked tensors");
  assert.deepEqual(resumed, straight); // bit for bit
  // The average went to the checkpoint next to the optimizer's weights.
  const ckpt = JSON.parse(
    await Deno.readTextFile(`${dir.path}/b/checkpoints/step-00000005/state.json`),
  );
  const names = ckpt.optimizerWeights.map((s: { name: string }) => s.name);
  assert.ok(names.includes("average/count"), names.join(", "));
});

Deno.test("trainer average: a checkpoint made without it is refused, saying how to go on", async () => {
  await using dir = await tempDir("weight_average_test_");
  const model = buildModel();
  {
    using t = trainer({ model, loss: l1, schedule: constant(0.01) });
    await t.fit(data, { steps: 2, runDir: dir.path, quiet: true, report: false });
  }
  using t = trainer({ model, loss: l1, schedule: constant(0.01), average: { decay: 0.9 } });
  await assert.rejects(
    t.fit(data, { steps: 3, runDir: dir.path, resume: true, quiet: true, report: false }),
    (e: unknown) =>
      e instanceof CheckpointMismatchError && /holds no weight average/.test(e.message) &&
      /without `average`/.test(e.message),
  );
  // And without `average`, a checkpoint made with one resumes (its average is not used).
  model.dispose();
});

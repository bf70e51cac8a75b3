/**
 * The native backend's fused Adam (src/backend/native/_adam.ts) against tfjs's stock Adam on the
 * cpu backend: bit-identical weights and slots over several steps with a cycled β1 (the
 * trainer's one-cycle momentum), bias correction, a null gradient, and a checkpoint round trip of
 * the optimizer state in between; no tensor or byte left behind; and the cases it declines.
 * Skipped, saying why, without libdnnl.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import type * as tfl from "@tensorflow/tfjs-layers";
import { initBackend } from "../src/backend/mod.ts";
import { nativeProfile, setNativeProfiling } from "../src/backend/native/mod.ts";
import type { LossFn } from "../src/loss/loss_result.ts";
import {
  type Callback,
  type DataFactory,
  type FitOptions,
  oneCycle,
  trainer,
} from "../src/train/mod.ts";
import { nativeAdamApply } from "../src/backend/native/_adam.ts";
import { MIN_PARALLEL } from "../src/backend/native/_binary.ts";
import {
  readOptimizerWeights,
  setHyperparameters,
  writeOptimizerWeights,
} from "../src/train/_optimizer_state.ts";
import type { NamedArray } from "../src/train/checkpoint.ts";
import { mulberry32 } from "../src/data/rng.ts";
import { skipWithoutNative } from "./_native.ts";
import { convBnConv } from "./_conv_bn_conv.ts";

const ignore = skipWithoutNative("native_adam_test");

function values(n: number, seed: number, scale: number): Float32Array {
  const r = mulberry32(seed).next;
  // Mixed magnitudes, so the square and the ε in the denominator both matter somewhere.
  return Float32Array.from({ length: n }, (_, i) => (r() - 0.5) * scale * (i % 7 === 0 ? 1e-4 : 1));
}

/** Weight shapes: a scalar-like bias, a conv kernel, and one long enough for the threaded path. */
const SHAPES: number[][] = [[1], [5], [3, 3, 4, 8], [MIN_PARALLEL + 3]];
const STEPS = 6;
/** The step after which the optimizer state goes through a checkpoint and a fresh optimizer. */
const RESUME_AFTER = 3;
/** β1 per step, as the one-cycle schedule cycles it. */
const MOMENTUM = [0.95, 0.93, 0.9, 0.87, 0.85, 0.88];

interface Outcome {
  readonly weights: Float32Array[];
  readonly slots: NamedArray[];
  readonly fused: boolean[];
}

/** Train the SHAPES weights for STEPS steps on the active backend (`fused`: via nativeAdamApply). */
async function train(fused: boolean): Promise<Outcome> {
  const vars = SHAPES.map((s, i) =>
    tf.tidy(() =>
      tf.variable(tf.tensor(values(tf.util.sizeFromShape(s), 10 + i, 2), s), true, `adam_w${i}`)
    )
  );
  const used: boolean[] = [];
  const make = () => tf.train.adam(1e-2, 0.95, 0.99, 1e-7);
  let optimizer = make();
  try {
    for (let step = 0; step < STEPS; step++) {
      setHyperparameters(optimizer, 1e-2 * (1 + step) / STEPS, MOMENTUM[step]);
      const grads: tf.NamedTensorMap = {};
      vars.forEach((v, i) => {
        // Weight 1 gets no gradient on step 2 (tfjs skips it, keeping its slots).
        grads[v.name] = step === 2 && i === 1
          ? (null as unknown as tf.Tensor)
          : tf.tensor(values(v.size, 100 * step + i, step === 0 ? 3 : 0.5), v.shape);
      });
      const byNative = fused && nativeAdamApply(optimizer, grads);
      if (!byNative) optimizer.applyGradients(grads as Record<string, tf.Variable>);
      used.push(byNative);
      tf.dispose(Object.values(grads).filter((g) => g !== null));
      if (step + 1 === RESUME_AFTER) {
        // What the trainer's checkpoint does: read the state out, restore into a fresh optimizer.
        const saved = await readOptimizerWeights(optimizer);
        optimizer.dispose();
        optimizer = make();
        const trainable = vars.map((v) => ({ name: v.name, shape: v.shape }));
        await writeOptimizerWeights(optimizer, "Adam", saved, trainable, "test");
      }
    }
    return {
      weights: vars.map((v) => v.dataSync().slice() as Float32Array),
      slots: await readOptimizerWeights(optimizer),
      fused: used,
    };
  } finally {
    optimizer.dispose();
    tf.dispose(vars);
  }
}

/** Equal bit for bit (−0 ≠ +0), naming the first differing element. */
function sameBits(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(got[i], want[i])) assert.fail(`${what}[${i}]: ${got[i]} vs cpu ${want[i]}`);
  }
}

Deno.test({
  name: "native Adam equals stock Adam on cpu bit for bit (cycled β1, null gradient, resume)",
  ignore,
  async fn() {
    await initBackend("cpu");
    const want = await train(false);
    await initBackend("native");
    const got = await train(true);
    assert.deepEqual(got.fused, Array(STEPS).fill(true), "every step took the native path");
    got.weights.forEach((w, i) => sameBits(w, want.weights[i]!, `weight [${SHAPES[i]}]`));
    assert.deepEqual(got.slots.map((s) => s.name), want.slots.map((s) => s.name));
    got.slots.forEach((s, i) => {
      assert.deepEqual(s.shape, want.slots[i]!.shape, `slot ${s.name}: shape`);
      sameBits(s.data, want.slots[i]!.data, `slot ${s.name}`);
    });
    assert.equal(got.slots[0]!.data[0], STEPS, "iteration count");
  },
});

Deno.test({
  name: "native Adam leaves no tensor or byte behind; the first step adds tfjs's two slots",
  ignore,
  async fn() {
    await initBackend("native");
    const start = tf.memory().numTensors;
    const vars = SHAPES.map((s, i) =>
      tf.tidy(() => tf.variable(tf.zeros(s), true, `adam_leak${i}`))
    );
    const optimizer = tf.train.adam(1e-3);
    const grads = () => {
      const g: tf.NamedTensorMap = {};
      for (const v of vars) g[v.name] = tf.onesLike(v);
      return g;
    };
    const stepOnce = () => {
      const g = grads();
      assert.ok(nativeAdamApply(optimizer, g));
      tf.dispose(Object.values(g));
    };
    const m0 = tf.memory();
    stepOnce();
    const m1 = tf.memory();
    assert.equal(m1.numTensors - m0.numTensors, 2 * vars.length, "two slots per weight");
    for (let i = 0; i < 3; i++) stepOnce();
    const m2 = tf.memory();
    assert.equal(m2.numTensors, m1.numTensors, "tensors after later steps");
    assert.equal(m2.numBytes, m1.numBytes, "bytes after later steps");
    optimizer.dispose();
    tf.dispose(vars);
    assert.equal(tf.memory().numTensors, start, "all released");
  },
});

Deno.test({
  name: "native Adam declines (changing nothing) off native, for other optimizers and dtypes",
  ignore,
  async fn() {
    await initBackend("native");
    const w = tf.variable(tf.ones([4]), true, "adam_decline");
    const sgd = tf.train.sgd(0.1);
    const adam = tf.train.adam(0.1);
    const before = tf.memory().numTensors;
    const cases: [tf.Optimizer, tf.NamedTensorMap][] = [
      [sgd, { [w.name]: tf.onesLike(w) }],
      [adam, { [w.name]: tf.ones([4], "int32") }],
      [adam, { [w.name]: tf.ones([2, 2]) }],
      [adam, { no_such_weight: tf.ones([4]) }],
    ];
    for (const [optimizer, grads] of cases) {
      assert.equal(nativeAdamApply(optimizer, grads), false, Object.keys(grads)[0]);
      tf.dispose(Object.values(grads));
    }
    assert.equal(tf.memory().numTensors, before, "no slots made");
    assert.equal(adam.iterations, 0);
    assert.deepEqual(Array.from(w.dataSync()), [1, 1, 1, 1]);
    await initBackend("cpu");
    const v = tf.variable(tf.ones([4]), true, "adam_decline_cpu");
    const g = tf.onesLike(v);
    assert.equal(nativeAdamApply(adam, { [v.name]: g }), false, "cpu backend");
    assert.equal(adam.iterations, 0);
    tf.dispose([v, g]);
    await initBackend("native");
    adam.dispose();
    sgd.dispose();
    w.dispose();
  },
});

/** conv → batch norm → conv on 8×8 RGB, the same trainable weights every time. */
function smallModel(): tfl.LayersModel {
  return convBnConv(
    8,
    (shape, i) => tf.tensor(values(tf.util.sizeFromShape(shape), 500 + i, 1), shape),
  );
}

const pixelLoss: LossFn = (pred, target) => {
  const pixel = tf.mean(tf.abs(tf.sub(pred, target))) as tf.Scalar;
  return { total: pixel, terms: { pixel } };
};

/** Four deterministic batches per epoch. */
const batches: DataFactory = function* ({ seed, epoch, batch }) {
  for (let i = batch; i < 4; i++) {
    const input = tf.tensor(values(2 * 8 * 8 * 3, seed * 1009 + epoch * 31 + i + 1, 1), [
      2,
      8,
      8,
      3,
    ]) as tf.Tensor4D;
    yield { input, target: tf.reverse(input, 3) as tf.Tensor4D };
  }
};

Deno.test({
  name: "trainer on native: Adam runs fused, and a resumed run equals the uninterrupted one",
  ignore,
  async fn() {
    await initBackend("native");
    const tmp = await Deno.makeTempDir({ prefix: "native_adam_test_" });
    try {
      const schedule = oneCycle({ lrMax: 1e-2 });
      const run = async (opts: Partial<FitOptions>, crashAt?: number) => {
        const losses = new Map<number, number>();
        const model = smallModel();
        using t = trainer({ model, loss: pixelLoss, schedule, seed: 3 });
        const onStepEnd: Callback["onStepEnd"] = (e) => {
          losses.set(e.metrics.step, e.metrics.total);
          if (e.metrics.step === crashAt) throw new Error("simulated crash");
        };
        try {
          await t.fit(batches, { steps: 8, quiet: true, callbacks: [{ onStepEnd }], ...opts });
        } catch (e) {
          if (crashAt === undefined) throw e;
        } finally {
          model.dispose();
        }
        return losses;
      };
      setNativeProfiling(true);
      const reference = await run({});
      const fusedCalls = nativeProfile().filter((e) => e.key.startsWith("adam x["));
      setNativeProfiling(false);
      assert.ok(fusedCalls.length > 0, "the trainer's step used the fused update");
      const runDir = `${tmp}/run`;
      await run({ runDir, checkpointEvery: 3 }, 5);
      const resumed = await run({ runDir, checkpointEvery: 3, resume: true });
      assert.deepEqual([...resumed.keys()], [4, 5, 6, 7, 8]);
      for (const [step, total] of resumed) {
        assert.equal(total, reference.get(step), `step ${step}: resumed vs uninterrupted`);
      }
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

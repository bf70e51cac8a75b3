// A diverging model is reported as such: when the prediction leaves the loss network's range or
// turns NaN, the trainer throws DivergenceError naming the step, the terms and the likely causes
// (learning rate, unbounded output), not the network's advice about users' images ("0–255
// images? declare inputRange"), whether or not the network checks its own inputs. Before, the
// step failed with `vgg16.extract: the input has values in [-0.508, 2.150] … declare inputRange`.
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { initBackend } from "../src/backend/mod.ts";
import { evaluate, feature, type LossFn, pixel, plus } from "../src/loss/mod.ts";
import { NetworkInputError } from "../src/network/mod.ts";
import {
  DivergenceError,
  NonFiniteStepError,
  trainer,
  TrainingDataError,
} from "../src/train/mod.ts";
import { vgg16 } from "../src/vgg/mod.ts";
import { pipe } from "fp-ts/lib/function.js";

await initBackend("cpu");

/** A 1×1 conv: output = input·kernel + bias, with the given initial kernel and bias. */
function linearModel(kernel: number[][], bias: number[]): tfl.LayersModel {
  const m = tfl.sequential({
    layers: [tfl.layers.conv2d({ filters: 3, kernelSize: 1, inputShape: [16, 16, 3] })],
  });
  m.setWeights([tf.tensor4d(kernel.flat(), [1, 1, 3, 3]), tf.tensor1d(bias)]);
  return m;
}

const IDENTITY = [[1, 0, 0], [0, 1, 0], [0, 0, 1]];
const ZEROS = [[0, 0, 0], [0, 0, 0], [0, 0, 0]];

function batch(): { input: tf.Tensor4D; target: tf.Tensor4D } {
  const input = tf.randomUniform([2, 16, 16, 3], 0, 1, "float32", 3) as tf.Tensor4D;
  return { input, target: tf.reverse(input, 3) as tf.Tensor4D };
}

function assertDivergence(e: unknown, step: number, terms: string[], found: RegExp): boolean {
  assert.ok(e instanceof DivergenceError, String(e));
  assert.equal(e.step, step);
  assert.deepEqual(e.terms, terms);
  assert.match(e.message, new RegExp(`^the model diverged at step ${step}: its output `));
  assert.match(e.message, found);
  assert.match(e.message, /learning rate is too high/);
  assert.match(e.message, /outputRange: \[0, 1\]/);
  assert.doesNotMatch(e.message, /declare inputRange|0–255 images|declare the range/);
  return true;
}

for (const checkRange of [true, false]) {
  const how = checkRange ? "the network's own check" : "the trainer's asynchronous check";
  Deno.test(`divergence (${how}): an output out of range names the step and the term`, async () => {
    using net = await vgg16({ weights: { random: 1 }, upTo: "block1_conv2", checkRange });
    const loss = evaluate(pipe(pixel(), plus(feature("block1_conv2"))), net);
    // Starts as the identity (in range); SGD at an absurd learning rate throws it out at step 2.
    const model = linearModel(IDENTITY, [0, 0, 0]);
    using t = trainer({ model, loss, optimizer: tf.train.sgd(1e6) });
    const b = batch();
    await t.step(b);
    const weights = model.getWeights().map((w) => Array.from(w.dataSync()));
    const before = tf.memory().numTensors;
    await assert.rejects(
      () => t.step(b),
      (e) => {
        assertDivergence(e, 2, ["feature:block1_conv2"], /far outside the range \[0,1\]/);
        // With the network's check on, it is what fired (synchronously, inside the loss).
        assert.equal((e as Error).cause instanceof NetworkInputError, checkRange);
        return true;
      },
    );
    assert.equal(tf.memory().numTensors, before, "nothing leaked on the error path");
    assert.equal(t.state.step, 1);
    assert.deepEqual(
      model.getWeights().map((w) => Array.from(w.dataSync())),
      weights,
      "the failing step did not update the weights",
    );
    tf.dispose(b);
    model.dispose();
  });

  Deno.test(`divergence (${how}): a NaN output is divergence too, not 'the input contains NaN'`, async () => {
    using net = await vgg16({ weights: { random: 1 }, upTo: "block1_conv2", checkRange });
    const loss = evaluate(pipe(pixel(), plus(feature("block1_conv2"))), net);
    const model = linearModel(ZEROS, [Number.NaN, 0, 0]);
    using t = trainer({ model, loss });
    const b = batch();
    const before = tf.memory().numTensors;
    await assert.rejects(
      () => t.step(b),
      (e) => assertDivergence(e, 1, ["feature:block1_conv2"], /holds NaN or infinite values/),
    );
    assert.equal(tf.memory().numTensors, before, "nothing leaked on the error path");
    tf.dispose(b);
    model.dispose();
  });

  Deno.test(`divergence (${how}): NaN in the batch is the data's fault, not divergence`, async () => {
    using net = await vgg16({ weights: { random: 1 }, upTo: "block1_conv2", checkRange });
    const loss = evaluate(pipe(pixel(), plus(feature("block1_conv2"))), net);
    const model = linearModel(IDENTITY, [0, 0, 0]);
    using t = trainer({ model, loss });
    const b = batch();
    const nan = tf.tensor4d([Number.NaN], [1, 1, 1, 1]);
    const poisoned = tf.add(
      b.input,
      tf.pad(nan, [[0, 1], [3, 12], [5, 10], [1, 1]]),
    ) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    await assert.rejects(
      () => t.step({ input: poisoned, target: b.target }),
      (e) =>
        e instanceof TrainingDataError && !(e instanceof DivergenceError) &&
        /the batch of step 1 holds NaN or infinite values in its input/.test(e.message),
    );
    assert.equal(tf.memory().numTensors, before, "nothing leaked on the error path");
    tf.dispose([b, nan, poisoned]);
    model.dispose();
  });
}

Deno.test("divergence: an output in range passes; a NaN output with a loss of one's own names every term", async () => {
  using net = await vgg16({ weights: { random: 1 }, upTo: "block1_conv2" });
  const loss = evaluate(feature("block1_conv2"), net);
  // Within half the range's width of [0, 1]: allowed (the networks' own tolerance).
  const slightlyOut = linearModel(ZEROS, [1.4, -0.4, 0.5]);
  using t1 = trainer({ model: slightlyOut, loss, optimizer: tf.train.sgd(0) });
  const b = batch();
  assert.equal((await t1.step(b)).step, 1);

  const mine: LossFn = (pred, target) => {
    const px = tf.mean(tf.abs(tf.sub(pred, target))) as tf.Scalar;
    return { total: tf.clone(px), terms: { pixel: px } };
  };
  const nan = linearModel(ZEROS, [0, Number.POSITIVE_INFINITY, 0]);
  using t2 = trainer({ model: nan, loss: mine });
  await assert.rejects(
    () => t2.step(b),
    (e) => assertDivergence(e, 1, ["pixel"], /holds NaN or infinite values/),
  );
  // A NaN loss from finite predictions is still the loss's error.
  const model = linearModel(IDENTITY, [0, 0, 0]);
  using t3 = trainer({
    model,
    loss: (p, y) => {
      const px = tf.mul(tf.mean(tf.abs(tf.sub(p, y))), Number.NaN) as tf.Scalar;
      return { total: tf.clone(px), terms: { pixel: px } };
    },
  });
  await assert.rejects(() => t3.step(b), NonFiniteStepError);
  tf.dispose(b);
  [slightlyOut, nan, model].forEach((m) => m.dispose());
});

Deno.test("divergence: outside training, evaluate keeps the network's advice about the images", async () => {
  using net = await vgg16({ weights: { random: 1 }, upTo: "block1_conv2", checkRange: true });
  const loss = evaluate(feature("block1_conv2"), net);
  const images = tf.fill([1, 16, 16, 3], 200) as tf.Tensor4D;
  assert.throws(
    () => loss(images, images),
    (e) => e instanceof NetworkInputError && /declare inputRange "\[0,255\]"/.test(e.message),
  );
  assert.equal(loss.network?.range, "[0,1]");
  assert.deepEqual(loss.network?.terms, ["feature:block1_conv2"]);
  images.dispose();
});

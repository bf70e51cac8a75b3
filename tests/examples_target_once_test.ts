/**
 * targetOnce (src/experiment/target_once.ts): the feature column's target computed once per truth image gives
 * the same distances as evaluating each pair in full, runs the loss network once per target, and
 * frees what it keeps.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../src/backend/mod.ts";
import { evaluate, feature } from "../src/loss/mod.ts";
import { vgg16 } from "../src/vgg/mod.ts";
import { targetOnce } from "../src/experiment/mod.ts";

Deno.test("targetOnce: same distances as evaluate, one target pass per image, nothing leaked", async () => {
  await initBackend("cpu");
  using net = await vgg16({ weights: { random: 0 }, upTo: "relu2_2" });
  const loss = feature("relu1_2", { distance: "l1" });
  const plain = evaluate(loss, net);
  const before = tf.memory().numTensors;
  let passes = 0;
  // The same network, counting its passes (a Proxy: its methods keep their own `this`).
  const counted = new Proxy(net, {
    get(target, key) {
      if (key === "extract") {
        return (x: tf.Tensor4D, l: readonly string[]) => {
          passes++;
          return target.extract(x, l as never);
        };
      }
      const v = Reflect.get(target, key);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
  {
    using once = targetOnce(loss, counted);
    for (const seed of [1, 2]) {
      const truth = tf.randomUniform([1, 20, 12, 3], 0, 1, "float32", seed) as tf.Tensor4D;
      const a = tf.randomUniform([1, 20, 12, 3], 0, 1, "float32", seed + 10) as tf.Tensor4D;
      const b = tf.randomUniform([1, 20, 12, 3], 0, 1, "float32", seed + 20) as tf.Tensor4D;
      const p0 = passes;
      once.prepare(truth);
      once.prepare(truth); // the same tensor: kept, not recomputed
      for (const x of [a, b]) {
        const got = tf.tidy(() => once(x, truth).total.dataSync()[0]!);
        const want = tf.tidy(() => plain(x, truth).total.dataSync()[0]!);
        assert.ok(Math.abs(got - want) <= 1e-6 * Math.abs(want), `${got} vs ${want}`);
      }
      // One pass for the truth, one per prediction: 3, where evaluating each pair takes 4.
      assert.equal(passes - p0, 3);
      // Another target than the prepared one: evaluated in full, still right.
      const other = tf.tidy(() => once(a, b).total.dataSync()[0]!);
      assert.equal(other, tf.tidy(() => plain(a, b).total.dataSync()[0]!));
      tf.dispose([truth, a, b]);
    }
  }
  assert.equal(tf.memory().numTensors, before, "targetOnce leaked tensors");
});

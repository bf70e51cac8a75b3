/**
 * Wrong-typed arguments (issue 17, item 8): a typed array where a tensor belongs, a number
 * where a layer name belongs. The error says what was given in a few words and the fix; it
 * never dumps the data or fails inside a helper (`word.toLowerCase is not a function`).
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../src/backend/mod.ts";
import {
  evaluate,
  feature,
  InvalidTermOptionError,
  LossInputError,
  pixel,
} from "../src/loss/mod.ts";
import { vgg16, vgg19 } from "../src/vgg/mod.ts";

await initBackend("cpu");

Deno.test("a Float32Array passed as pred or target: a short LossInputError with the fix", async () => {
  using net = await vgg16({ weights: { random: 0 }, upTo: "block1_conv2" });
  const f = evaluate(pixel(), net);
  const target = tf.zeros([3, 8, 8, 3]) as tf.Tensor4D;
  const before = tf.memory().numTensors;
  for (
    const [pred, tgt, who] of [
      [new Float32Array(3 * 8 * 8 * 3), target, "pred"],
      [target, new Float32Array(100_000), "target"],
    ] as const
  ) {
    assert.throws(
      () => f(pred as unknown as tf.Tensor4D, tgt as unknown as tf.Tensor4D),
      (e: Error) => {
        assert.ok(e instanceof LossInputError);
        assert.ok(e.message.length < 200, `message of ${e.message.length} characters`);
        assert.match(
          e.message,
          new RegExp(
            `^${who} must be a tf.Tensor4D \\(NHWC\\), got a Float32Array of \\d+ values; make it one with tf.tensor4d\\(data, \\[batch, height, width, channels\\]\\)$`,
          ),
        );
        return true;
      },
    );
  }
  assert.equal(tf.memory().numTensors, before);
  target.dispose();
});

Deno.test("upTo: 42 is a TypeError naming upTo, not 'word.toLowerCase is not a function'", async () => {
  for (const build of [vgg16, vgg19] as const) {
    await assert.rejects(
      build({ weights: { random: 0 }, upTo: 42 as never }),
      (e: Error) =>
        e instanceof TypeError &&
        /^vgg1[69]: upTo must be a layer name such as "block2_conv2" or "relu2_2", got 42$/.test(
          e.message,
        ),
    );
  }
});

Deno.test("a layer that is not a string, a weights value that is an array: short messages", async () => {
  assert.throws(
    () => feature(new Float32Array(1_000_000) as never),
    /^TypeError: feature: the layer must be a non-empty layer name, got a Float32Array of 1000000 values$/,
  );
  await assert.rejects(
    vgg16({ weights: new Float32Array(1_000_000) as never }),
    (e: Error) =>
      e instanceof TypeError && e.message.length < 200 &&
      /got a Float32Array of 1000000 values$/.test(e.message),
  );
});

Deno.test("term options: a cyclic name or a huge array is a short InvalidTermOptionError", () => {
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.throws(
    () => pixel({ name: cyclic as never }),
    (e: Error) =>
      e instanceof InvalidTermOptionError && /name an object is not allowed/.test(e.message),
  );
  assert.throws(
    () => pixel({ delta: new Float32Array(1_000_000) as never }),
    (e: Error) => e instanceof InvalidTermOptionError && e.message.length < 300,
  );
  assert.throws(() => pixel({ delta: NaN }), /delta NaN is not allowed/);
});

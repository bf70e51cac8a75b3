// Empty batches and zero-sized images are refused with EmptyInputError (a PerceptualError) at
// every public entry, before anything is computed, and nothing is leaked on the way out. Before,
// `evaluate` on a [0,32,32,3] batch returned 0 on cpu (1.8e-40 on wasm) and `calibrate` scales
// of 3.6e-41.
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { initBackend } from "../src/backend/mod.ts";
import { cropPixels, imagePairs, type Pixels, srPairs, stackPixels } from "../src/data/mod.ts";
import { EmptyInputError, PerceptualError } from "../mod.ts";
import { calibrate, evaluate, feature, featureScales, pixel, plus } from "../src/loss/mod.ts";
import { trainer } from "../src/train/mod.ts";
import { vgg16 } from "../src/vgg/mod.ts";
import { pipe } from "fp-ts/lib/function.js";

await initBackend("cpu");

function isEmptyError(where: RegExp): (e: unknown) => boolean {
  return (e) => {
    assert.ok(e instanceof EmptyInputError, `${e}`);
    assert.ok(e instanceof PerceptualError);
    assert.match(e.message, where);
    assert.match(e.message, /is empty \(shape \[/);
    return true;
  };
}

/** `fn` throws EmptyInputError (sync or async) and leaves no tensor behind. */
async function refuses(fn: () => unknown, where: RegExp): Promise<void> {
  const before = tf.memory().numTensors;
  await assert.rejects(async () => await fn(), isEmptyError(where));
  assert.equal(tf.memory().numTensors, before, `leaked on the error path of ${where}`);
}

const EMPTY_SHAPES: [number, number, number, number][] = [[0, 32, 32, 3], [2, 0, 32, 3], [
  2,
  32,
  0,
  3,
]];

Deno.test("empty: evaluate, calibrate, featureScales and extract refuse empty batches", async () => {
  using net = await vgg16({ weights: { random: 1 }, upTo: "block2_conv2" });
  const loss = pipe(pixel(), plus(feature("block2_conv2")));
  const lossFn = evaluate(loss, net);
  const full = tf.zeros([1, 32, 32, 3]) as tf.Tensor4D;
  for (const shape of EMPTY_SHAPES) {
    const empty = tf.zeros(shape) as tf.Tensor4D;
    await refuses(() => lossFn(empty, empty), /^pred is empty/);
    const emptyTarget = tf.zeros([1, 32, 0, 3]) as tf.Tensor4D;
    await refuses(() => lossFn(full, emptyTarget), /^target is empty/);
    emptyTarget.dispose();
    await refuses(() => calibrate(loss, net, empty), /^featureScales: the calibration images/);
    await refuses(
      () => featureScales(net, ["block1_conv2"], empty),
      /^featureScales: the calibration images/,
    );
    await refuses(() => net.extract(empty, ["block1_conv2"]), /extract: the input is empty/);
    empty.dispose();
  }
  full.dispose();
});

Deno.test("empty: trainer.step and fit refuse an empty batch without stepping", async () => {
  const model = tfl.sequential({
    layers: [
      tfl.layers.conv2d({ filters: 3, kernelSize: 3, padding: "same", inputShape: [8, 8, 3] }),
    ],
  });
  using t = trainer({
    model,
    loss: (p, y) => {
      const px = tf.mean(tf.abs(tf.sub(p, y))) as tf.Scalar;
      return { total: tf.clone(px), terms: { pixel: px } };
    },
  });
  const empty = tf.zeros([0, 8, 8, 3]) as tf.Tensor4D;
  await refuses(() => t.step({ input: empty, target: empty }), /^batch: 'input' is empty/);
  await refuses(
    () =>
      t.fit([{ input: tf.zeros([0, 8, 8, 3]), target: tf.zeros([0, 8, 8, 3]) }], {
        steps: 1,
        quiet: true,
      }),
    /^batch 0 of epoch 0: 'input' is empty/,
  );
  assert.equal(t.state.step, 0);
  empty.dispose();
  model.dispose();
});

Deno.test("empty: the data pipeline refuses zero-sized images and empty image lists", async () => {
  const blank = (h: number, w: number): Pixels => ({
    height: h,
    width: w,
    channels: 3,
    data: new Float32Array(h * w * 3),
  });
  const first = async (s: AsyncIterable<unknown>) => {
    for await (const b of s) {
      tf.dispose(b as tf.TensorContainer);
      break;
    }
  };
  await refuses(
    () => first(srPairs({ images: [blank(0, 8)], scale: 2, crop: 4, batchSize: 1, seed: 1 })),
    /^srPairs: images\[0\] is empty/,
  );
  await refuses(
    () => first(srPairs({ images: [], scale: 2, crop: 4, batchSize: 1, seed: 1 })),
    /^srPairs: images is empty \(shape \[0\]: no images\)/,
  );
  await refuses(
    () =>
      first(imagePairs({
        images: [blank(8, 0)],
        crop: 4,
        batchSize: 1,
        seed: 1,
        degrade: (p) => p,
      })),
    /^imagePairs: images\[0\] is empty/,
  );
  await refuses(() => stackPixels([]), /^stackPixels: the list of images is empty/);
  await refuses(() => cropPixels(blank(8, 8), 0, 0, 0, 4), /^cropPixels: the window is empty/);
  await refuses(() => cropPixels(blank(0, 8), 0, 0, 1, 1), /^cropPixels: the image is empty/);
});

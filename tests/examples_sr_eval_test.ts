// The superres example's evaluation of --eval folders: a grey image is kept with one channel and
// scored on its own values (the MATLAB protocol of published SR tables), the model still sees RGB.
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { initBackend } from "../src/backend/mod.ts";
import { saveImage } from "../src/data/mod.ts";
import { psnr } from "../src/metrics/mod.ts";
import { greyOf, loadEvalPairs, predictSr } from "../examples/common/sr_eval.ts";

await initBackend("cpu");

/** ×2 nearest upsampling, then a 1×1 conv that outputs the constant colour `rgb` everywhere. */
function constantModel(rgb: readonly [number, number, number]): tfl.LayersModel {
  const model = tfl.sequential({
    layers: [
      tfl.layers.upSampling2d({ size: [2, 2], inputShape: [null, null, 3] }),
      tfl.layers.conv2d({ filters: 3, kernelSize: 1 }),
    ],
  });
  const [kernel] = model.getWeights();
  const values = [tf.zerosLike(kernel!), tf.tensor1d([...rgb])];
  model.setWeights(values);
  tf.dispose([...values]);
  return model;
}

Deno.test("greyOf: grey only when R = G = B everywhere; channel 0 taken exactly", () => {
  const grey = {
    height: 1,
    width: 2,
    channels: 3,
    data: new Float32Array([0.3, 0.3, 0.3, 1, 1, 1]),
  };
  assert.deepEqual([...greyOf(grey)!.data], [0.3, 1].map(Math.fround));
  const colour = { ...grey, data: new Float32Array([0.3, 0.3, 0.3, 1, 1, 0.99]) };
  assert.equal(greyOf(colour), undefined);
});

Deno.test("a grey --eval image: 1 channel, RGB to the model, scored on its own values (hand-computed)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sr_eval_grey_" });
  const before = tf.memory().numTensors;
  try {
    // A grey file (stored with one channel) of value 128/255, and a colour one.
    const g = tf.fill([8, 8, 1], 128 / 255) as tf.Tensor3D;
    await saveImage(`${dir}/g_HR.png`, g);
    const c = tf.tidy(() => tf.concat([tf.fill([8, 8, 2], 0.25), tf.fill([8, 8, 1], 0.75)], 2));
    await saveImage(`${dir}/c_HR.png`, c as tf.Tensor3D);
    tf.dispose([g, c]);

    const pairs = await loadEvalPairs(dir, 2);
    const byName = Object.fromEntries(pairs.map((p) => [p.name, p]));
    assert.deepEqual(byName.g!.highRes.shape, [8, 8, 1]);
    assert.deepEqual(byName.g!.lowRes.shape, [4, 4, 1]);
    assert.deepEqual(byName.c!.highRes.shape, [8, 8, 3]);

    // The model outputs RGB (0.2, 0.5, 0.8) everywhere. Its grey equivalent is BT.601 luma on
    // the grey scale: (65.481·0.2 + 128.553·0.5 + 24.966·0.8) / 219 = 97.3455 / 219.
    const model = constantModel([0.2, 0.5, 0.8]);
    const prediction = predictSr(model, byName.g!.lowRes);
    assert.deepEqual(prediction.shape, [1, 8, 8, 1]);
    const truth = tf.expandDims(byName.g!.highRes, 0) as tf.Tensor4D;
    const got = await psnr(prediction, truth, { yChannel: true, crop: 2 });
    truth.dispose();
    const expected = -10 * Math.log10((128 / 255 - 97.3455 / 219) ** 2); // 24.81 dB
    assert.ok(Math.abs(got - expected) < 1e-3, `psnr ${got}, hand-computed ${expected}`);
    // Converting the grey truth to RGB and then to Y would have given another number:
    // Y = 16/255 + 219·(128/255)/255 vs 16/255 + 97.3455/255.
    const viaRgb = -10 * Math.log10(((219 * 128) / 255 / 255 - 97.3455 / 255) ** 2);
    assert.ok(Math.abs(viaRgb - expected) > 1, `${viaRgb} vs ${expected}`);

    // A grey image the model leaves grey scores exactly its grey values.
    const neutral = constantModel([0.4, 0.4, 0.4]);
    const p2 = predictSr(neutral, byName.g!.lowRes);
    assert.ok(Math.abs((await p2.data())[0]! - 0.4) < 1e-6);
    tf.dispose([prediction, p2]);
    model.dispose();
    neutral.dispose();
    for (const p of pairs) tf.dispose([p.highRes, p.lowRes]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  assert.equal(tf.memory().numTensors, before, "no tensors left behind");
});

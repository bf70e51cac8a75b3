// The superres example's evaluation of --eval folders: a grey image is kept with one channel and
// scored on its own values (the MATLAB protocol of published SR tables), the model still sees RGB.
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { initBackend } from "../src/backend/mod.ts";
import { bicubicUpscale, imageFileInfo, saveImage, writePixels } from "../src/data/mod.ts";
import { psnr } from "../src/metrics/mod.ts";
import { loadEvalPairs, predictSr } from "../src/experiment/mod.ts";
import { UsageError } from "../src/experiment/mod.ts";
import { quietly } from "./_quietly.ts";

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

Deno.test("grey by the FILE (MATLAB's size(im, 3)): an RGB file with R = G = B goes through YCbCr, 20·log10(255/219) dB above the 1-channel file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sr_eval_grey_rule_" });
  const before = tf.memory().numTensors;
  try {
    // One grey picture (a smooth ramp plus a few edges, 16×16), stored twice: as a 1-channel
    // PNG and as an RGB PNG whose three channels are equal.
    const v = Array.from({ length: 256 }, (_, i) => ((i * 37) % 97 + (i >> 4) * 9) / 255);
    const grey = { height: 16, width: 16, channels: 1, data: Float32Array.from(v) };
    await writePixels(`${dir}/one/img_HR.png`, grey);
    await writePixels(`${dir}/three/img_HR.png`, {
      ...grey,
      channels: 3,
      data: Float32Array.from(v.flatMap((x) => [x, x, x])),
    });
    assert.equal((await imageFileInfo(`${dir}/one/img_HR.png`)).channels, 1);
    assert.equal((await imageFileInfo(`${dir}/three/img_HR.png`)).channels, 3);
    const score = async (set: string) => {
      const [pair] = await loadEvalPairs(`${dir}/${set}`, 2);
      const hr = tf.expandDims(pair!.highRes, 0) as tf.Tensor4D;
      const up = tf.tidy(() =>
        tf.clipByValue(bicubicUpscale(tf.expandDims(pair!.lowRes, 0) as tf.Tensor4D, 2), 0, 1)
      );
      const channels = pair!.highRes.shape[2];
      const db = await psnr(up, hr, { yChannel: true, crop: 2 });
      tf.dispose([hr, up, pair!.highRes, pair!.lowRes]);
      return { channels, db };
    };
    const one = await score("one");
    const three = await score("three");
    assert.equal(one.channels, 1, "the 1-channel file is scored on its own values");
    assert.equal(three.channels, 3, "the RGB file keeps its three channels (YCbCr's Y)");
    // Y = (16 + 219·v)/255 for R = G = B = v: every error shrinks by 219/255, so the PSNR of
    // the RGB file is higher by exactly 20·log10(255/219) = 1.3228 dB (the Y is not rounded).
    // The old rule (grey by the pixels) scored both alike: a difference of 0.
    const expected = 20 * Math.log10(255 / 219);
    assert.ok(
      Math.abs(three.db - one.db - expected) < 1e-3,
      `RGB ${three.db} dB, grey ${one.db} dB: difference ${three.db - one.db}, want ${expected}`,
    );
    // Set14 has one such RGB file (img_010, "man") among 14 images: scoring it on its own
    // values lowered the set's mean by 1.3228 / 14 = 0.094 dB, the gap between 30.14 and the
    // published 30.23.
    assert.ok(Math.abs(expected / 14 - 0.0945) < 1e-3);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  assert.equal(tf.memory().numTensors, before, "no tensors left behind");
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

Deno.test("--eval: a folder without *_HR images is a usage error; orphan *_LR files are listed in a note", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sr_eval_orphans_" });
  const before = tf.memory().numTensors;
  try {
    const img = tf.fill([8, 8, 3], 0.5) as tf.Tensor3D;
    const small = tf.fill([4, 4, 3], 0.5) as tf.Tensor3D;
    await saveImage(`${dir}/only/cat_LR.png`, small);
    await assert.rejects(
      quietly(() => loadEvalPairs(`${dir}/only`, 2)),
      (e: Error) =>
        e instanceof UsageError &&
        e.message.startsWith(`--eval ${dir}/only: no *_HR image`) &&
        /cat_LR\.png/.test(e.message) &&
        /name the ground-truth images NAME_HR\.png/.test(e.message),
    );
    await saveImage(`${dir}/mixed/a_HR.png`, img);
    await saveImage(`${dir}/mixed/a_LR.png`, small);
    await saveImage(`${dir}/mixed/dog_LR.png`, small);
    await saveImage(`${dir}/mixed/notes.png`, small);
    const { value: pairs, out } = await quietly(() => loadEvalPairs(`${dir}/mixed`, 2));
    assert.deepEqual(pairs.map((p) => p.name), ["a"]);
    assert.match(
      out,
      new RegExp(
        `^note: --eval ${dir}/mixed: not scored \\(no matching \\*_HR image\\): dog_LR\\.png; ` +
          "\\(neither \\*_HR nor \\*_LR\\): notes\\.png$",
      ),
    );
    for (const p of pairs) tf.dispose([p.highRes, p.lowRes]);
    tf.dispose([img, small]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  assert.equal(tf.memory().numTensors, before, "no tensors left behind");
});

/**
 * The style example's network (instance norm, resize-convolution upsampling: nearest ×2 then a
 * 3×3 conv) saved as `model/` loads back with `loadModel` and predicts the same (the model.json
 * check once refused the `nearest` method the resize-convolutions save).
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../src/backend/mod.ts";
import { loadModel, saveModel, unet } from "../src/unet/mod.ts";

Deno.test("a resizeConv U-Net with instance norm round-trips through saveModel / loadModel", async () => {
  await initBackend("cpu");
  const model = unet({
    depth: 2,
    baseFilters: 4,
    norm: "instance",
    upsample: "resizeConv",
    seed: 3,
  });
  const dir = await Deno.makeTempDir();
  await saveModel(model, dir);
  const back = await loadModel(dir);
  const x = tf.randomUniform([1, 16, 24, 3], 0, 1, "float32", 5) as tf.Tensor4D;
  const [a, b] = [model.predict(x) as tf.Tensor, back.predict(x) as tf.Tensor];
  assert.equal(tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]), 0);
  tf.dispose([x, a, b]);
  model.dispose();
  back.dispose();
  await Deno.remove(dir, { recursive: true });
});

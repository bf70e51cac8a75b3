// Colourfulness (Hasler & Süsstrunk 2003) against values worked out by hand from its definition.
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../src/backend/mod.ts";
import { assertNoLeak } from "../src/lifetime/mod.ts";
import { colourfulness, MetricInputError } from "../src/metrics/mod.ts";

await initBackend("cpu");

Deno.test("colourfulness: grey images are 0, hand-computed cases match", async () => {
  const grey = tf.randomUniform([5, 7, 1], 0, 1, "float32", 1) as tf.Tensor3D;
  const greyRgb = tf.tile(grey, [1, 1, 3]) as tf.Tensor3D;
  assert.equal(await colourfulness(grey), 0);
  assert.ok(Math.abs(await colourfulness(greyRgb)) < 1e-4);

  // Two pixels, pure red and pure blue (0-255): rg = [255, 0], yb = [127.5, -255].
  // μ_rg = 127.5, σ_rg = 127.5; μ_yb = -63.75, σ_yb = 191.25.
  // M = √(127.5² + 191.25²) + 0.3·√(127.5² + 63.75²) = 229.8539 + 0.3·142.5493 = 272.6187.
  const rb = tf.tensor3d([255, 0, 0, 0, 0, 255], [1, 2, 3]);
  const byHand = Math.sqrt(127.5 ** 2 + 191.25 ** 2) + 0.3 * Math.sqrt(127.5 ** 2 + 63.75 ** 2);
  assert.ok(Math.abs(byHand - 272.6187) < 1e-3);
  assert.ok(Math.abs((await colourfulness(rb, { range: 255 })) - byHand) < 1e-6);
  // The same image on [0, 1].
  const rb1 = tf.div(rb, 255) as tf.Tensor3D;
  assert.ok(Math.abs((await colourfulness(rb1)) - byHand) < 1e-3);

  // A flat orange (255, 127.5, 0): no spread, rg = 127.5, yb = 191.25: M = 0.3·229.8539.
  const orange = tf.tile(tf.tensor3d([1, 0.5, 0], [1, 1, 3]), [3, 4, 1]) as tf.Tensor3D;
  assert.ok(Math.abs((await colourfulness(orange)) - 0.3 * 229.8539) < 1e-3);

  // A batch: the mean of its images.
  const batch = tf.stack([tf.zeros([1, 2, 3]), rb1]) as tf.Tensor4D;
  assert.ok(Math.abs((await colourfulness(batch)) - byHand / 2) < 1e-3);
  tf.dispose([grey, greyRgb, rb, rb1, orange, batch]);
});

Deno.test("colourfulness: bad inputs are MetricInputErrors; no tensors left", async () => {
  const rgba = tf.zeros([2, 2, 4]) as tf.Tensor3D;
  await assert.rejects(() => colourfulness(rgba), MetricInputError);
  const flat = tf.zeros([4]);
  await assert.rejects(() => colourfulness(flat as never), MetricInputError);
  await assert.rejects(() => colourfulness(rgba, { range: 2 as 1 }), /range/);
  const img = tf.randomUniform([4, 4, 3]) as tf.Tensor3D;
  await assertNoLeak(() => colourfulness(img), { label: "colourfulness" });
  tf.dispose([rgba, img, flat]);
});

// The colouriser keeps its input's luminance: chroma → RGB against the JFIF (ITU-T T.871)
// conversion written out by hand, the gamut scaling against a hand computation, and a colouriser
// whose head is zero returns the grey input bit for bit.
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../src/backend/mod.ts";
import { assertNoLeak } from "../src/lifetime/mod.ts";
import { ChromaToRgb, chromaToRgb, colorizer, loadModel, saveModel } from "../src/unet/mod.ts";
import { predictImage } from "../src/unet/predict_image.ts";

await initBackend("wasm");

/** BT.601 luma, written here from the standard rather than imported. */
function luma(r: number, g: number, b: number): number {
  return 0.299 * r + 0.587 * g + 0.114 * b;
}

function rgbOf(y: number, cb: number, cr: number): number[] {
  const t = tf.tidy(() =>
    chromaToRgb(tf.tensor4d([y], [1, 1, 1, 1]), tf.tensor4d([cb, cr], [1, 1, 1, 2]))
  );
  const v = Array.from(t.dataSync());
  t.dispose();
  return v;
}

Deno.test("chromaToRgb inside the gamut is the JFIF YCbCr → RGB conversion", () => {
  for (const [y, cb, cr] of [[0.5, 0, 0.3], [0.4, -0.1, 0.05], [0.6, 0.15, -0.2]]) {
    // T.871: R = Y + 1.402 Cr, G = Y − 0.344136 Cb − 0.714136 Cr, B = Y + 1.772 Cb.
    const want = [y + 1.402 * cr, y - 0.344136 * cb - 0.714136 * cr, y + 1.772 * cb];
    const got = rgbOf(y, cb, cr);
    got.forEach((v, i) => assert.ok(Math.abs(v - want[i]!) < 1e-5, `${got} vs ${want}`));
    assert.ok(Math.abs(luma(got[0]!, got[1]!, got[2]!) - y) < 1e-6);
  }
});

Deno.test("chromaToRgb scales out-of-gamut chroma down to the gamut's edge, keeping luma and hue", () => {
  // Y 0.9, Cr 0.3: R would be 0.9 + 0.4206 = 1.3206. Scale t = (1 − 0.9)/0.4206, so R = 1 and
  // G = 0.9 − t·0.714136·0.3, B = 0.9.
  const t = 0.1 / (1.402 * 0.3);
  const want = [1, 0.9 - t * 0.714136 * 0.3, 0.9];
  const got = rgbOf(0.9, 0, 0.3);
  got.forEach((v, i) => assert.ok(Math.abs(v - want[i]!) < 1e-5, `${got} vs ${want}`));
  // Dark pixel, strong blue-minus: B would go below 0.
  const dark = rgbOf(0.05, -0.4, 0);
  assert.ok(Math.abs(dark[2]!) < 1e-6, `B at the edge: ${dark}`);
  assert.ok(Math.abs(luma(dark[0]!, dark[1]!, dark[2]!) - 0.05) < 1e-6);
  // Random chroma of any size over random luma: always in [0, 1], luma unchanged.
  const y = tf.randomUniform([3, 8, 8, 1], 0, 1, "float32", 7) as tf.Tensor4D;
  const c = tf.randomNormal([3, 8, 8, 2], 0, 2, "float32", 8) as tf.Tensor4D;
  const rgb = chromaToRgb(y, c);
  const px = rgb.dataSync();
  const ys = y.dataSync();
  for (let i = 0; i < ys.length; i++) {
    const [r, g, b] = [px[3 * i]!, px[3 * i + 1]!, px[3 * i + 2]!];
    for (const v of [r, g, b]) assert.ok(v >= -1e-6 && v <= 1 + 1e-6, `out of range: ${v}`);
    assert.ok(Math.abs(luma(r, g, b) - ys[i]!) < 1e-6, `luma ${luma(r, g, b)} vs ${ys[i]}`);
  }
  tf.dispose([y, c, rgb]);
});

Deno.test("chromaToRgb's gradient matches finite differences inside and at the gamut edge", () => {
  for (const [yv, cb, cr] of [[0.5, 0.05, 0.1], [0.9, 0.02, 0.3]]) {
    const y = tf.tensor4d([yv], [1, 1, 1, 1]);
    const w = tf.tensor1d([0.3, -0.7, 0.5]);
    const f = (c: tf.Tensor) => tf.sum(tf.mul(chromaToRgb(y, c as tf.Tensor4D), w));
    const g = tf.grad(f)(tf.tensor4d([cb, cr], [1, 1, 1, 2])).dataSync();
    const h = 1e-3;
    [[h, 0], [0, h]].forEach(([dcb, dcr], i) => {
      const plus = f(tf.tensor4d([cb + dcb!, cr + dcr!], [1, 1, 1, 2])).dataSync()[0]!;
      const minus = f(tf.tensor4d([cb - dcb!, cr - dcr!], [1, 1, 1, 2])).dataSync()[0]!;
      const fd = (plus - minus) / (2 * h);
      assert.ok(Math.abs(g[i]! - fd) < 2e-3, `d/d${i ? "Cr" : "Cb"} at Y ${yv}: ${g[i]} vs ${fd}`);
    });
  }
});

Deno.test("ChromaToRgb reads chroma in units of the luma's room 4·y·(1 − y) unless told not to", () => {
  const c = tf.tensor4d([0, 0.2], [1, 1, 1, 2]);
  const y = tf.tensor4d([0.25], [1, 1, 1, 1]);
  // Room 4 · 0.25 · 0.75 = 0.75: Cr 0.2 acts as 0.15, R = 0.25 + 1.402 · 0.15.
  const rel = new ChromaToRgb({}).apply([c, y]) as tf.Tensor;
  const abs = new ChromaToRgb({ lumaRelative: false }).apply([c, y]) as tf.Tensor;
  assert.ok(Math.abs(rel.dataSync()[0]! - (0.25 + 1.402 * 0.15)) < 1e-6);
  assert.ok(Math.abs(abs.dataSync()[0]! - (0.25 + 1.402 * 0.2)) < 1e-6);
  assert.equal(new ChromaToRgb({ lumaRelative: false }).getConfig().lumaRelative, false);
  tf.dispose([c, y, rel, abs]);
});

Deno.test("a colouriser with a zero head returns the grey input exactly; any head keeps its luma", async () => {
  const model = colorizer({ depth: 2, baseFilters: 4, seed: 3 });
  const grey = tf.randomUniform([2, 16, 24, 1], 0, 1, "float32", 11) as tf.Tensor4D;
  // Trained-like: the seeded head. Luma equals the input's up to float rounding.
  const coloured = model.predict(grey) as tf.Tensor4D;
  assert.deepEqual(coloured.shape, [2, 16, 24, 3]);
  const c = coloured.dataSync();
  const g = grey.dataSync();
  for (let i = 0; i < g.length; i++) {
    assert.ok(Math.abs(luma(c[3 * i]!, c[3 * i + 1]!, c[3 * i + 2]!) - g[i]!) < 1e-6);
  }
  // Whole images of any size, tiled or not (the layer is pointwise for the tiler).
  const odd = tf.randomUniform([150, 90, 1], 0, 1, "float32", 5) as tf.Tensor3D;
  const whole = predictImage(model, odd);
  const tiledOut = predictImage(model, odd, { tileSize: 72 });
  assert.deepEqual(whole.shape, [150, 90, 3]);
  const [a, b] = [whole.dataSync(), tiledOut.dataSync()];
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) < 1e-5);
  tf.dispose([odd, whole, tiledOut]);
  // Zero the head: the output is the grey input in all three channels, bit for bit.
  const head = model.getLayer("head");
  head.setWeights(head.getWeights().map((w) => tf.zerosLike(w)));
  const out = (model.predict(grey) as tf.Tensor4D).dataSync();
  const tiled = Array.from(g).flatMap((v) => [v, v, v]);
  assert.deepEqual(Array.from(out), tiled);

  // Saved and loaded, it is still a grey → RGB model with the same output.
  const dir = await Deno.makeTempDir();
  await saveModel(model, dir);
  const loaded = await loadModel(dir);
  const again = (loaded.predict(grey) as tf.Tensor4D).dataSync();
  assert.deepEqual(Array.from(again), tiled);
  tf.dispose([grey, coloured]);
  loaded.dispose();
  model.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("colorizer refuses a config that asks for other channels, a residual or a range", () => {
  assert.throws(() => colorizer({ inChannels: 3 }), /inChannels is fixed to 1/);
  assert.throws(() => colorizer({ residual: true }), /residual is fixed to false/);
  assert.throws(() => colorizer({ outputRange: [0, 1] }), /outputRange is fixed to null/);
  assert.throws(
    () => chromaToRgb(tf.zeros([1, 2, 2, 3]) as tf.Tensor4D, tf.zeros([1, 2, 2, 2])),
    RangeError,
  );
});

Deno.test("colorizer and chromaToRgb leak no tensors", async () => {
  await assertNoLeak(() => {
    const model = colorizer({ depth: 1, baseFilters: 4, seed: 1 });
    const x = tf.zeros([1, 8, 8, 1]);
    const y = model.predict(x) as tf.Tensor;
    tf.dispose([x, y]);
    model.dispose();
  });
});

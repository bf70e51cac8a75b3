import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../src/backend/mod.ts";
import { assertNoLeak } from "../src/lifetime/mod.ts";
import { cropPixels, CropTooLargeError, type Pixels } from "../src/data/mod.ts";
import {
  applyDihedral,
  randomCrop,
  randomCropWindow,
  randomDihedral,
  randomFlip,
} from "../src/data/augment.ts";
import { type Dihedral, flipPixels } from "../src/data/pixels.ts";
import { deriveSeed, mulberry32, shuffledIndices } from "../src/data/rng.ts";

await initBackend("cpu");

/** 0, 1, 2, ... in HWC order: every value says where it came from. */
function iota(h: number, w: number, c: number): Pixels {
  return {
    height: h,
    width: w,
    channels: c,
    data: Float32Array.from({ length: h * w * c }, (_, i) => i),
  };
}

Deno.test("mulberry32: reproducible, resumable from its state, in range", () => {
  const a = mulberry32(123);
  const b = mulberry32(123);
  const xs = Array.from({ length: 1000 }, () => a.next());
  assert.deepEqual(xs, Array.from({ length: 1000 }, () => b.next()));
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  assert.ok(Math.abs(mean - 0.5) < 0.05);
  const resumed = mulberry32(a.state);
  assert.equal(resumed.next(), a.next());
  const counts = new Array(6).fill(0);
  for (let i = 0; i < 6000; i++) counts[a.int(6)]++;
  assert.ok(counts.every((n) => n > 850 && n < 1150), `${counts}`);
  assert.throws(() => a.int(0), RangeError);
  assert.notEqual(mulberry32(1).next(), mulberry32(2).next());
});

Deno.test("deriveSeed separates keys; shuffledIndices is a seeded permutation", () => {
  const seeds = new Set<number>();
  for (let e = 0; e < 50; e++) for (let s = 0; s < 50; s++) seeds.add(deriveSeed(9, e, s));
  assert.equal(seeds.size, 2500);
  assert.notEqual(deriveSeed(9, 1), deriveSeed(9, 1, 0));
  const p = shuffledIndices(10, mulberry32(5));
  assert.deepEqual(Array.from(p).sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(p, shuffledIndices(10, mulberry32(5)));
  assert.notDeepEqual(p, shuffledIndices(10, mulberry32(6)));
});

Deno.test("randomCropWindow reaches every position; too large a crop names the image and sizes", () => {
  const rng = mulberry32(1);
  const seen = new Set<string>();
  for (let i = 0; i < 400; i++) {
    const { top, left } = randomCropWindow(5, 6, [3, 4], rng);
    assert.ok(top >= 0 && top <= 2 && left >= 0 && left <= 2);
    seen.add(`${top},${left}`);
  }
  assert.equal(seen.size, 9);
  assert.throws(
    () => randomCropWindow(40, 50, 64, rng, "small.png"),
    (e: Error) =>
      e instanceof CropTooLargeError && e.message.includes("small.png") &&
      e.message.includes("64x64") && e.message.includes("40x50"),
  );
});

Deno.test("cropPixels and flipPixels, by hand", () => {
  const p = iota(2, 3, 1); // [[0 1 2] [3 4 5]]
  assert.deepEqual(Array.from(cropPixels(p, 0, 1, 2, 2).data), [1, 2, 4, 5]);
  assert.deepEqual(Array.from(flipPixels(p, { horizontal: true }).data), [2, 1, 0, 5, 4, 3]);
  assert.deepEqual(Array.from(flipPixels(p, { vertical: true }).data), [3, 4, 5, 0, 1, 2]);
  const t = flipPixels(p, { transpose: true }); // [[0 3] [1 4] [2 5]]
  assert.deepEqual([t.height, t.width, Array.from(t.data)], [3, 2, [0, 3, 1, 4, 2, 5]]);
  // transpose then horizontal flip = rotate 90° clockwise: [[3 0] [4 1] [5 2]]
  assert.deepEqual(Array.from(flipPixels(p, { transpose: true, horizontal: true }).data), [
    3,
    0,
    4,
    1,
    5,
    2,
  ]);
  // channels travel together
  const rgb = iota(1, 2, 3);
  assert.deepEqual(Array.from(flipPixels(rgb, { horizontal: true }).data), [3, 4, 5, 0, 1, 2]);
});

Deno.test("applyDihedral (tensor) agrees with flipPixels for all 8 symmetries", async () => {
  const p = iota(3, 3, 2);
  const img = tf.tensor3d(p.data, [3, 3, 2]);
  for (let k = 0; k < 8; k++) {
    const d: Dihedral = { horizontal: (k & 1) > 0, vertical: (k & 2) > 0, transpose: (k & 4) > 0 };
    const t = applyDihedral(img, d);
    assert.deepEqual(
      Array.from(await t.data()),
      Array.from(flipPixels(p, d).data),
      JSON.stringify(d),
    );
    t.dispose();
  }
  img.dispose();
});

Deno.test("randomDihedral: options switch flips off; transposes only square crops", () => {
  const rng = mulberry32(3);
  let h = 0, v = 0, t = 0;
  for (let i = 0; i < 400; i++) {
    const d = randomDihedral(rng, {}, true);
    h += d.horizontal ? 1 : 0;
    v += d.vertical ? 1 : 0;
    t += d.transpose ? 1 : 0;
    const off = randomDihedral(rng, { horizontal: false, vertical: false }, false);
    assert.ok(!off.horizontal && !off.vertical && !off.transpose);
  }
  for (const n of [h, v, t]) assert.ok(n > 150 && n < 250, `${h} ${v} ${t}`);
});

Deno.test("randomCrop (tensor) cuts the window randomCropWindow draws", async () => {
  const p = iota(10, 12, 3);
  const img = tf.tensor3d(p.data, [10, 12, 3]);
  const crop = randomCrop(img, [4, 5], mulberry32(77));
  const { top, left } = randomCropWindow(10, 12, [4, 5], mulberry32(77));
  assert.deepEqual(Array.from(await crop.data()), Array.from(cropPixels(p, top, left, 4, 5).data));
  assert.throws(() => randomCrop(img, 11, mulberry32(1)), CropTooLargeError);
  const flipped = randomFlip(img, mulberry32(1), { horizontal: false, vertical: false });
  assert.deepEqual(Array.from(await flipped.data()), Array.from(p.data));
  tf.dispose([img, crop, flipped]);
});

Deno.test("crop and flip entry points leak no tensors", async () => {
  const img = tf.randomUniform([16, 16, 3]) as tf.Tensor3D;
  await assertNoLeak(() => randomCrop(img, 8, mulberry32(1)), { label: "randomCrop" });
  await assertNoLeak(() => randomFlip(img, mulberry32(2)), { label: "randomFlip" });
  await assertNoLeak(() => applyDihedral(img, {}), { label: "applyDihedral identity" });
  await assertNoLeak(() => {
    try {
      randomCrop(img, 17, mulberry32(1));
    } catch { /* expected */ }
  }, { label: "randomCrop error" });
  img.dispose();
});

import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../src/backend/mod.ts";
import { assertNoLeak } from "../src/lifetime/mod.ts";
import {
  bicubicDownscale,
  bicubicResizePixels,
  bicubicUpscale,
  ImageShapeError,
  type Pixels,
  pixelsToTensor,
  readPixels,
} from "../src/data/mod.ts";
import { bicubicDownscalePixels, bicubicUpscalePixels } from "../src/data/bicubic.ts";
import { mulberry32 } from "../src/data/rng.ts";

await initBackend("cpu");

const SET5 = "../shared/data/Set5";
const set5 = (() => {
  try {
    return Deno.statSync(`${SET5}/image_SRF_2`).isDirectory;
  } catch {
    return false;
  }
})();
if (!set5) {
  console.log(`data_bicubic_test: Set5 tests skipped, ${SET5} is absent (shared test data)`);
}

interface Ref {
  seed: number;
  height: number;
  width: number;
  scale: number;
  lo?: number;
  levels?: number;
  pil: string;
}
const fixture = JSON.parse(
  await Deno.readTextFile(new URL("./fixtures/data_reference.json", import.meta.url)),
) as { upscale: Ref[]; downscale: Ref[] };

/** The uint8 image data_reference.py builds from mulberry32, as [0, 1] pixels. */
function randomImage(seed: number, height: number, width: number, lo = 0, levels = 256): Pixels {
  const rng = mulberry32(seed);
  const data = new Float32Array(height * width * 3);
  for (let i = 0; i < data.length; i++) data[i] = (lo + Math.floor(rng.next() * levels)) / 255;
  return { height, width, channels: 3, data };
}

function pilBytes(ref: Ref): Uint8Array {
  return Uint8Array.from(atob(ref.pil), (ch) => ch.charCodeAt(0));
}

function bytesOf(p: Pixels | Float32Array): Uint8Array {
  const data = p instanceof Float32Array ? p : p.data;
  return Uint8Array.from(data, (v) => Math.round(Math.min(1, Math.max(0, v)) * 255));
}

function countDiffs(a: Uint8Array, b: Uint8Array, keep: (i: number) => boolean = () => true) {
  let max = 0;
  let off = 0;
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    if (!keep(i)) continue;
    n++;
    const d = Math.abs(a[i]! - b[i]!);
    if (d > 0) off++;
    max = Math.max(max, d);
  }
  return { max, off, n };
}

for (const scale of [2, 4]) {
  Deno.test({
    name: `bicubicDownscalePixels (uint8 mode) reproduces Set5 x${scale} LR files byte for byte`,
    ignore: !set5,
    fn: async () => {
      for (let i = 1; i <= 5; i++) {
        const stem = `${SET5}/image_SRF_${scale}/img_00${i}_SRF_${scale}`;
        const hr = await readPixels(`${stem}_HR.png`);
        const lr = await readPixels(`${stem}_LR.png`);
        const got = bicubicDownscalePixels(hr, scale, { quantize: "uint8" });
        assert.deepEqual([got.height, got.width], [lr.height, lr.width]);
        const d = countDiffs(bytesOf(got), bytesOf(lr));
        assert.equal(d.off, 0, `${stem}: ${d.off} bytes differ (max ${d.max})`);
        // MATLAB's own symmetric border, or float output, does not reproduce them.
        const sym = bicubicDownscalePixels(hr, scale, { quantize: "uint8", border: "symmetric" });
        assert.ok(countDiffs(bytesOf(sym), bytesOf(lr)).off > 0);
      }
    },
  });
}

Deno.test({
  name: "bicubicDownscale (tensor, uint8 mode) reproduces Set5 LR files byte for byte",
  ignore: !set5,
  fn: async () => {
    // The smaller images keep the dense-matrix version fast on the cpu backend.
    for (const [scale, i] of [[2, 2], [2, 3], [4, 1], [4, 5]]) {
      const stem = `${SET5}/image_SRF_${scale}/img_00${i}_SRF_${scale}`;
      const hr = pixelsToTensor(await readPixels(`${stem}_HR.png`));
      const lr = await readPixels(`${stem}_LR.png`);
      const got = bicubicDownscale(tf.expandDims(hr, 0) as tf.Tensor4D, scale!, {
        quantize: "uint8",
      });
      assert.deepEqual(got.shape, [1, lr.height, lr.width, 3]);
      assert.equal(countDiffs(bytesOf(await got.data() as Float32Array), bytesOf(lr)).off, 0, stem);
      tf.dispose([hr, got]);
    }
  },
});

/**
 * Where PIL's kernel is whole: it clips (and renormalises) the kernel at the borders instead of
 * replicating them, so only outputs whose support lies inside the image are comparable.
 */
function pilInterior(ref: Ref, w: number, support: number, factor: number) {
  const whole = (o: number, n: number) =>
    (o + 0.5) * factor - support >= 0 && (o + 0.5) * factor + support <= n;
  return (i: number) =>
    whole(Math.floor(i / 3 / w), ref.height) && whole(Math.floor(i / 3) % w, ref.width);
}

for (const ref of fixture.upscale) {
  Deno.test(`bicubic upscale x${ref.scale} agrees with PIL's BICUBIC within one level`, async () => {
    const img = randomImage(ref.seed, ref.height, ref.width, ref.lo, ref.levels);
    const pil = pilBytes(ref);
    const px = bicubicUpscalePixels(img, ref.scale);
    assert.deepEqual([px.height, px.width], [ref.height * ref.scale, ref.width * ref.scale]);
    const inside = pilInterior(ref, px.width, 2, 1 / ref.scale);
    const d = countDiffs(bytesOf(px), pil, inside);
    // PIL rounds to 8 bits between its passes: ±1, now and then, is all that may differ.
    assert.ok(d.n >= 200 && d.max <= 1 && d.off < d.n * 0.35, JSON.stringify(d));
    const t = bicubicUpscale(pixelsToTensor(img), ref.scale);
    const dt = countDiffs(bytesOf(await t.data() as Float32Array), pil, inside);
    assert.ok(dt.max <= 1 && dt.off < dt.n * 0.35, JSON.stringify(dt));
    tf.dispose(t);
  });
}

for (const ref of fixture.downscale) {
  Deno.test(`bicubic downscale x${ref.scale} agrees with PIL's antialiased BICUBIC away from borders`, async () => {
    const img = randomImage(ref.seed, ref.height, ref.width);
    const pil = pilBytes(ref);
    const s = ref.scale;
    const px = bicubicDownscalePixels(img, s);
    const w = px.width;
    const inside = pilInterior(ref, w, 2 * s, s);
    const d = countDiffs(bytesOf(px), pil, inside);
    assert.ok(d.n >= 48 && d.max <= 1 && d.off < d.n * 0.2, JSON.stringify(d));
    const t = bicubicDownscale(pixelsToTensor(img), s);
    const dt = countDiffs(bytesOf(await t.data() as Float32Array), pil, inside);
    assert.ok(dt.max <= 1 && dt.off < dt.n * 0.35, JSON.stringify(dt));
    tf.dispose(t);
  });
}

Deno.test("bicubic: constants stay constant, sizes follow MATLAB's ceil, x1 is the identity", () => {
  const flat: Pixels = { height: 9, width: 7, channels: 2, data: new Float32Array(126).fill(0.3) };
  for (const s of [2, 3, 4]) {
    const down = bicubicDownscalePixels(flat, s);
    assert.deepEqual([down.height, down.width], [Math.ceil(9 / s), Math.ceil(7 / s)]);
    assert.ok(down.data.every((v) => Math.abs(v - 0.3) < 1e-6));
    const up = bicubicUpscalePixels(flat, s);
    assert.deepEqual([up.height, up.width], [9 * s, 7 * s]);
    assert.ok(up.data.every((v) => Math.abs(v - 0.3) < 1e-6));
  }
  const img = randomImage(5, 6, 5);
  const same = bicubicResizePixels(img, 6, 5);
  assert.ok(same.data.every((v, i) => Math.abs(v - img.data[i]!) < 1e-6));
});

Deno.test("bicubic: a hand-computed 1-D upscale (kernel a = -0.5, centre mapping)", () => {
  // Input [0, 1, 0, 0], x2: output o samples the input at u = (o + 0.5)/2 - 0.5 (0-based), so
  // outputs 0..3 sit at -0.25, 0.25, 0.75, 1.25, at distances 1.25, 0.75, 0.25, 0.25 from the 1.
  const cubic = (x: number) => {
    const a = Math.abs(x);
    return a <= 1
      ? 1.5 * a ** 3 - 2.5 * a ** 2 + 1
      : a <= 2
      ? -0.5 * a ** 3 + 2.5 * a ** 2 - 4 * a + 2
      : 0;
  };
  const p: Pixels = { height: 1, width: 4, channels: 1, data: new Float32Array([0, 1, 0, 0]) };
  const out = bicubicUpscalePixels(p, 2).data;
  [1.25, 0.75, 0.25, 0.25].forEach((dist, o) =>
    assert.ok(Math.abs(out[o]! - cubic(dist)) < 1e-6, `out[${o}] = ${out[o]}, want ${cubic(dist)}`)
  );
  assert.ok(Math.abs(cubic(0.75) - 0.2265625) < 1e-12); // the kernel itself, by hand
});

Deno.test("bicubicUpscale is differentiable (a linear map: gradient = finite difference)", () => {
  const x = tf.randomUniform([1, 5, 6, 2], 0, 1, "float32", 4) as tf.Tensor4D;
  const w = tf.randomUniform([1, 10, 12, 2], -1, 1, "float32", 5);
  const f = (t: tf.Tensor) => tf.sum(tf.mul(bicubicUpscale(t as tf.Tensor4D, 2), w));
  const g = tf.grad(f)(x);
  const e = tf.reshape(tf.oneHot([17], 60), [1, 5, 6, 2]);
  const fd = tf.sub(f(tf.add(x, e)), f(x));
  const gi = tf.sum(tf.mul(g, e));
  assert.ok(Math.abs(fd.dataSync()[0]! - gi.dataSync()[0]!) < 1e-4);
  tf.dispose([x, w, g, e, fd, gi]);
});

Deno.test("bicubic: bad scale or rank is a clear error", () => {
  const p: Pixels = { height: 4, width: 4, channels: 1, data: new Float32Array(16) };
  assert.throws(() => bicubicDownscalePixels(p, 0), ImageShapeError);
  assert.throws(() => bicubicUpscalePixels({ ...p, height: 5 }, 2), /16 values but 5x4x1/);
  const t2 = tf.zeros([4, 4]);
  assert.throws(() => bicubicUpscale(t2 as unknown as tf.Tensor3D, 2), /got shape \[4,4\]/);
  t2.dispose();
});

Deno.test("bicubic tensor resizes leak no tensors", async () => {
  const x = tf.randomUniform([2, 8, 8, 3]) as tf.Tensor4D;
  await assertNoLeak(() => bicubicDownscale(x, 2, { quantize: "uint8" }), {
    label: "bicubicDownscale",
  });
  await assertNoLeak(() => bicubicUpscale(x, 3), { label: "bicubicUpscale" });
  await assertNoLeak(() => {
    try {
      bicubicUpscale(x, -1);
    } catch { /* expected */ }
  }, { label: "bicubicUpscale error" });
  x.dispose();
});

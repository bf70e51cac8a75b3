import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../src/backend/mod.ts";
import { assertNoLeak } from "../src/lifetime/mod.ts";
import { mulberry32 } from "../src/data/rng.ts";
import { MetricInputError, psnr, rgbToY, ssim } from "../src/metrics/mod.ts";

await initBackend("cpu");

interface Case {
  name: string;
  seed: number;
  shape: number[];
  range: 1 | 255;
  yChannel: boolean;
  crop: number;
  psnr: number;
  ssim: number;
}
const fixture = JSON.parse(
  await Deno.readTextFile(new URL("./fixtures/metrics_reference.json", import.meta.url)),
) as { cases: Case[]; mulberry32_42: number[] };

/** The pair metrics_reference.py builds (same generator, same float32 rounding). */
function makePair(seed: number, [h, w, c]: number[]): [Float32Array, Float32Array] {
  const rng = mulberry32(seed);
  const n = h! * w! * c!;
  const u = Array.from({ length: n }, () => rng.next());
  const v = Array.from({ length: n }, () => rng.next());
  const a = new Float32Array(n);
  const b = new Float32Array(n);
  const clip = (x: number) => Math.min(1, Math.max(0, x));
  for (let y = 0; y < h!; y++) {
    for (let x = 0; x < w!; x++) {
      const ramp = (y / h! + x / w!) / 2;
      for (let k = 0; k < c!; k++) {
        const i = (y * w! + x) * c! + k;
        a[i] = Math.fround(clip(0.7 * ramp + 0.3 * u[i]!));
        b[i] = Math.fround(clip(a[i]! + 0.2 * (v[i]! - 0.5)));
      }
    }
  }
  return [a, b];
}

function caseTensors(c: Case): [tf.Tensor3D | tf.Tensor4D, tf.Tensor3D | tf.Tensor4D] {
  const scale = c.range;
  if (c.shape.length === 4) {
    const pairs = Array.from(
      { length: c.shape[0]! },
      (_, i) => makePair(c.seed * 100 + i, c.shape.slice(1)),
    );
    const cat = (k: 0 | 1) => {
      const size = pairs[0]![k].length;
      const out = new Float32Array(size * pairs.length);
      pairs.forEach((p, i) => out.set(p[k].map((x) => x * scale), i * size));
      return tf.tensor4d(out, c.shape as [number, number, number, number]);
    };
    return [cat(0), cat(1)];
  }
  const [a, b] = makePair(c.seed, c.shape);
  const shape = c.shape as [number, number, number];
  return [tf.tensor3d(a.map((x) => x * scale), shape), tf.tensor3d(b.map((x) => x * scale), shape)];
}

Deno.test("mulberry32 matches the Python port used by the fixture generator", () => {
  const rng = mulberry32(42);
  for (const want of fixture.mulberry32_42) assert.equal(rng.next(), want);
});

for (const c of fixture.cases) {
  Deno.test(`psnr and ssim match scikit-image within 1e-4: ${c.name}`, async () => {
    const [a, b] = caseTensors(c);
    const opts = { range: c.range, yChannel: c.yChannel, crop: c.crop };
    const p = await psnr(a, b, opts);
    const s = await ssim(a, b, opts);
    assert.ok(Math.abs(p - c.psnr) < 1e-4, `psnr ${p} vs skimage ${c.psnr}`);
    assert.ok(Math.abs(s - c.ssim) < 1e-4, `ssim ${s} vs skimage ${c.ssim}`);
    // The metrics are symmetric in their arguments.
    assert.ok(Math.abs((await psnr(b, a, opts)) - p) < 1e-9);
    tf.dispose([a, b]);
  });
}

Deno.test("psnr: hand-computed values, identical images, range", async () => {
  const a = tf.zeros([8, 8, 3]) as tf.Tensor3D;
  const b = tf.fill([8, 8, 3], 0.1) as tf.Tensor3D;
  assert.ok(Math.abs((await psnr(a, b)) - 20) < 1e-5); // MSE 0.01 → 20 dB
  const a255 = tf.mul(a, 255) as tf.Tensor3D;
  const b255 = tf.mul(b, 255) as tf.Tensor3D;
  assert.ok(Math.abs((await psnr(a255, b255, { range: 255 })) - 20) < 1e-4);
  assert.equal(await psnr(a, a), Infinity);
  const noise = tf.randomUniform([16, 16, 3], 0, 1, "float32", 3) as tf.Tensor3D;
  assert.ok(Math.abs((await ssim(noise, noise)) - 1) < 1e-12);
  tf.dispose([a, b, a255, b255, noise]);
});

Deno.test("psnr: a batch scores the mean of its images' PSNRs", async () => {
  const a = tf.zeros([2, 4, 4, 1]) as tf.Tensor4D;
  const b = tf.concat([tf.fill([1, 4, 4, 1], 0.1), tf.fill([1, 4, 4, 1], 0.01)]) as tf.Tensor4D;
  assert.ok(Math.abs((await psnr(a, b)) - 30) < 1e-4); // (20 + 40) / 2
  tf.dispose([a, b]);
});

Deno.test("psnr: crop shaves the border", async () => {
  // Error only in the 1-pixel frame: invisible with crop 1.
  const a = tf.zeros([6, 6, 1]) as tf.Tensor3D;
  const b = tf.pad(tf.zeros([4, 4, 1]), [[1, 1], [1, 1], [0, 0]], 0.5) as tf.Tensor3D;
  assert.equal(await psnr(a, b, { crop: 1 }), Infinity);
  assert.ok(Number.isFinite(await psnr(a, b)));
  tf.dispose([a, b]);
});

Deno.test("rgbToY follows MATLAB rgb2ycbcr (black 16, white 235, red 81.481)", async () => {
  const rgb = tf.tensor3d([0, 0, 0, 1, 1, 1, 1, 0, 0], [1, 3, 3]);
  const y = rgbToY(rgb);
  const got = Array.from(await y.data()).map((v) => v * 255);
  [16, 235, 16 + 65.481].forEach((want, i) => assert.ok(Math.abs(got[i]! - want) < 1e-3));
  const y255 = rgbToY(tf.mul(rgb, 255) as tf.Tensor3D, { range: 255 });
  assert.ok(Math.abs((await y255.data())[1]! - 235) < 1e-3);
  assert.deepEqual(y.shape, [1, 3, 1]);
  tf.dispose([rgb, y, y255]);
});

Deno.test("metrics reject mismatched shapes, bad crop, yChannel on RGBA, tiny SSIM input", async () => {
  const a = tf.zeros([16, 16, 3]) as tf.Tensor3D;
  const b = tf.zeros([16, 16, 1]) as tf.Tensor3D;
  const small = tf.zeros([12, 12, 3]) as tf.Tensor3D;
  await assert.rejects(
    () => psnr(a, b),
    (e: Error) => e instanceof MetricInputError && /same shape.*16,16,3.*16,16,1/.test(e.message),
  );
  await assert.rejects(() => psnr(a, a, { crop: 8 }), MetricInputError);
  const rgba = tf.zeros([16, 16, 4]) as tf.Tensor3D;
  await assert.rejects(() => ssim(rgba, rgba, { yChannel: true }), /yChannel needs RGB/);
  rgba.dispose();
  await assert.rejects(() => ssim(small, small, { crop: 1 }), /at least 11x11/);
  await assert.rejects(() => psnr(a, a, { range: 2 as 1 }), /range must be 1 or 255/);
  assert.throws(() => rgbToY(b), MetricInputError);
  tf.dispose([a, b, small]);
});

Deno.test("metrics leak no tensors", async () => {
  const a = tf.randomUniform([2, 16, 16, 3], 0, 1, "float32", 1) as tf.Tensor4D;
  const b = tf.randomUniform([2, 16, 16, 3], 0, 1, "float32", 2) as tf.Tensor4D;
  await assertNoLeak(() => psnr(a, b, { yChannel: true, crop: 2 }), { label: "psnr" });
  await assertNoLeak(() => ssim(a, b), { label: "ssim" });
  await assertNoLeak(() => rgbToY(a), { label: "rgbToY" });
  await assertNoLeak(() => psnr(a, b, { crop: 99 }).catch(() => 0), { label: "psnr error" });
  tf.dispose([a, b]);
});

Deno.test("yChannel on a 1-channel image scores its own values (MATLAB SR-table convention)", async () => {
  // PSNR by hand: errors 0.1, 0, 0, -0.1 -> MSE 0.005 -> 10 log10(1 / 0.005) = 23.0103 dB.
  const a = tf.tensor3d([0.2, 0.4, 0.6, 0.8], [2, 2, 1]);
  const b = tf.tensor3d([0.3, 0.4, 0.6, 0.7], [2, 2, 1]);
  const byHand = 10 * Math.log10(1 / 0.005);
  // Tolerances: the inputs are float32 (0.3 - 0.2 is not exactly 0.1).
  assert.ok(Math.abs((await psnr(a, b, { yChannel: true })) - byHand) < 1e-4);
  // The same grey values as RGB go through Y = 16/255 + (219/255)·v: errors shrink by 219/255,
  // PSNR grows by 20 log10(255/219) = 1.32 dB (the inflation the convention avoids).
  const a3 = tf.tile(a, [1, 1, 3]) as tf.Tensor3D;
  const b3 = tf.tile(b, [1, 1, 3]) as tf.Tensor3D;
  const inflated = await psnr(a3, b3, { yChannel: true });
  assert.ok(Math.abs(inflated - (byHand + 20 * Math.log10(255 / 219))) < 1e-4, String(inflated));
  // On 0-255 values too.
  const a255 = tf.mul(a, 255) as tf.Tensor3D;
  const b255 = tf.mul(b, 255) as tf.Tensor3D;
  assert.ok(Math.abs((await psnr(a255, b255, { yChannel: true, range: 255 })) - byHand) < 1e-4);
  // SSIM by hand for two flat images (σ = 0): (2·μx·μy + C1) / (μx² + μy² + C1), C1 = 0.01².
  const x = tf.fill([16, 16, 1], 0.5) as tf.Tensor3D;
  const y = tf.fill([16, 16, 1], 0.6) as tf.Tensor3D;
  const ssimByHand = (2 * 0.5 * 0.6 + 1e-4) / (0.25 + 0.36 + 1e-4);
  assert.ok(Math.abs((await ssim(x, y, { yChannel: true, crop: 1 })) - ssimByHand) < 1e-6);
  tf.dispose([a, b, a3, b3, a255, b255, x, y]);
});

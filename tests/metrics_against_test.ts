// psnrAgainst / ssimAgainst (the target read and filtered once) give psnr's and ssim's values
// bit for bit, on RGB, Y, grey, batches, crops and range 255; ssim (separable filter) against a
// direct 11×11 Gaussian-window SSIM written out here; input errors.
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../src/backend/mod.ts";
import {
  MetricInputError,
  type MetricOptions,
  psnr,
  psnrAgainst,
  ssim,
  ssimAgainst,
} from "../src/metrics/mod.ts";

type Shape = [number, number, number, number];

Deno.test("psnrAgainst / ssimAgainst equal psnr / ssim exactly; the target may be disposed", async () => {
  await initBackend("cpu");
  const cases: [Shape, MetricOptions][] = [
    [[1, 30, 27, 3], {}],
    [[1, 30, 27, 3], { yChannel: true, crop: 2 }],
    [[1, 26, 31, 1], { yChannel: true, crop: 3 }],
    [[2, 24, 24, 3], { crop: 1 }],
  ];
  for (const [shape, options] of cases) {
    const t = tf.randomUniform(shape, 0, 1, "float32", 1) as tf.Tensor4D;
    const preds = [2, 3].map((s) =>
      tf.clipByValue(tf.add(t, tf.randomNormal(shape, 0, 0.1, "float32", s)), 0, 1)
    ) as tf.Tensor4D[];
    const p255 = preds.map((p) => tf.mul(p, 255)) as tf.Tensor4D[];
    const t255 = tf.mul(t, 255) as tf.Tensor4D;
    const wantP = await Promise.all(preds.map((p) => psnr(p, t, options)));
    const wantS = await Promise.all(preds.map((p) => ssim(p, t, options)));
    const wantS255 = await Promise.all(p255.map((p) => ssim(p, t255, { ...options, range: 255 })));
    const [byP, byS, byS255] = await Promise.all([
      psnrAgainst(t, options),
      ssimAgainst(t, options),
      ssimAgainst(t255, { ...options, range: 255 }),
    ]);
    tf.dispose([t, t255]); // what was kept are plain arrays
    const what = `[${shape}] ${JSON.stringify(options)}`;
    for (let i = 0; i < preds.length; i++) {
      assert.equal(await byP(preds[i]!), wantP[i], what);
      assert.equal(await byS(preds[i]!), wantS[i], what);
      assert.equal(await byS255(p255[i]!), wantS255[i], what);
      assert.ok(wantS[i]! < 1 && wantS[i]! > 0 && Number.isFinite(wantP[i]!), what);
    }
    tf.dispose([...preds, ...p255]);
  }
});

/** SSIM written out directly: an 11×11 Gaussian window (σ 1.5) at every 'valid' position. */
function directSsim(x: Float64Array, y: Float64Array, h: number, w: number): number {
  const g = Array.from({ length: 11 }, (_, i) => Math.exp(-((i - 5) ** 2) / (2 * 1.5 ** 2)));
  const s = g.reduce((a, b) => a + b, 0);
  const win = g.map((v) => v / s);
  const [c1, c2] = [0.01 ** 2, 0.03 ** 2];
  let total = 0;
  for (let r = 0; r + 11 <= h; r++) {
    for (let c = 0; c + 11 <= w; c++) {
      let [mx, my, xx, yy, xy] = [0, 0, 0, 0, 0];
      for (let i = 0; i < 11; i++) {
        for (let j = 0; j < 11; j++) {
          const k = win[i]! * win[j]!;
          const [a, b] = [x[(r + i) * w + c + j]!, y[(r + i) * w + c + j]!];
          [mx, my, xx, yy, xy] = [
            mx + k * a,
            my + k * b,
            xx + k * a * a,
            yy + k * b * b,
            xy + k * a * b,
          ];
        }
      }
      const [vx, vy, cov] = [xx - mx * mx, yy - my * my, xy - mx * my];
      total += ((2 * mx * my + c1) * (2 * cov + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2));
    }
  }
  return total / ((h - 10) * (w - 10));
}

Deno.test("ssim (separable filter) equals SSIM with the 2-D window written out", async () => {
  await initBackend("cpu");
  const [h, w] = [23, 29];
  const a = tf.randomUniform([h, w, 1], 0, 1, "float32", 7) as tf.Tensor3D;
  const b = tf.clipByValue(tf.add(a, tf.randomNormal([h, w, 1], 0, 0.2, "float32", 8)), 0, 1);
  const [x, y] = [Float64Array.from(await a.data()), Float64Array.from(await b.data())];
  const want = directSsim(x, y, h, w);
  const got = await ssim(a, b as tf.Tensor3D);
  assert.ok(Math.abs(got - want) < 1e-12, `${got} vs ${want}`);
  assert.ok(want > 0.3 && want < 0.95, `${want}`);
  tf.dispose([a, b]);
});

Deno.test("psnrAgainst / ssimAgainst: a prediction of another shape, a target too small", async () => {
  await initBackend("cpu");
  const t = tf.zeros([1, 16, 16, 3]) as tf.Tensor4D;
  const other = tf.zeros([1, 16, 18, 3]) as tf.Tensor4D;
  const byP = await psnrAgainst(t);
  const byS = await ssimAgainst(t);
  await assert.rejects(() => byP(other), MetricInputError);
  await assert.rejects(() => byS(other), MetricInputError);
  await assert.rejects(() => ssimAgainst(t, { crop: 3 }), /at least 11x11/);
  await assert.rejects(() => psnrAgainst(t, { crop: 8 }), MetricInputError);
  tf.dispose([t, other]);
});

// The U-Net's custom layers against independent references: PyTorch and PIL numbers for the
// resizes (tests/fixtures/unet_resize.py), tfjs's own depthToSpace/spaceToDepth kernels for the
// pixel shuffle, and a hand-written nearest-neighbour upsample for ICNR.
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { initBackend } from "../src/backend/mod.ts";
import { maxPoolGradByHand } from "./unet_test_helpers.ts";
import { assertNoLeak } from "../src/lifetime/mod.ts";
import { pixelShuffle, UNetInputSizeError } from "../src/unet/mod.ts";
import { ICNR } from "../src/unet/icnr.ts";
import { maxPool2x2 } from "../src/unet/max_pool.ts";
import { OutputMap } from "../src/unet/output_map.ts";
import { PixelShuffle } from "../src/unet/pixel_shuffle.ts";
import { phaseWeights, Upsample, upsample } from "../src/unet/resize.ts";
import { checkInputSize } from "../src/unet/size_check.ts";

await initBackend("cpu");

interface ResizeFixture {
  shape: [number, number, number, number];
  x: number[];
  torch: {
    mode: "bilinear" | "bicubic";
    cubicA: number;
    scale: number;
    y: number[];
    grad: number[];
  }[];
  pilBicubic: { scale: number; y: number[] }[];
}
const fixture: ResizeFixture = JSON.parse(
  await Deno.readTextFile(new URL("./fixtures/unet_resize.json", import.meta.url)),
);

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

Deno.test("upsample matches PyTorch interpolate (bilinear; bicubic a=-0.75), values and gradients", () => {
  const x = tf.tensor4d(fixture.x, fixture.shape);
  for (const c of fixture.torch) {
    const run = (t: tf.Tensor) =>
      upsample(t as tf.Tensor4D, c.scale, { method: c.mode, cubicA: c.cubicA });
    const y = run(x);
    const [, h, w, ch] = fixture.shape;
    assert.deepEqual(y.shape, [1, h * c.scale, w * c.scale, ch]);
    const dy = maxAbsDiff(y.dataSync(), c.y);
    assert.ok(dy < 2e-6, `${c.mode} ×${c.scale}: max |tfjs − torch| = ${dy}`);
    const r = tf.tensor(
      Array.from({ length: y.size }, (_, i) => Math.fround(Math.sin(0.37 * i))),
      y.shape,
    );
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(run(t), r)))(x);
    const dg = maxAbsDiff(g.dataSync(), c.grad);
    assert.ok(dg < 1e-5, `${c.mode} ×${c.scale} gradient: max |tfjs − torch| = ${dg}`);
    tf.dispose([y, r, g]);
  }
  x.dispose();
});

Deno.test("bicubic with the default a=-0.5 matches PIL's BICUBIC where no tap crosses the border", () => {
  const x = tf.tensor4d(fixture.x, fixture.shape);
  const [, h, w, ch] = fixture.shape;
  for (const p of fixture.pilBicubic) {
    const s = p.scale;
    const y = upsample(x, s).dataSync();
    // Output index o reads source pixels floor(u)−1 … floor(u)+2 with u = (o + ½)/s − ½.
    const inside = (o: number, n: number) => {
      const f = Math.floor((o + 0.5) / s - 0.5);
      return f - 1 >= 0 && f + 2 <= n - 1;
    };
    let compared = 0;
    let worst = 0;
    for (let i = 0; i < h * s; i++) {
      for (let j = 0; j < w * s; j++) {
        if (!inside(i, h) || !inside(j, w)) continue;
        for (let c = 0; c < ch; c++) {
          const k = (i * w * s + j) * ch + c;
          worst = Math.max(worst, Math.abs(y[k]! - p.y[k]!));
          compared++;
        }
      }
    }
    assert.ok(compared >= 4 * ch, `×${s}: only ${compared} interior values`);
    assert.ok(worst < 2e-6, `×${s}: max |tfjs − PIL| = ${worst} over ${compared} interior values`);
  }
  x.dispose();
});

Deno.test("phase weights sum to one (interpolation reproduces constants) and bilinear ×2 is 1/4, 3/4", () => {
  assert.deepEqual(phaseWeights(2, "bilinear"), [[0, 0.25, 0.75, 0, 0], [0, 0, 0.75, 0.25, 0]]);
  for (const m of ["bilinear", "bicubic"] as const) {
    for (const s of [2, 3, 4]) {
      for (const w of phaseWeights(s, m)) {
        assert.ok(Math.abs(w.reduce((a, b) => a + b, 0) - 1) < 1e-12, `${m} ×${s}: ${w}`);
      }
    }
  }
});

/** dL/dx of a pixel shuffle by the DCR formula: x[b,h,w,(i·r+j)·c+k] went to y[b,h·r+i,w·r+j,k]. */
function shuffleGradByHand(dy: tf.Tensor, r: number): number[] {
  const [b, H, W, c] = dy.shape as number[];
  const d = dy.dataSync();
  const h = H! / r;
  const w = W! / r;
  const out = new Array<number>(d.length);
  for (let n = 0; n < b!; n++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (let i = 0; i < r; i++) {
          for (let j = 0; j < r; j++) {
            for (let k = 0; k < c!; k++) {
              const src = ((n * h + y) * w + x) * r * r * c! + (i * r + j) * c! + k;
              out[src] = d[((n * H! + y * r + i) * W! + x * r + j) * c! + k]!;
            }
          }
        }
      }
    }
  }
  return out;
}

Deno.test("nearest upsampling repeats each pixel; its gradient sums each s×s block", () => {
  // A [1, 2, 3, 2] image: values 0..11, channels interleaved.
  const x = tf.tensor4d(Array.from({ length: 12 }, (_, i) => i), [1, 2, 3, 2]);
  for (const s of [2, 3]) {
    const y = upsample(x, s, { method: "nearest" });
    assert.deepEqual(y.shape, [1, 2 * s, 3 * s, 2]);
    const got = y.dataSync();
    // Output (r, c, ch) is input (⌊r/s⌋, ⌊c/s⌋, ch), written out by hand.
    for (let r = 0; r < 2 * s; r++) {
      for (let c = 0; c < 3 * s; c++) {
        for (let ch = 0; ch < 2; ch++) {
          const want = (Math.floor(r / s) * 3 + Math.floor(c / s)) * 2 + ch;
          assert.equal(got[(r * 3 * s + c) * 2 + ch], want, `s ${s} at ${r},${c},${ch}`);
        }
      }
    }
    // d/dx of Σ w·y with w = the output index: each input's gradient is the sum of its block.
    const w = tf.tensor4d(Array.from({ length: y.size }, (_, i) => i), y.shape);
    const g = tf.grad((v: tf.Tensor) =>
      tf.sum(tf.mul(upsample(v as tf.Tensor4D, s, { method: "nearest" }), w))
    )(x);
    const gd = g.dataSync();
    for (let r = 0; r < 2; r++) {
      for (let c = 0; c < 3; c++) {
        for (let ch = 0; ch < 2; ch++) {
          let want = 0;
          for (let i = 0; i < s; i++) {
            for (let j = 0; j < s; j++) want += ((r * s + i) * 3 * s + c * s + j) * 2 + ch;
          }
          assert.equal(gd[(r * 3 + c) * 2 + ch], want);
        }
      }
    }
    tf.dispose([y, w, g]);
  }
  assert.deepEqual(phaseWeights(2, "nearest"), [[0, 0, 1, 0, 0], [0, 0, 1, 0, 0]]);
  x.dispose();
});

Deno.test("pixelShuffle equals tf.depthToSpace, and its gradient is the inverse permutation", () => {
  for (const [b, h, w, c, r] of [[2, 3, 4, 3, 2], [1, 2, 2, 2, 3], [2, 1, 3, 1, 4]]) {
    const x = tf.randomNormal([b!, h!, w!, c! * r! * r!], 0, 1, "float32", 7) as tf.Tensor4D;
    const y = pixelShuffle(x, r!);
    const ref = tf.depthToSpace(x, r!);
    assert.deepEqual(y.shape, ref.shape);
    assert.equal(maxAbsDiff(y.dataSync(), ref.dataSync()), 0);
    const dy = tf.randomNormal(y.shape, 0, 1, "float32", 8);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(pixelShuffle(t as tf.Tensor4D, r!), dy)))(x);
    assert.equal(maxAbsDiff(g.dataSync(), shuffleGradByHand(dy, r!)), 0);
    tf.dispose([x, y, ref, dy, g]);
  }
});

Deno.test("maxPool2x2 equals tf.maxPool forward; its gradient matches a hand computation", () => {
  const shapes: [number, number, number, number][] = [[2, 4, 6, 3], [1, 2, 4, 2], [2, 2, 2, 1], [
    3,
    8,
    8,
    5,
  ]];
  for (const shape of shapes) {
    const x = tf.randomNormal(shape, 0, 1, "float32", 21) as tf.Tensor4D;
    const y = maxPool2x2(x);
    const ref = tf.maxPool(x, 2, 2, "valid");
    assert.deepEqual(y.shape, ref.shape);
    assert.equal(maxAbsDiff(y.dataSync(), ref.dataSync()), 0);
    const dy = tf.randomNormal(y.shape, 0, 1, "float32", 22);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(maxPool2x2(t as tf.Tensor4D), dy)))(x);
    assert.equal(maxAbsDiff(g.dataSync(), maxPoolGradByHand(x, dy)), 0, `shape ${shape}`);
    tf.dispose([x, y, ref, dy, g]);
  }
  // Ties (all-zero blocks after a ReLU): the gradient goes to exactly one element per block.
  const zeros = tf.zeros([1, 2, 2, 1]) as tf.Tensor4D;
  const g = tf.grad((t: tf.Tensor) => tf.sum(maxPool2x2(t as tf.Tensor4D)))(zeros).dataSync();
  assert.deepEqual(Array.from(g), [1, 0, 0, 0]);
  zeros.dispose();
});

Deno.test("pixelShuffle rejects a channel count that factor² does not divide", () => {
  const x = tf.zeros([1, 2, 2, 6]) as tf.Tensor4D;
  assert.throws(() => pixelShuffle(x, 2), /6 channels are not divisible by factor² = 4/);
  x.dispose();
});

Deno.test("ICNR: conv + pixel shuffle starts as nearest-neighbour upsampling of one conv", () => {
  const r = 2;
  const cin = 3;
  const cout = 2;
  const kernel = new ICNR({ scale: r, seed: 11 }).apply([3, 3, cin, cout * r * r]);
  const x = tf.randomNormal([2, 4, 5, cin], 0, 1, "float32", 12) as tf.Tensor4D;
  const shuffled = pixelShuffle(tf.conv2d(x, kernel as tf.Tensor4D, 1, "same"), r);
  // The sub-kernel: output channels 0..cout−1 of the tiled kernel.
  const sub = tf.slice(kernel, [0, 0, 0, 0], [3, 3, cin, cout]) as tf.Tensor4D;
  const small = tf.conv2d(x, sub, 1, "same").arraySync() as number[][][][];
  const got = shuffled.arraySync() as number[][][][];
  let worst = 0;
  for (let b = 0; b < 2; b++) {
    for (let i = 0; i < 4 * r; i++) {
      for (let j = 0; j < 5 * r; j++) {
        for (let c = 0; c < cout; c++) {
          const want = small[b]![Math.floor(i / r)]![Math.floor(j / r)]![c]!;
          worst = Math.max(worst, Math.abs(got[b]![i]![j]![c]! - want));
        }
      }
    }
  }
  assert.ok(worst < 1e-6, `ICNR output differs from nearest upsampling by ${worst}`);
  // He-normal statistics for the sub-kernel: std ≈ sqrt(2 / fanIn), truncated at 2σ.
  const std = Math.sqrt(tf.moments(sub).variance.dataSync()[0]!);
  assert.ok(std > 0.2 && std < 0.6, `sub-kernel std ${std} (He: ${Math.sqrt(2 / 27)})`);
  tf.dispose([kernel, x, shuffled, sub]);
});

Deno.test("OutputMap: residual in logit space stays in range and returns the base for a zero head", () => {
  const z = tfl.input({ shape: [2, 2, 3] });
  const b = tfl.input({ shape: [2, 2, 1] });
  const y = new OutputMap({ range: [-1, 3], residual: true }).apply([z, b]) as tfl.SymbolicTensor;
  const m = tfl.model({ inputs: [z, b], outputs: y });
  const base = tf.tensor4d([-1, 0, 1, 3], [1, 2, 2, 1]);
  const zero = m.predict([tf.zeros([1, 2, 2, 3]), base]) as tf.Tensor;
  // Base values at the ends move in by at most ε·(hi − lo) = 4e-3.
  const want = [-1, -1, -1, 0, 0, 0, 1, 1, 1, 3, 3, 3];
  assert.ok(maxAbsDiff(zero.dataSync(), want) < 4.1e-3);
  const big = m.predict([tf.fill([1, 2, 2, 3], 50), base]) as tf.Tensor;
  const vals = Array.from(big.dataSync());
  assert.ok(vals.every((v) => v <= 3 && v > 2.99), `${vals}`);
  tf.dispose([zero, big, base]);
});

Deno.test("checkInputSize names the size and the divisor", () => {
  checkInputSize(16, 24, 8);
  assert.throws(
    () => checkInputSize(30, 32, 8),
    (e: unknown) =>
      e instanceof UNetInputSizeError && e.height === 30 && e.divisor === 8 &&
      /30×32/.test(e.message) && /divisible by 8/.test(e.message) && /pad to 32×32/.test(e.message),
  );
});

Deno.test("the custom layers leak no tensors", async () => {
  const x = tf.randomNormal([1, 4, 4, 8]) as tf.Tensor4D;
  await assertNoLeak(() => pixelShuffle(x, 2), { label: "pixelShuffle" });
  await assertNoLeak(() => upsample(x, 3), { label: "upsample" });
  await assertNoLeak(
    () => tf.grad((t: tf.Tensor) => tf.sum(upsample(t as tf.Tensor4D, 2)))(x),
    { label: "upsample gradient" },
  );
  await assertNoLeak(() => new ICNR({ scale: 2 }).apply([3, 3, 2, 8]), { label: "ICNR" });
  const layers = [new PixelShuffle({ factor: 2 }), new Upsample({ factor: 2 })];
  for (const layer of layers) {
    await assertNoLeak(() => layer.apply(x) as tf.Tensor, { label: layer.getClassName() });
  }
  x.dispose();
});

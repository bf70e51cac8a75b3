/**
 * The sliced-Wasserstein colour kind (src/loss/kinds/colour.ts, written with the public kind
 * API), against hand-computed values (sorted projections, binned quantile functions, the
 * distance and its gradient), through evaluate / precomputeTarget with sides of
 * different sizes, a JSON round trip, option checks, and no leak.
 */
import assert from "node:assert/strict";
import * as E from "fp-ts/lib/Either.js";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-layers"; // registers the gradients
import { initBackend } from "../src/backend/mod.ts";
import { assertNoLeak } from "../src/lifetime/mod.ts";
import {
  decodeLossSpec,
  encodeLossSpec,
  evaluate,
  InvalidTermOptionError,
  precomputeTarget,
} from "../src/loss/mod.ts";
import { colourKind } from "../src/loss/mod.ts";
import {
  colourDirections,
  quantileMeans,
  slicedDistance,
  sortedProjections,
} from "../src/loss/_sliced_wasserstein.ts";
import { tinyNet } from "./loss_support.ts";

await initBackend("cpu");

const close = (a: ArrayLike<number>, b: readonly number[], tol = 1e-6) => {
  assert.equal(a.length, b.length);
  for (let i = 0; i < b.length; i++) {
    assert.ok(Math.abs(a[i]! - b[i]!) <= tol, `[${i}] ${a[i]} vs ${b[i]}`);
  }
};

/** A 1×h×w×3 image of grey pixels `v` (row-major). */
const grey = (h: number, w: number, v: readonly number[]) =>
  tf.tensor4d(v.flatMap((x) => [x, x, x]), [1, h, w, 3]);

Deno.test("colourDirections: unit vectors, the same for the same seed, others for another", () => {
  const d = colourDirections(64, 7);
  for (let k = 0; k < 64; k++) {
    assert.ok(Math.abs(Math.hypot(d[k]!, d[64 + k]!, d[128 + k]!) - 1) < 1e-6);
  }
  assert.deepEqual(d, colourDirections(64, 7));
  assert.notDeepEqual(d, colourDirections(64, 8));
  // Uniform on the sphere: each coordinate's square averages 1/3 (1024 directions: ±0.03).
  const e = colourDirections(1024, 0);
  for (let c = 0; c < 3; c++) {
    let m = 0;
    for (let k = 0; k < 1024; k++) m += e[c * 1024 + k]! ** 2 / 1024;
    assert.ok(Math.abs(m - 1 / 3) < 0.03, `coordinate ${c}: mean square ${m}`);
  }
});

Deno.test("sortedProjections: each direction's projections in decreasing order", () => {
  tf.tidy(() => {
    // pixels (0.1, 0.2, 0.3), (0.5, 0, 0), (0, 0, 1); directions R and (G + B)/√2
    const img = tf.tensor4d([0.1, 0.2, 0.3, 0.5, 0, 0, 0, 0, 1], [1, 1, 3, 3]);
    const r2 = Math.SQRT1_2;
    const s = sortedProjections(img, tf.tensor2d([1, 0, 0, r2, 0, r2], [3, 2]));
    assert.deepEqual(s.shape, [1, 2, 3]);
    close(s.dataSync(), [0.5, 0.1, 0, r2, 0.5 * r2, 0]);
  });
});

Deno.test("quantileMeans: bin means of the quantile function, exact and straddling bins", () => {
  tf.tidy(() => {
    // 4 values, 2 bins: the means of pairs
    close(quantileMeans(tf.tensor3d([0.9, 0.4, 0.3, 0.2], [1, 1, 4]), 2).dataSync(), [
      0.65,
      0.25,
    ]);
    // 3 values, 2 bins of 1.5 values: (0.9 + ½·0.6)/1.5 = 0.8, (½·0.6 + 0.3)/1.5 = 0.4
    close(quantileMeans(tf.tensor3d([0.9, 0.6, 0.3], [1, 1, 3]), 2).dataSync(), [0.8, 0.4]);
    // 2 values, 4 bins: each value fills two bins
    close(quantileMeans(tf.tensor3d([0.5, 0.1], [1, 1, 2]), 4).dataSync(), [0.5, 0.5, 0.1, 0.1]);
    // 5 values, 3 bins of 5/3 values: (3 + ⅔·2)/(5/3) = 2.6, (⅓·2 + 1 + ⅓·0)/(5/3) = 1,
    // (⅔·0 − 1)/(5/3) = −0.6
    close(
      quantileMeans(tf.tensor3d([3, 2, 1, 0, -1], [1, 1, 5]), 3).dataSync(),
      [2.6, 1, -0.6],
      1e-5,
    );
  });
});

Deno.test("quantileMeans' gradient, by hand, on cpu and on wasm (which lacks UnsortedSegmentSum)", async () => {
  for (const backend of ["cpu", "wasm"] as const) {
    await initBackend(backend);
    tf.tidy(() => {
      // bins (v0 + ½v1)/1.5 and (½v1 + v2)/1.5: d(2·bin0 + bin1)/dv = [2, 1.5, 1]/1.5
      const f = (v: tf.Tensor) =>
        tf.sum(tf.mul(quantileMeans(v as tf.Tensor3D, 2), tf.tensor3d([2, 1], [1, 1, 2])));
      close(tf.grad(f)(tf.tensor3d([0.9, 0.6, 0.3], [1, 1, 3])).dataSync(), [4 / 3, 1, 2 / 3]);
    });
  }
  await initBackend("cpu");
});

Deno.test("slicedDistance and its gradient, by hand", () => {
  tf.tidy(() => {
    // pixels R = 0.1 and 0.5 against a target whose sorted R is [0.4, 0.2]: 0.5 pairs with 0.4,
    // 0.1 with 0.2; loss ((0.5 − 0.4)² + (0.1 − 0.2)²)/2 = 0.01; d/dR = (2·0.1/2, 2·(−0.1)/2)
    const img = tf.tensor4d([0.1, 0, 0, 0.5, 0, 0], [1, 1, 2, 3]);
    const dirs = tf.tensor2d([1, 0, 0], [3, 1]);
    const target = tf.tensor3d([0.4, 0.2], [1, 1, 2]);
    const f = (x: tf.Tensor) => slicedDistance(sortedProjections(x as tf.Tensor4D, dirs), target);
    close(f(img).dataSync(), [0.01]);
    close(tf.grad(f)(img).dataSync(), [-0.1, 0, 0, 0.1, 0, 0]);
    assert.throws(
      () => slicedDistance(tf.zeros([1, 2, 4]) as tf.Tensor3D, tf.zeros([1, 3, 4])),
      /same directions and quantiles/,
    );
  });
});

Deno.test("the colour kind through evaluate, with the target precomputed from a larger image", () => {
  const net = tinyNet();
  // Grey pixels v·(1,1,1) project to s_k·v on direction k (s_k its coordinates' sum): the 2-pixel
  // prediction [0.5, 0.1] and the 4-pixel target [0.9, 0.4, 0.3, 0.2] in 2 quantile bins differ
  // by s_k·0.15 in both bins, so the loss is 0.0225 · mean(s_k²).
  const pred = grey(1, 2, [0.1, 0.5]);
  const target = grey(2, 2, [0.9, 0.2, 0.4, 0.3]);
  const directions = 16;
  const d = colourDirections(directions, 3);
  let meanS2 = 0;
  for (let k = 0; k < directions; k++) {
    meanS2 += (d[k]! + d[directions + k]! + d[2 * directions + k]!) ** 2 / directions;
  }
  const loss = colourKind.loss({ directions, seed: 3, quantiles: 2, weight: 10 });
  let value = NaN;
  assertNoLeak(() => {
    using fixed = precomputeTarget(loss, net, target, { kinds: ["colour"] });
    const r = evaluate(loss, net, { target: fixed })(pred);
    value = r.total.dataSync()[0]!;
    tf.dispose([r.total, ...Object.values(r.terms)]);
  });
  assert.ok(Math.abs(value - 10 * 0.0225 * meanS2) < 1e-6, `${value} vs ${0.225 * meanS2}`);
  // Uniform directions: E[s²] = 1, so with many directions the loss is near 0.0225 whatever the
  // seed (1024 directions: within 10%).
  const many = colourKind.loss({ directions: 1024, quantiles: 2 });
  using fixedMany = precomputeTarget(many, net, target);
  const r = evaluate(many, net, { target: fixedMany })(pred);
  assert.ok(Math.abs(r.total.dataSync()[0]! - 0.0225) < 0.00225, `${r.total.dataSync()[0]}`);
  tf.dispose([r.total, ...Object.values(r.terms), pred, target]);
  net.dispose();
});

Deno.test("the colour kind in JSON, and its options checked", () => {
  const loss = colourKind.loss({ directions: 8, weight: 2 });
  const json = JSON.parse(JSON.stringify(encodeLossSpec(loss)));
  // defaults (seed 0, quantiles 256) left out
  assert.deepEqual(json.terms[0], { kind: "colour", directions: 8, weight: 2 });
  const back = decodeLossSpec(json);
  assert.ok(E.isRight(back), E.isLeft(back) ? back.left.message : "");
  assert.equal(back.right.terms[0]!.kind, "colour");
  assert.throws(() => colourKind.loss({ directions: 0 }), InvalidTermOptionError);
  assert.throws(() => colourKind.loss({ quantiles: 1.5 }), /an integer from 1 to 65536/);
  // RGB only
  const net = tinyNet();
  const g = tf.zeros([1, 2, 2, 1]) as tf.Tensor4D;
  assert.throws(() => evaluate(colourKind.loss(), net)(g, g), /RGB/);
  g.dispose();
  net.dispose();
});

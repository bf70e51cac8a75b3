// The style example's three image statistics against hand-computed values: histogram
// Bhattacharyya distances of images with known colour counts, the correlation of block gradient
// maps of step images, and the spectrum peak of sums of cosines whose DFT powers are known.
import assert from "node:assert/strict";
import type { Pixels } from "../src/data/mod.ts";
import { readPixels } from "../src/data/mod.ts";
import {
  colourDistance,
  colourHistogram,
  edgeCorrelation,
  latticePeak,
} from "../src/metrics/mod.ts";
import { styleStats } from "../examples/common/style_eval.ts";

/** An RGB image whose pixel i has colour f(i). */
function rgb(width: number, height: number, f: (x: number, y: number) => number[]): Pixels {
  const data = new Float32Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data.set(f(x, y), (y * width + x) * 3);
  }
  return { width, height, channels: 3, data };
}

/** A grey (one-channel) image of value f(x, y). */
function grey(width: number, height: number, f: (x: number, y: number) => number): Pixels {
  const data = new Float32Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[y * width + x] = f(x, y);
  return { width, height, channels: 1, data };
}

const close = (a: number, b: number, tol = 1e-9) =>
  assert.ok(Math.abs(a - b) <= tol, `${a} is not within ${tol} of ${b}`);

Deno.test("colourHistogram: joint RGB bins, normalised, 1.0 in the top bin", () => {
  // Four pixels: two black, one pure red, one white; 2 bins per channel.
  const p = rgb(4, 1, (x) => [[0, 0, 0], [0, 0, 0], [1, 0, 0], [1, 1, 1]][x]!);
  const h = colourHistogram(p, 2);
  assert.deepEqual(Array.from(h), [0.5, 0, 0, 0, 0.25, 0, 0, 0.25]); // (r·2+g)·2+b
  // 8 bins: 0.49 falls in bin 3, 0.5 in bin 4.
  const q = colourHistogram(rgb(2, 1, (x) => [[0.49, 0, 0], [0.5, 0, 0]][x]!));
  assert.equal(q[3 * 64], 0.5);
  assert.equal(q[4 * 64], 0.5);
});

Deno.test("colourDistance: 0 for the same colours, 1 for disjoint ones, √(1 − √½) for half", () => {
  const dark = rgb(4, 2, () => [0.1, 0.1, 0.1]);
  const light = rgb(3, 3, () => [0.9, 0.2, 0.4]);
  const half = rgb(4, 2, (x) => x < 2 ? [0.1, 0.1, 0.1] : [0.9, 0.9, 0.9]);
  assert.equal(colourDistance(dark, dark), 0);
  // Different sizes, same colour distribution.
  assert.equal(colourDistance(dark, rgb(7, 5, () => [0.1, 0.1, 0.1])), 0);
  close(colourDistance(dark, light), 1);
  // Bhattacharyya coefficient √(1·½) = 0.7071; distance √(1 − 0.7071) = 0.5412.
  close(colourDistance(dark, half), Math.sqrt(1 - Math.SQRT1_2));
  // Symmetric, and a grey image counts as R = G = B.
  close(colourDistance(half, dark), colourDistance(dark, half));
  const g = grey(4, 2, (x) => x < 2 ? 0.1 : 0.9);
  assert.equal(colourDistance(g, half), 0);
});

Deno.test("edgeCorrelation: 1/√3 for one shared step out of two, 1 for itself, 0 for a flat image", () => {
  // 4×16: a steps up once at x 1→2 (block 0); b steps up there and back down at 9→10 (block 2).
  // Block maps [1, 0, 0, 0]·¼ and [1, 0, 1, 0]·¼: Pearson r = 0.5 / √(0.75 · 1) = 1/√3.
  const a = grey(16, 4, (x) => x >= 2 ? 1 : 0);
  const b = grey(16, 4, (x) => x >= 2 && x < 10 ? 1 : 0);
  close(edgeCorrelation(a, b), 1 / Math.sqrt(3));
  close(edgeCorrelation(a, a), 1);
  // Contrast and brightness do not matter; a flat image has no edges to correlate.
  close(edgeCorrelation(b, grey(16, 4, (x) => x >= 2 && x < 10 ? 0.2 : 0.7)), 1);
  assert.equal(edgeCorrelation(a, grey(16, 4, () => 0.5)), 0);
  // The same along columns: a transposed pair gives the same r.
  const at = grey(4, 16, (_, y) => y >= 2 ? 1 : 0);
  const bt = grey(4, 16, (_, y) => y >= 2 && y < 10 ? 1 : 0);
  close(edgeCorrelation(at, bt), 1 / Math.sqrt(3));
  assert.throws(() => edgeCorrelation(a, at), /differ in size \(16x4 vs 4x16\)/);
});

Deno.test("latticePeak: the period's DFT power over the mean of the bins 2-4 away", () => {
  const cos = (k: number, n: number, x: number) => Math.cos((2 * Math.PI * k * x) / n);
  // Rows of cos(2πx/8) + cos(2π·11x/64): bin 8 and bin 11 have power 32² each; the neighbours
  // are bins 4, 5, 6, 10, 11, 12, so the mean is 32²/6 and the ratio 6.
  const rows = grey(64, 8, (x) => cos(8, 64, x) + cos(11, 64, x));
  close(latticePeak(rows, 8), 6, 1e-6);
  // The same along columns (rows of a constant have no power at all there).
  close(latticePeak(grey(8, 64, (_, y) => cos(8, 64, y) + cos(11, 64, y)), 8), 6, 1e-6);
  // Half the amplitude at the period: a quarter of the power, ratio 6/4.
  close(latticePeak(grey(64, 8, (x) => 0.5 * cos(8, 64, x) + cos(11, 64, x)), 8), 1.5, 1e-6);
  // Period 4 reads bin 16, neighbours 12, 13, 14, 18, 19, 20: a cosine at 19 and one at 16,
  // amplitudes 1 and 2 → power ratio 4 · 6 = 24.
  close(latticePeak(grey(64, 4, (x) => 2 * cos(16, 64, x) + cos(19, 64, x)), 4), 24, 1e-6);
  // A width that is not a multiple of the period: the rows are cropped to 64 of 70.
  close(latticePeak(grey(70, 8, (x) => cos(8, 64, x) + cos(11, 64, x)), 8), 6, 1e-6);
  // No power anywhere: no peak (1).
  assert.equal(latticePeak(grey(64, 8, () => 0.3), 8), 1);
  assert.throws(() => latticePeak(rows, 1.5), /period must be an integer >= 2/);
});

Deno.test("latticePeak finds an 8-px dot lattice laid over a real photo; styleStats judges it", async () => {
  const path = "examples/data/skimage_chelsea.png";
  const photo = await readPixels(path, { channels: 3 });
  // Bright dots every 8 pixels in both directions (what the pixel-shuffle U-Net painted).
  const data = Float32Array.from(photo.data);
  for (let y = 3; y < photo.height; y += 8) {
    for (let x = 3; x < photo.width; x += 8) {
      data.fill(1, (y * photo.width + x) * 3, (y * photo.width + x) * 3 + 3);
    }
  }
  const dotted = { ...photo, data };
  const own = latticePeak(photo, 8);
  const dots = latticePeak(dotted, 8);
  assert.ok(own < 2, `the photo itself: ${own}`);
  assert.ok(dots > 4 && dots > 2 * own, `the dotted photo: ${dots} vs ${own}`);
  // The dotted photo as a "stylisation" with the photo's own colours as the style: colours and
  // edges are met, the lattice is not.
  const s = styleStats(photo, dotted, photo);
  assert.ok(s.stylisedLattice > Math.max(4, 2 * s.photoLattice));
  assert.ok(s.edges > 0.3, `edges ${s.edges}`);
  assert.equal(s.ok, false);
  // The photo against itself as style: distance 0 <= 0 / 2, correlation 1, its own lattice.
  const same = styleStats(photo, photo, photo);
  assert.equal(same.stylisedColour, 0);
  assert.equal(same.edges, 1);
  assert.equal(same.ok, true);
});

// Comparison panels: the zoomed region is where two images differ most (hand-made cases with a
// known answer), and the panel's layout, inset (nearest ×zoom) and outline are where they should
// be, pixel for pixel.
import assert from "node:assert/strict";
import { comparisonPanel, mostDifferentRegion, type Pixels } from "../src/data/mod.ts";

function flat(w: number, h: number, c: number, v: number): Pixels & { data: Float32Array } {
  return { height: h, width: w, channels: c, data: new Float32Array(w * h * c).fill(v) };
}

function at(p: Pixels, x: number, y: number): number[] {
  const i = (y * p.width + x) * p.channels;
  return Array.from(p.data.subarray(i, i + p.channels));
}

Deno.test("mostDifferentRegion: an 8x8 block beats a brighter single pixel; one channel counts", () => {
  const bicubic = flat(40, 30, 3, 0.5);
  const model = flat(40, 30, 3, 0.5);
  // Block: 8x8 at x 25, y 10, +0.1 in the green channel only: box sum 64 * 0.1 = 6.4.
  for (let y = 10; y < 18; y++) {
    for (let x = 25; x < 33; x++) model.data[(y * 40 + x) * 3 + 1] = 0.6;
  }
  // A spike: one pixel, all channels +0.5: sum 1.5 < 6.4.
  model.data.set([1, 1, 1], (3 * 40 + 3) * 3);
  assert.deepEqual(mostDifferentRegion(model, bicubic, 8), { x: 25, y: 10, size: 8 });
  // With a 1x1 window the spike wins (1.5 > 0.1).
  assert.deepEqual(mostDifferentRegion(model, bicubic, 1), { x: 3, y: 3, size: 1 });
  // Ties: the first window in row-major order (a 2x2 block fits four 3x3 windows).
  const a = flat(6, 6, 1, 0);
  const b = flat(6, 6, 1, 0);
  for (const [x, y] of [[2, 2], [3, 2], [2, 3], [3, 3]]) b.data[y * 6 + x] = 1;
  assert.deepEqual(mostDifferentRegion(a, b, 3), { x: 1, y: 1, size: 3 });
  assert.throws(() => mostDifferentRegion(a, b, 7), RangeError);
  assert.throws(() => mostDifferentRegion(a, flat(5, 6, 1, 0), 2), /same size/);
});

Deno.test("comparisonPanel: layout, nearest x4 inset of the chosen region, outline in each image", () => {
  const w = 20;
  const h = 12;
  const bicubic = flat(w, h, 3, 0.25);
  const model = flat(w, h, 3, 0.25);
  const truth = flat(w, h, 1, 0.75); // grey: shown as grey RGB
  // The model differs from bicubic in a 3x3 block at x 12, y 4, with a gradient inside.
  for (let y = 4; y < 7; y++) {
    for (let x = 12; x < 15; x++) {
      model.data.set([0.1 * (x - 11), 0.1 * (y - 3), 0.9], (y * w + x) * 3);
    }
  }
  const { pixels: p, region } = comparisonPanel([bicubic, model, truth], {
    regionSize: 3,
    gap: 2,
    zoom: 4,
  });
  assert.deepEqual(region, { x: 12, y: 4, size: 3 });
  // Columns are max(w, 3*4) = 20 wide: 3*20 + 2*2 = 64; rows 12 + 2 + 12 = 26.
  assert.equal(p.width, 64);
  assert.equal(p.height, 26);
  assert.equal(p.channels, 3);
  const red = [1, 0, 0];
  // Image k starts at column k * 22; the outline is one pixel outside the region.
  for (const k of [0, 1, 2]) {
    const left = k * 22;
    assert.deepEqual(at(p, left + 11, 3), red); // top-left corner of the outline
    assert.deepEqual(at(p, left + 15, 7), red); // bottom-right corner
    assert.deepEqual(at(p, left + 13, 3), red);
    assert.deepEqual(at(p, left + 0, 0), k === 2 ? [0.75, 0.75, 0.75] : [0.25, 0.25, 0.25]);
  }
  // Inside the region the model's own pixels stay.
  assert.deepEqual(at(p, 22 + 12, 4).map((v) => +v.toFixed(6)), [0.1, 0.1, 0.9]);
  // Inset of the model: 12x12, centred under its 20-wide column: left 22 + 4, top 12 + 2.
  for (const [ix, iy] of [[0, 0], [3, 3], [4, 0], [11, 11], [5, 9]]) {
    const sx = 12 + Math.floor(ix / 4);
    const sy = 4 + Math.floor(iy / 4);
    assert.deepEqual(at(p, 26 + ix, 14 + iy), at(model, sx, sy), `inset (${ix}, ${iy})`);
  }
  // Gaps and margins are the background.
  assert.deepEqual(at(p, 20, 0), [1, 1, 1]);
  assert.deepEqual(at(p, 22 + 3, 14), [1, 1, 1]);
  // A given region is used as it is.
  assert.deepEqual(
    comparisonPanel([bicubic, model], { region: { x: 0, y: 0, size: 2 } }).region,
    { x: 0, y: 0, size: 2 },
  );
  assert.throws(
    () => comparisonPanel([bicubic, model], { region: { x: 19, y: 0, size: 2 } }),
    RangeError,
  );
});

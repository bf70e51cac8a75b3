/**
 * colourTransfer (src/data/colour_transfer.ts), the style example's recolouring of the photos:
 * the result's colour distribution is the reference's (its quantiles along the RGB axes and its
 * histogram distance), a photo transferred to itself is unchanged up to the ranking bins, the
 * photo's order of brightness is kept, and the same seed gives the same pixels.
 */
import assert from "node:assert/strict";
import { colourTransfer, type Pixels } from "../src/data/mod.ts";
import { mulberry32 } from "../src/data/rng.ts";
import { colourDistance } from "../src/metrics/mod.ts";

/** A w×h RGB image whose pixel i has colour f(i). */
function image(w: number, h: number, f: (i: number) => number[]): Pixels {
  const data = new Float32Array(w * h * 3);
  for (let i = 0; i < w * h; i++) data.set(f(i), 3 * i);
  return { width: w, height: h, channels: 3, data };
}

/** Channel c's values, sorted. */
const sortedChannel = (p: Pixels, c: number) =>
  Float64Array.from({ length: p.width * p.height }, (_, i) => p.data[3 * i + c]!).sort();

Deno.test("colourTransfer gives the reference's colour distribution, whatever the sizes", () => {
  const rng = mulberry32(1);
  // A dull photo (greenish greys) and a reference of two clusters: navy and yellow, 3 : 1.
  const photo = image(64, 48, () => {
    const g = 0.3 + 0.2 * rng.next();
    return [g - 0.05, g + 0.05, g - 0.05 + 0.02 * rng.next()];
  });
  const ref = image(
    40,
    40,
    (i) =>
      i % 4 === 0
        ? [0.9 + 0.05 * rng.next(), 0.8 + 0.05 * rng.next(), 0.2 * rng.next()]
        : [0.05 * rng.next(), 0.1 + 0.05 * rng.next(), 0.4 + 0.1 * rng.next()],
  );
  const out = colourTransfer(photo, ref, { iterations: 20 });
  assert.deepEqual([out.width, out.height, out.channels], [64, 48, 3]);
  // Every channel's quantiles are the reference's (within 0.03; away from the jump at 3/4).
  for (let c = 0; c < 3; c++) {
    const [a, b] = [sortedChannel(out, c), sortedChannel(ref, c)];
    for (const q of [0.05, 0.15, 0.3, 0.45, 0.6, 0.7, 0.8, 0.9, 0.95]) {
      const [x, y] = [a[Math.floor(q * a.length)]!, b[Math.floor(q * b.length)]!];
      assert.ok(Math.abs(x - y) < 0.03, `channel ${c} quantile ${q.toFixed(2)}: ${x} vs ${y}`);
    }
  }
  // A quarter of the pixels yellow, as in the reference.
  let yellow = 0;
  for (let i = 0; i < 64 * 48; i++) if (out.data[3 * i]! > 0.6) yellow++;
  assert.ok(Math.abs(yellow / (64 * 48) - 0.25) < 0.02, `yellow share ${yellow / 3072}`);
  assert.ok(colourDistance(out, ref) < 0.35 * colourDistance(photo, ref));
  // Deterministic for a seed; another seed rotates differently.
  assert.deepEqual(colourTransfer(photo, ref, { iterations: 20 }).data, out.data);
  assert.notDeepEqual(colourTransfer(photo, ref, { iterations: 20, seed: 5 }).data, out.data);
});

Deno.test("colourTransfer keeps a photo transferred to itself, and the order of a grey ramp", () => {
  const rng = mulberry32(2);
  const photo = image(32, 32, () => [rng.next(), rng.next(), rng.next()]);
  const same = colourTransfer(photo, photo);
  let worst = 0;
  for (let i = 0; i < photo.data.length; i++) {
    worst = Math.max(worst, Math.abs(same.data[i]! - photo.data[i]!));
  }
  assert.ok(worst < 0.02, `largest change ${worst}`);
  // No iterations: the photo's own colours (a grey photo becomes R = G = B).
  const grey = { width: 3, height: 1, channels: 1, data: new Float32Array([0.2, 0.5, 0.7]) };
  assert.deepEqual(
    Array.from(colourTransfer(grey, photo, { iterations: 0 }).data).map((v) => +v.toFixed(6)),
    [
      0.2,
      0.2,
      0.2,
      0.5,
      0.5,
      0.5,
      0.7,
      0.7,
      0.7,
    ],
  );
  // A ramp onto a darker ramp of other greys: brighter in, brighter out.
  const ramp = image(16, 1, (i) => [i / 15, i / 15, i / 15]);
  const dark = image(8, 1, (i) => [i / 28, i / 28, i / 28]);
  const out = colourTransfer(ramp, dark);
  for (let i = 1; i < 16; i++) assert.ok(out.data[3 * i]! >= out.data[3 * (i - 1)]! - 1e-6);
  assert.ok(out.data[45]! <= 0.26, `the brightest is the reference's brightest: ${out.data[45]}`);
});

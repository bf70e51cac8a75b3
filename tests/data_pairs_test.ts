import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../src/backend/mod.ts";
import { assertNoLeak } from "../src/lifetime/mod.ts";
import {
  bicubicDownscale,
  CropTooLargeError,
  grayscaleDegradation,
  ImageFolderError,
  imagePairs,
  type Pixels,
  srPairs,
  type SrPairsOptions,
  writePixels,
} from "../src/data/mod.ts";
import { mulberry32 } from "../src/data/rng.ts";

await initBackend("cpu");

const TRAIN = "../shared/data/train";
const trainPresent = (() => {
  try {
    return Deno.statSync(TRAIN).isDirectory;
  } catch {
    return false;
  }
})();
if (!trainPresent) console.log(`data_pairs_test: folder tests on ${TRAIN} skipped, it is absent`);

const tmp = await Deno.makeTempDir({ prefix: "data_pairs_test_" });
globalThis.addEventListener("unload", () => Deno.removeSync(tmp, { recursive: true }));

/** Random 8-bit-valued images of different sizes. */
function images(n: number, seed = 1): Pixels[] {
  const rng = mulberry32(seed);
  return Array.from({ length: n }, (_, i) => {
    const [h, w] = [40 + 3 * i, 36 + 5 * i];
    const data = new Float32Array(h * w * 3).map(() => rng.int(256) / 255);
    return { height: h, width: w, channels: 3, data };
  });
}

async function collect(opts: SrPairsOptions, n: number): Promise<[number[][], number[][]]> {
  const lows: number[][] = [];
  const highs: number[][] = [];
  for await (const { input: lowRes, target: highRes } of srPairs(opts)) {
    lows.push(Array.from(await lowRes.data()));
    highs.push(Array.from(await highRes.data()));
    tf.dispose([lowRes, highRes]);
    if (highs.length === n) break;
  }
  return [lows, highs];
}

const base: SrPairsOptions = { images: images(5), scale: 2, crop: 16, batchSize: 3, seed: 42 };

Deno.test("srPairs: shapes, range, and lowRes = MATLAB bicubic of highRes", async () => {
  let n = 0;
  for await (
    const { input: lowRes, target: highRes } of srPairs({ ...base, scale: 4, batches: 3 })
  ) {
    assert.deepEqual(lowRes.shape, [3, 4, 4, 3]);
    assert.deepEqual(highRes.shape, [3, 16, 16, 3]);
    // Checked against the tensor implementation (dense matrices, not the JS one the stream uses).
    const want = bicubicDownscale(highRes, 4, { quantize: "uint8" });
    const diff = tf.max(tf.abs(tf.sub(want, lowRes)));
    assert.ok((await diff.data())[0]! < 1e-6);
    const [lo, hi] = [tf.min(lowRes), tf.max(lowRes)];
    assert.ok((await lo.data())[0]! >= 0 && (await hi.data())[0]! <= 1);
    tf.dispose([lowRes, highRes, want, diff, lo, hi]);
    n++;
  }
  assert.equal(n, 3);
});

Deno.test("srPairs: same seed → same batches (also re-iterated, without prefetch); other seed differs", async () => {
  const stream = srPairs(base);
  const first: number[][] = [];
  for (let round = 0; round < 2; round++) {
    let k = 0;
    for await (const { input: lowRes, target: highRes } of stream) {
      const v = Array.from(await highRes.data());
      if (round === 0) first.push(v);
      else assert.deepEqual(v, first[k]);
      tf.dispose([lowRes, highRes]);
      if (++k === 4) break;
    }
  }
  const [, again] = await collect({ ...base, prefetch: false }, 4);
  assert.deepEqual(again, first);
  const [, other] = await collect({ ...base, seed: 43 }, 4);
  assert.notDeepEqual(other[0], first[0]);
});

Deno.test("srPairs: startBatch resumes the stream exactly where it was", async () => {
  const [lows, highs] = await collect(base, 6);
  const [lows2, highs2] = await collect({ ...base, startBatch: 4 }, 2);
  assert.deepEqual(highs2, highs.slice(4));
  assert.deepEqual(lows2, lows.slice(4));
});

Deno.test("srPairs: epochs and batches bound the stream; every image once per epoch", async () => {
  const constant = Array.from({ length: 5 }, (_, i): Pixels => ({
    height: 20,
    width: 20,
    channels: 3,
    data: new Float32Array(1200).fill(i / 10),
  }));
  const stream = srPairs({ images: constant, scale: 2, crop: 8, batchSize: 1, seed: 3, epochs: 3 });
  const info = await stream.prepare();
  assert.deepEqual([info.samplesPerEpoch, info.batchesPerEpoch, info.batches], [5, 5, 15]);
  const seen: number[] = [];
  for await (const b of stream) {
    seen.push(Math.round((await b.target.data())[0]! * 10));
    tf.dispose(b);
  }
  assert.equal(seen.length, 15);
  for (let e = 0; e < 3; e++) {
    assert.deepEqual(seen.slice(5 * e, 5 * e + 5).sort(), [0, 1, 2, 3, 4], `epoch ${e}`);
  }
  assert.notDeepEqual(seen.slice(0, 5), seen.slice(5, 10)); // reshuffled (for this seed)
  const twice = srPairs({
    images: constant,
    scale: 2,
    crop: 8,
    batchSize: 4,
    seed: 3,
    epochs: 2,
    cropsPerImage: 2,
  });
  assert.equal((await twice.prepare()).batches, 5); // ceil(2 * 10 / 4)
  let n = 0;
  for await (const b of srPairs({ ...base, batches: 2 })) {
    tf.dispose(b);
    n++;
  }
  assert.equal(n, 2);
});

Deno.test({
  name: "srPairs on a folder of PNG/JPEG files (shared training images)",
  ignore: !trainPresent,
  fn: async () => {
    const stream = srPairs({
      dir: TRAIN,
      scale: 2,
      crop: 64,
      batchSize: 4,
      seed: 1,
      jpegQuality: [30, 60],
    });
    assert.equal((await stream.prepare()).sources.length, 5);
    const runs: number[][] = [];
    for (let r = 0; r < 2; r++) {
      for await (const { input: lowRes, target: highRes } of stream) {
        assert.deepEqual([lowRes.shape, highRes.shape], [[4, 32, 32, 3], [4, 64, 64, 3]]);
        runs.push(Array.from(await lowRes.data()));
        tf.dispose([lowRes, highRes]);
        break;
      }
    }
    assert.deepEqual(runs[0], runs[1]); // random JPEG quality is seeded too
  },
});

Deno.test("imagePairs: grayscale inputs for colourisation", async () => {
  for await (
    const { input, target } of imagePairs({
      images: images(2),
      crop: [12, 20],
      batchSize: 2,
      seed: 9,
      batches: 1,
      degrade: grayscaleDegradation(),
    })
  ) {
    assert.deepEqual([input.shape, target.shape], [[2, 12, 20, 1], [2, 12, 20, 3]]);
    const t = await target.data();
    const g = await input.data();
    assert.ok(Math.abs(g[0]! - (0.299 * t[0]! + 0.587 * t[1]! + 0.114 * t[2]!)) < 1e-6);
    tf.dispose([input, target]);
  }
});

Deno.test("srPairs: a crop larger than an image names the file and both sizes", async () => {
  await writePixels(`${tmp}/big.png`, images(1)[0]!); // 40x36
  await writePixels(`${tmp}/small.png`, {
    height: 30,
    width: 50,
    channels: 3,
    data: new Float32Array(4500),
  });
  const stream = srPairs({ dir: tmp, scale: 2, crop: 32, batchSize: 2, seed: 1 });
  const check = (e: Error) =>
    e instanceof CropTooLargeError && e.message.includes(`${tmp}/small.png`) &&
    e.message.includes("32x32") && e.message.includes("30x50");
  await assert.rejects(() => stream.prepare(), check);
  await assert.rejects(async () => {
    for await (const b of stream) tf.dispose(b);
  }, check);
});

Deno.test("srPairs: empty or missing folder, bad crop/scale and option clashes are clear errors", async () => {
  await Deno.mkdir(`${tmp}/empty`);
  await assert.rejects(async () => {
    for await (
      const b of srPairs({ dir: `${tmp}/empty`, scale: 2, crop: 8, batchSize: 1, seed: 0 })
    ) tf.dispose(b);
  }, (e: Error) => e instanceof ImageFolderError && e.message.includes(`${tmp}/empty`));
  await assert.rejects(
    () => srPairs({ dir: `${tmp}/none`, scale: 2, crop: 8, batchSize: 1, seed: 0 }).prepare(),
    /none' does not exist/,
  );
  assert.throws(() => srPairs({ ...base, crop: 15 }), /crop 15x15 is not a multiple of scale 2/);
  assert.throws(() => srPairs({ ...base, epochs: 1, batches: 2 }), /epochs or batches, not both/);
  assert.throws(() => srPairs({ ...base, batchSize: 0 }), /batchSize must be a positive integer/);
  assert.throws(() => srPairs({ ...base, dir: tmp }), /exactly one of dir, files or images/);
  const mixed = [images(1)[0]!, {
    height: 40,
    width: 40,
    channels: 1,
    data: new Float32Array(1600),
  }];
  await assert.rejects(
    () => srPairs({ ...base, images: mixed }).prepare(),
    /images\[1\]' has 1 channels/,
  );
});

Deno.test("srPairs leaks nothing: a broken-off loop disposes the batch prepared ahead", async () => {
  const stream = srPairs(base);
  await stream.prepare();
  await assertNoLeak(async () => {
    let k = 0;
    for await (const b of stream) {
      tf.dispose(b);
      if (++k === 3) break;
    }
  }, { label: "srPairs iteration" });
  await assertNoLeak(async () => {
    for await (const b of srPairs({ ...base, batches: 2, prefetch: false })) tf.dispose(b);
  }, { label: "srPairs bounded, no prefetch" });
  await assertNoLeak(() => stream.prepare(), { label: "prepare" });
  await assertNoLeak(async () => {
    try {
      for await (const b of srPairs({ ...base, crop: 64 })) tf.dispose(b);
    } catch { /* crop too large */ }
  }, { label: "srPairs error" });
});

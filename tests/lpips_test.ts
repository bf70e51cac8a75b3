// LPIPS v0.1: the published numbers on the lpips repository's example images, the embedded
// weights' checksums, the minimum input sizes (hand-derived from PyTorch's size formulas and
// checked against torch), input errors, and no leaks. Values and gradients against PyTorch:
// tests/lpips_pytorch_test.ts.
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../src/backend/mod.ts";
import { loadImage } from "../src/data/image_io.ts";
import { PerceptualError } from "../src/errors/mod.ts";
import { assertNoLeak } from "../src/lifetime/mod.ts";
import { NetworkInputError, UnknownLayerError } from "../src/network/errors.ts";
import { WeightFileError, WeightHashError } from "../src/vgg/mod.ts";
import { parseSha256Sums } from "../src/vgg/sha256sums.ts";
import { sha256HexSync } from "../src/_internal/hash.ts";
import {
  lpips,
  LPIPS_TAPS,
  LpipsInputTooSmallError,
  lpipsNetwork,
  LpipsShapeMismatchError,
} from "../src/lpips/mod.ts";
import {
  bilinearMatrix,
  lpipsFromFeatures,
  lpipsFromWeighted,
  unitNormalize,
  weightedUnit,
} from "../src/lpips/_lpips_math.ts";
import { tapSizes } from "../src/lpips/_architecture.ts";

await initBackend("wasm");

const SHARED = "../shared/data/lpips";
const shared = await Deno.stat(`${SHARED}/ex_ref.png`).then(() => true, () => false);
if (!shared) console.log(`lpips_test: ${SHARED} is absent; the published-number check is skipped`);
const EMBEDDED = "src/lpips/weights";

async function image(name: string): Promise<tf.Tensor4D> {
  const img = await loadImage(`${SHARED}/${name}`);
  const out = tf.expandDims(img, 0) as tf.Tensor4D;
  img.dispose();
  return out;
}

Deno.test({
  name: "published: alex 0.722 / 0.138, squeeze 0.711 / 0.148 on ex_ref vs ex_p0 / ex_p1",
  ignore: !shared,
  async fn() {
    const [ref, p0, p1] = await Promise.all(["ex_ref.png", "ex_p0.png", "ex_p1.png"].map(image));
    // Published (lpips test_network.py, alex v0.1): (0.722, 0.138). squeeze: the shared data's
    // README, an independent PyTorch rebuild: 0.7110 / 0.1479.
    const want = { alex: [0.722, 0.138], squeeze: [0.711, 0.148] };
    for (const net of ["alex", "squeeze"] as const) {
      using metric = await lpips({ net });
      const batch = [tf.concat([ref, ref]), tf.concat([p0, p1])] as tf.Tensor4D[];
      const got = await metric.scores(batch[0]!, batch[1]!);
      console.log(`  ${net}: ${got.map((v) => v.toFixed(4))}`);
      assert.deepEqual(got.map((v) => v.toFixed(3)), want[net].map((v) => v.toFixed(3)));
      // One image at a time gives the same as the batch.
      assert.ok(Math.abs((await metric.scores(ref, p1))[0]! - got[1]!) < 1e-6);
      // Symmetric, and 0 for identical images.
      assert.ok(Math.abs((await metric.scores(p0, ref))[0]! - got[0]!) < 1e-6);
      assert.equal((await metric.scores(ref, ref))[0], 0);
      tf.dispose(batch);
    }
    tf.dispose([ref, p0, p1]);
  },
});

Deno.test("embedded weights: SHA256SUMS lists each file with its real hash; lin weights ≥ 0", async () => {
  for (const net of ["alex", "squeeze"] as const) {
    const dir = `${EMBEDDED}/${net}`;
    const sums = parseSha256Sums(await Deno.readTextFile(`${dir}/SHA256SUMS`));
    assert.deepEqual([...sums.keys()].sort(), ["group1-shard1of1", "weights_manifest.json"]);
    for (const [file, hash] of sums) {
      assert.equal(sha256HexSync(await Deno.readFile(`${dir}/${file}`)), hash, `${net}/${file}`);
    }
    using n = await lpipsNetwork({ net });
    assert.deepEqual(n.layers, LPIPS_TAPS[net]);
    assert.equal(n.key, `lpips-${net}`);
    const channels = {
      alex: [64, 192, 384, 256, 256],
      squeeze: [64, 128, 256, 384, 384, 512, 512],
    };
    for (const [i, tap] of n.layers.entries()) {
      const w = n.linWeights(tap);
      assert.deepEqual(w.shape, [channels[net][i]]);
      assert.ok((await tf.min(w).data())[0]! >= 0, `${net} ${tap} lin weights are non-negative`);
    }
  }
});

async function copyDir(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
    await Deno.chmod(`${to}/${e.name}`, 0o644);
  }
}

Deno.test("weights option: a copy loads (net folder or its parent); tampering is refused", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    await copyDir(`${EMBEDDED}/squeeze`, `${tmp}/squeeze`);
    const x = tf.fill([1, 20, 24, 3], 0.3) as tf.Tensor4D;
    const y = tf.fill([1, 20, 24, 3], 0.6) as tf.Tensor4D;
    using a = await lpips({ net: "squeeze" });
    using b = await lpips({ net: "squeeze", weights: tmp });
    using c = await lpips({ net: "squeeze", weights: `${tmp}/squeeze` });
    const want = (await a.scores(x, y))[0]!;
    assert.ok(want > 0);
    assert.equal((await b.scores(x, y))[0], want);
    assert.equal((await c.scores(x, y))[0], want);
    assert.match(b.network.name, new RegExp(tmp));
    tf.dispose([x, y]);
    // A changed shard: WeightHashError naming the file, before any weight is used.
    const shard = `${tmp}/squeeze/group1-shard1of1`;
    const bytes = await Deno.readFile(shard);
    bytes[100] = bytes[100]! ^ 1;
    await Deno.writeFile(shard, bytes);
    const before = tf.memory().numTensors;
    await assert.rejects(
      () => lpips({ net: "squeeze", weights: tmp }),
      (e: Error) => e instanceof WeightHashError && e.message.includes("group1-shard1of1"),
    );
    // No SHA256SUMS: refused (verification is required).
    await Deno.remove(`${tmp}/squeeze/SHA256SUMS`);
    await assert.rejects(
      () => lpips({ net: "squeeze", weights: tmp }),
      (e: Error) => e instanceof WeightFileError && /SHA256SUMS/.test(e.message),
    );
    // The other net's folder: refused, naming the first array that does not fit.
    await copyDir(`${EMBEDDED}/squeeze`, `${tmp}/other`);
    await assert.rejects(
      () => lpips({ net: "alex", weights: `${tmp}/other` }),
      (e: Error) =>
        e instanceof WeightFileError && /conv1/.test(e.message) && /11,11,3,64/.test(e.message),
    );
    await assert.rejects(
      () => lpips({ net: "alex", weights: `${tmp}/nowhere` }),
      (e: Error) => e instanceof PerceptualError && /nowhere/.test(e.message),
    );
    assert.equal(tf.memory().numTensors, before, "a failed load left tensors behind");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("minimum sizes: alex 31 (relu1 7, relu2 15), squeeze 17; typed error names it", async () => {
  // By hand from PyTorch's formulas (and checked in torch 1.13: alex fails at 30, runs at 31;
  // squeeze fails at 16, runs at 17). alex: conv1 ⌊(n+4−11)/4⌋+1, pools ⌊(n−3)/2⌋+1;
  // squeeze: conv1 ⌊(n−3)/2⌋+1, pools ⌈(n−3)/2⌉+1.
  assert.deepEqual(tapSizes("alex", 31), [7, 3, 1, 1, 1]);
  assert.deepEqual(tapSizes("alex", 30).slice(0, 3), [6, 2, undefined]);
  assert.deepEqual(tapSizes("squeeze", 17), [8, 4, 2, 1, 1, 1, 1]);
  assert.deepEqual(tapSizes("squeeze", 67), [33, 16, 8, 4, 4, 4, 4]);
  assert.deepEqual(tapSizes("squeeze", 61), [30, 15, 7, 3, 3, 3, 3]);
  using alex = await lpips({ net: "alex" });
  using squeeze = await lpips({ net: "squeeze" });
  assert.equal(alex.network.minInputSize(), 31);
  assert.equal(alex.network.minInputSize(["relu1"]), 7);
  assert.equal(alex.network.minInputSize(["relu2"]), 15);
  assert.equal(squeeze.network.minInputSize(), 17);
  const before = tf.memory().numTensors;
  for (const [m, min] of [[alex, 31], [squeeze, 17]] as const) {
    for (const shape of [[1, min - 1, 40, 3], [2, 40, min - 1, 3]] as const) {
      const x = tf.zeros([...shape]) as tf.Tensor4D;
      assert.throws(
        () => m.distance(x, x),
        (e: Error) =>
          e instanceof LpipsInputTooSmallError && e instanceof NetworkInputError &&
          e.minSize === min && e.message.includes(`${min}×${min}`),
      );
      x.dispose();
    }
    const ok = tf.fill([1, min, min, 3], 0.5) as tf.Tensor4D;
    const d = m.distance(ok, ok);
    assert.deepEqual(Array.from(await d.data()), [0]);
    tf.dispose([ok, d]);
  }
  // A shallow tap runs on a smaller image.
  const small = tf.zeros([1, 15, 15, 3]) as tf.Tensor4D;
  const f = alex.network.extract(small, ["relu2"]);
  assert.deepEqual(f.relu2.shape, [1, 1, 1, 192]);
  assert.throws(() => alex.network.extract(small, ["relu3"]), LpipsInputTooSmallError);
  tf.dispose([small, f.relu2]);
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("input errors: rank, dtype, channels, shapes differ, unknown options and taps", async () => {
  using m = await lpips();
  assert.equal(m.network.net, "alex", "alex is the default");
  const x = tf.zeros([1, 32, 32, 3]) as tf.Tensor4D;
  const before = tf.memory().numTensors;
  const y2 = tf.zeros([2, 32, 32, 3]) as tf.Tensor4D;
  const x3 = tf.zeros([32, 32, 3]);
  const xi = tf.zeros([1, 32, 32, 3], "int32") as tf.Tensor4D;
  const x4 = tf.zeros([1, 32, 32, 4]) as tf.Tensor4D;
  assert.throws(() => m.distance(x, y2), LpipsShapeMismatchError);
  assert.throws(() => m.distance(x3 as tf.Tensor4D, x), /rank 3/);
  assert.throws(() => m.distance(x, xi), /dtype int32/);
  assert.throws(() => m.distance(x4, x4), /4 channels/);
  assert.throws(() => m.distance(x, x, { spacial: true } as never), /did you mean "spatial"/);
  assert.throws(() => m.network.extract(x, ["relu6"]), UnknownLayerError);
  tf.dispose([y2, x3, xi, x4]);
  assert.equal(tf.memory().numTensors, before, "errors left tensors behind");
  await assert.rejects(() => lpips({ nett: "alex" } as never), /did you mean "net"/);
  await assert.rejects(() => lpips({ net: "vgg" } as never), /"alex" or "squeeze"/);
  // Grey images (1 channel) are repeated to RGB: same distance as the RGB copy.
  const g1 = tf.fill([1, 32, 32, 1], 0.25) as tf.Tensor4D;
  const g2 = tf.fill([1, 32, 32, 1], 0.75) as tf.Tensor4D;
  const [r1, r2] = [tf.tile(g1, [1, 1, 1, 3]), tf.tile(g2, [1, 1, 1, 3])] as tf.Tensor4D[];
  const grey = (await m.scores(g1, g2))[0]!;
  assert.ok(Math.abs(grey - (await m.scores(r1!, r2!))[0]!) < 1e-6 && grey > 0);
  tf.dispose([x, g1, g2, r1!, r2!]);
  m.dispose();
  assert.throws(() => m.distance(x, x), /disposed/);
});

Deno.test("no leaks: distance, spatial map, gradients, scores; lpips() + dispose", async () => {
  const start = tf.memory().numTensors;
  for (const net of ["alex", "squeeze"] as const) {
    const m = await lpips({ net });
    const x = tf.randomUniform([2, 33, 35, 3], 0, 1, "float32", 3) as tf.Tensor4D;
    const y = tf.randomUniform([2, 33, 35, 3], 0, 1, "float32", 4) as tf.Tensor4D;
    await assertNoLeak(() => m.distance(x, y), { warmup: 1 });
    await assertNoLeak(() => m.distance(x, y, { spatial: true }), { warmup: 1 });
    await assertNoLeak(() => m.scores(x, y), { warmup: 1 });
    await assertNoLeak(
      () =>
        tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(m.distance(a as never, b as never)))([
          x,
          y,
        ]),
      { warmup: 1 },
    );
    await assertNoLeak(() => m.network.extract(x, ["relu1", "relu3", "relu1"]), { warmup: 1 });
    tf.dispose([x, y]);
    m.dispose();
    m.dispose(); // idempotent
  }
  assert.equal(tf.memory().numTensors, start, "lpips() + dispose left tensors behind");
});

Deno.test("spatial map: bilinear upsampling as PyTorch's align_corners=False, by hand", () => {
  // in 3 → out 5: scale 0.6; src = max(0, (i+0.5)·0.6 − 0.5) = 0, 0.4, 1.0, 1.6, 2.2 → clamped.
  const m = Array.from(bilinearMatrix(3, 5), (v) => Math.round(v * 1e6) / 1e6);
  assert.deepEqual(m, [1, 0, 0, 0.6, 0.4, 0, 0, 1, 0, 0, 0.4, 0.6, 0, 0, 1]);
  // Unit normalisation: (3, 4) → (0.6, 0.8); an all-zero vector stays 0 with a finite gradient.
  const g = tf.grad((f: tf.Tensor) => tf.sum(unitNormalize(f as tf.Tensor4D)))(
    tf.zeros([1, 1, 1, 4]),
  );
  assert.ok(Array.from(g.dataSync()).every(Number.isFinite));
  g.dispose();
});

Deno.test("weights from a URL (the published package's path): fetched, checked, cached, same result", async () => {
  // The default weights are read relative to import.meta.url; from JSR that is an https URL.
  const ac = new AbortController();
  const requests: string[] = [];
  const cache = await Deno.makeTempDir();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} },
    async (req) => {
      const path = new URL(req.url).pathname;
      requests.push(path);
      if (path.includes("..")) return new Response("no", { status: 403 });
      try {
        return new Response(await Deno.readFile(`${EMBEDDED}${path}`));
      } catch {
        return new Response("not found", { status: 404 });
      }
    },
  );
  try {
    const base = `http://127.0.0.1:${server.addr.port}`;
    using a = await lpips({ net: "squeeze" });
    const url = new URL(`${base}/squeeze/`);
    using b = await lpips({ net: "squeeze", weights: url, cacheDir: cache });
    const x = tf.fill([1, 17, 17, 3], 0.2) as tf.Tensor4D;
    const y = tf.fill([1, 17, 17, 3], 0.9) as tf.Tensor4D;
    const want = (await a.scores(x, y))[0];
    assert.equal((await b.scores(x, y))[0], want);
    const shard = "/squeeze/group1-shard1of1";
    assert.equal(requests.filter((r) => r === shard).length, 1);
    // Cached under their SHA-256: the second load fetches only SHA256SUMS.
    const sums = parseSha256Sums(await Deno.readTextFile(`${EMBEDDED}/squeeze/SHA256SUMS`));
    assert.deepEqual(
      [...Deno.readDirSync(cache)].map((e) => e.name).sort(),
      [...sums.values()].sort(),
    );
    using c = await lpips({ net: "squeeze", weights: url, cacheDir: cache });
    assert.equal(requests.filter((r) => r === shard).length, 1, "the shard came from the cache");
    assert.equal((await c.scores(x, y))[0], want);
    // A damaged cache entry is not used: fetched again, and the entry repaired.
    const entry = `${cache}/${sums.get("group1-shard1of1")}`;
    const bytes = await Deno.readFile(entry);
    bytes[7] = bytes[7]! ^ 1;
    await Deno.writeFile(entry, bytes);
    using d = await lpips({ net: "squeeze", weights: url, cacheDir: cache });
    assert.equal(requests.filter((r) => r === shard).length, 2);
    assert.equal((await d.scores(x, y))[0], want);
    assert.equal(sha256HexSync(await Deno.readFile(entry)), sums.get("group1-shard1of1"));
    // No cache: fetched every time.
    using e = await lpips({ net: "squeeze", weights: url, cacheDir: false });
    assert.equal(requests.filter((r) => r === shard).length, 3);
    tf.dispose([x, y]);
    e.dispose();
    await assert.rejects(
      () => lpips({ net: "squeeze", weights: new URL(`${base}/missing/`) }),
      (e: Error) => e instanceof WeightFileError && /HTTP 404/.test(e.message),
    );
  } finally {
    ac.abort();
    await server.finished;
    await Deno.remove(cache, { recursive: true });
  }
});

Deno.test("lpipsFromWeighted (the term's representation) equals lpipsFromFeatures and distance; tap checks", async () => {
  using m = await lpips({ net: "squeeze" });
  const x = tf.randomUniform([2, 24, 20, 3], 0, 1, "float32", 5) as tf.Tensor4D;
  const y = tf.randomUniform([2, 24, 20, 3], 0, 1, "float32", 6) as tf.Tensor4D;
  const before = tf.memory().numTensors;
  const [a, b, d, one] = tf.tidy(() => {
    const taps = m.network.layers;
    const fx = m.network.extract(x, taps);
    const fy = m.network.extract(y, taps);
    const lins = m.network.allLinWeights();
    const weigh = (f: Record<string, tf.Tensor4D>) =>
      Object.fromEntries(taps.map((t) => [t, weightedUnit(f[t]!, lins[t]!)]));
    const [wx, wy] = [weigh(fx), weigh(fy)];
    assert.throws(() => lpipsFromFeatures({}, fy, lins), /no prediction features/);
    assert.throws(
      () => lpipsFromWeighted(wx, { ...wy, relu3: tf.zeros([1, 1, 1, 256]) }, taps),
      /compare images of the same size/,
    );
    // A target of batch 1 broadcasts: image 0 of y against both images of x.
    const y0 = Object.fromEntries(taps.map((t) => [t, tf.slice(wy[t]!, 0, 1)]));
    return [
      lpipsFromFeatures(fx, fy, lins),
      lpipsFromWeighted(wx, wy, taps),
      m.distance(x, y),
      lpipsFromWeighted(wx, y0, taps),
    ];
  });
  const [va, vb, vd, v1] = await Promise.all([a, b, d, one].map((t) => t.data()));
  for (let i = 0; i < 2; i++) {
    assert.ok(Math.abs(va[i]! - vb[i]!) < 1e-7 && Math.abs(va[i]! - vd[i]!) < 1e-7);
  }
  assert.ok(Math.abs(v1[0]! - va[0]!) < 1e-7); // image 0 vs image 0
  assert.ok(Math.abs(v1[1]! - va[1]!) > 1e-3); // image 1 vs image 0: another distance
  tf.dispose([a, b, d, one]);
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([x, y]);
});

// The examples' loss-network choice, offline: ImageNet VGG-16 when its host (a local server here)
// answers or it is cached, else the embedded VGG-19 blocks 1-3 with fastai's layers mapped onto
// them, within a bounded time when the host hangs; random only when asked; an error otherwise.
import assert from "node:assert/strict";
import { initBackend } from "../src/backend/mod.ts";
import { PerceptualError } from "../src/errors/mod.ts";
import { assertNoLeak } from "../src/lifetime/mod.ts";
import { KERAS_IMAGENET_WEIGHTS } from "../src/vgg/mod.ts";
import { NoLossNetworkError, pickLossNetwork } from "../src/experiment/mod.ts";
import { createHash } from "node:crypto";

await initBackend("wasm");

const H5 = "tests/fixtures/vgg_block1/keras_notop.h5"; // VGG-16 block 1 in Keras' layout
const bytes = await Deno.readFile(H5);
const md5 = createHash("md5").update(bytes).digest("hex");

let requests = 0;
const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
  requests++;
  return new URL(req.url).pathname === "/vgg16.h5"
    ? new Response(req.method === "HEAD" ? null : bytes, {
      headers: { "content-length": String(bytes.length) },
    })
    : new Response("no", { status: 404 });
});
const good = `http://127.0.0.1:${server.addr.port}/vgg16.h5`;

// A host that accepts connections and never answers: the probe must give up on its own.
const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 });
const held: Deno.Conn[] = [];
const accepting = (async () => {
  try {
    for await (const c of silent) held.push(c);
  } catch { /* closed */ }
})();
const hanging = `http://127.0.0.1:${(silent.addr as Deno.NetAddr).port}/vgg16.h5`;

async function tempDir(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "pretrained_" });
}

Deno.test("a host that never answers: the embedded VGG-19 blocks 1-3, fastai layers, within the timeout", async () => {
  const cacheDir = await tempDir();
  try {
    const t0 = performance.now();
    using p = await pickLossNetwork({ imagenetUrl: hanging, cacheDir, timeoutMs: 300 });
    const waited = performance.now() - t0;
    assert.equal(p.kind, "embedded-vgg19");
    assert.equal(p.random, false);
    assert.deepEqual(p.layers, ["block1_conv2", "block2_conv2", "block3_conv4"]);
    assert.deepEqual(p.layerWeights, [5, 15, 2]);
    assert.equal(p.net.layers.at(-1), "block3_pool");
    assert.match(p.description, /VGG-19 blocks 1-3.*did not answer within 300 ms/);
    assert.match(p.description, /layers block1_conv2, block2_conv2, block3_conv4/);
    // Bounded: the probe gave up (generous bound: the machine is shared; loading is ~0.1 s).
    assert.ok(waited < 20_000, `took ${waited} ms`);
  } finally {
    await Deno.remove(cacheDir, { recursive: true });
  }
});

Deno.test("a reachable host: ImageNet VGG-16 downloaded, then taken from the cache without a request", async () => {
  const cacheDir = await tempDir();
  try {
    const opts = { imagenetUrl: good, imagenetMd5: md5, cacheDir, layers: ["block1_conv2"] };
    {
      using p = await pickLossNetwork({ ...opts, timeoutMs: 5000 });
      assert.equal(p.kind, "imagenet-vgg16");
      assert.match(p.description, /ImageNet VGG-16.*downloaded/);
      assert.deepEqual(p.layers, ["block1_conv2"]);
    }
    const file = `${cacheDir}/${KERAS_IMAGENET_WEIGHTS.vgg16.fileName}`;
    assert.deepEqual(await Deno.readFile(file), bytes);
    const before = requests;
    using p = await pickLossNetwork({ ...opts, imagenetUrl: hanging, timeoutMs: 100 });
    assert.equal(p.kind, "imagenet-vgg16");
    assert.match(p.description, /cached/);
    assert.equal(requests, before);
  } finally {
    await Deno.remove(cacheDir, { recursive: true });
  }
});

Deno.test("neither ImageNet nor embedded weights: NoLossNetworkError with both reasons", async () => {
  const cacheDir = await tempDir();
  try {
    const err = await pickLossNetwork({
      imagenetUrl: hanging,
      cacheDir,
      timeoutMs: 100,
      embeddedDir: `${cacheDir}/absent`,
    }).then(() => assert.fail("no error"), (e) => e);
    assert.ok(err instanceof NoLossNetworkError && err instanceof PerceptualError);
    assert.match(err.message, /not cached.*did not answer.*absent.*--vgg random/s);
  } finally {
    await Deno.remove(cacheDir, { recursive: true });
  }
});

Deno.test("random only when asked; a path is taken as it is; no tensors left behind", async () => {
  {
    using p = await pickLossNetwork({ vgg: "random", seed: 3 });
    assert.equal(p.kind, "random");
    assert.equal(p.random, true);
    assert.deepEqual(p.layers, ["block3_conv3", "block4_conv3", "block5_conv3"]);
    assert.match(p.description, /RANDOM vgg16.*seed 3/);
  }
  {
    // An encoder's layer loaded beyond the loss's, and not listed as a loss layer.
    using p = await pickLossNetwork({
      vgg: "random",
      layers: ["block1_conv2"],
      alsoLoad: ["block3_conv1"],
    });
    assert.deepEqual(p.layers, ["block1_conv2"]);
    assert.match(p.description, /; layers block1_conv2$/);
    assert.ok(p.net.layers.includes("block3_conv1"), "loaded to the encoder's layer");
    assert.ok(!p.net.layers.includes("block3_conv2"), "and no further");
  }
  {
    using p = await pickLossNetwork({
      vgg: "examples/weights/vgg19_imagenet_blocks1-3",
      net: "vgg19",
    });
    assert.equal(p.kind, "path");
    assert.deepEqual(p.layers, ["block1_conv2", "block2_conv2", "block3_conv4"]);
  }
  await assertNoLeak(async () => {
    using _p = await pickLossNetwork({
      imagenetUrl: hanging,
      timeoutMs: 50,
      cacheDir: "/nonexistent",
    });
  });
});

Deno.test("pretrained tests: stop the servers", async () => {
  await server.shutdown();
  silent.close();
  for (const c of held) c.close();
  await accepting;
});

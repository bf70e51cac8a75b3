// weights: "imagenet" end to end against a local HTTP server on 127.0.0.1 serving a generated
// Keras-layout .h5 (tests/fixtures/vgg_block1): cache hit without a request, md5 verification,
// sha256 recorded, and nothing left in the cache after a wrong hash or a dropped connection.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../src/backend/mod.ts";
import { assertNoLeak } from "../src/lifetime/mod.ts";
import {
  DownloadError,
  type DownloadProgress,
  HashMismatchError,
  KERAS_IMAGENET_WEIGHTS,
  vgg16,
} from "../src/vgg/mod.ts";

await initBackend("cpu");

const H5 = "tests/fixtures/vgg_block1/keras_notop.h5";
const FILE = KERAS_IMAGENET_WEIGHTS.vgg16.fileName;
const bytes = await Deno.readFile(H5);
const md5 = createHash("md5").update(bytes).digest("hex");
const sha256 = Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)))
  .map((b) => b.toString(16).padStart(2, "0")).join("");

let requests = 0;
const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
  requests++;
  const path = new URL(req.url).pathname;
  if (path === "/good.h5") {
    return new Response(bytes, { headers: { "content-length": String(bytes.length) } });
  }
  return new Response("no such file", { status: 404 });
});
const base = `http://127.0.0.1:${server.addr.port}`;

// A server whose connection breaks mid-file: it promises the whole file, sends half, hangs up.
const raw = Deno.listen({ hostname: "127.0.0.1", port: 0 });
const dropping = (async () => {
  for await (const conn of raw) {
    const buf = new Uint8Array(4096);
    await conn.read(buf); // the request head (small enough to arrive in one read)
    const head = `HTTP/1.1 200 OK\r\ncontent-length: ${bytes.length}\r\nconnection: close\r\n\r\n`;
    await conn.write(new TextEncoder().encode(head));
    await conn.write(bytes.subarray(0, bytes.length >> 1));
    conn.close();
  }
})();
const dropUrl = `http://127.0.0.1:${(raw.addr as Deno.NetAddr).port}/drop.h5`;

async function listing(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) names.push(e.name);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return names.sort();
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "vgg_cache_" });
  try {
    await fn(`${dir}/cache`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("imagenet: downloaded once, md5-verified, sha256 recorded, then served from the cache", async () => {
  await withTempDir(async (cacheDir) => {
    const seen: DownloadProgress[] = [];
    const before = requests;
    using net = await vgg16({
      weights: "imagenet",
      url: `${base}/good.h5`,
      md5,
      cacheDir,
      upTo: "block1_conv2",
      onProgress: (p) => seen.push(p),
    });
    assert.equal(requests - before, 1);
    assert.equal(net.name, "vgg16(imagenet, to block1_conv2)");
    assert.deepEqual(await listing(cacheDir), [FILE, `${FILE}.json`]);
    assert.deepEqual(await Deno.readFile(`${cacheDir}/${FILE}`), bytes);
    const record = JSON.parse(await Deno.readTextFile(`${cacheDir}/${FILE}.json`));
    assert.equal(record.md5, md5);
    assert.equal(record.sha256, sha256);
    assert.equal(record.bytes, bytes.length);
    assert.equal(record.url, `${base}/good.h5`);
    const last = seen.at(-1)!;
    assert.ok(last.done && last.received === bytes.length && last.total === bytes.length);
    // Same weights as the file itself.
    using local = await vgg16({ weights: H5, upTo: "block1_conv2" });
    const x = tf.randomUniform([1, 8, 12, 3], 0, 1, "float32", 1) as tf.Tensor4D;
    const a = net.extract(x, ["relu1_2"]).relu1_2;
    const b = local.extract(x, ["relu1_2"]).relu1_2;
    assert.deepEqual(a.dataSync(), b.dataSync());
    tf.dispose([x, a, b]);
    // Second call: no request.
    const again = requests;
    await assertNoLeak(() =>
      vgg16({ weights: "imagenet", url: `${base}/good.h5`, md5, cacheDir, onProgress: false })
    );
    assert.equal(requests, again);
  });
});

Deno.test("imagenet: a wrong hash is an error and leaves nothing in the cache", async () => {
  await withTempDir(async (cacheDir) => {
    await assert.rejects(
      () =>
        vgg16({
          weights: "imagenet",
          url: `${base}/good.h5`,
          md5: "0".repeat(32),
          cacheDir,
          onProgress: false,
        }),
      (e: Error) =>
        e instanceof HashMismatchError && e.message.includes(md5) &&
        e.message.includes(`${base}/good.h5`),
    );
    assert.deepEqual(await listing(cacheDir), []);
    // Without `md5`, Keras' published hash of the official file is what is expected.
    await assert.rejects(
      () => vgg16({ weights: "imagenet", url: `${base}/good.h5`, cacheDir, onProgress: false }),
      (e: Error) =>
        e instanceof HashMismatchError && e.message.includes(KERAS_IMAGENET_WEIGHTS.vgg16.md5),
    );
    assert.deepEqual(await listing(cacheDir), []);
  });
});

Deno.test("imagenet: a connection dropped mid-file or an HTTP error leaves nothing", async () => {
  await withTempDir(async (cacheDir) => {
    await assert.rejects(
      () => vgg16({ weights: "imagenet", url: dropUrl, md5, cacheDir, onProgress: false }),
      (e: Error) => e instanceof DownloadError && /after \d+ (bytes )?/.test(e.message),
    );
    assert.deepEqual(await listing(cacheDir), []);
    await assert.rejects(
      () =>
        vgg16({ weights: "imagenet", url: `${base}/absent.h5`, md5, cacheDir, onProgress: false }),
      (e: Error) => e instanceof DownloadError && /HTTP 404/.test(e.message),
    );
    assert.deepEqual(await listing(cacheDir), []);
  });
});

Deno.test("imagenet: a damaged cached file is never used, it is replaced", async () => {
  await withTempDir(async (cacheDir) => {
    await Deno.mkdir(cacheDir, { recursive: true });
    await Deno.writeFile(`${cacheDir}/${FILE}`, bytes.subarray(0, 100));
    const before = requests;
    using net = await vgg16({
      weights: "imagenet",
      url: `${base}/good.h5`,
      md5,
      cacheDir,
      upTo: "relu1_1",
      onProgress: false,
    });
    assert.equal(requests - before, 1);
    assert.deepEqual(await Deno.readFile(`${cacheDir}/${FILE}`), bytes);
    assert.deepEqual(net.layers, ["block1_conv1"]);
  });
});

Deno.test("the default cache directory: PERCEPTUAL_CACHE, else XDG_CACHE_HOME/perceptual-loss", async () => {
  // In a child process: environment variables are shared by test files running in parallel.
  const module = new URL("../src/vgg/download.ts", import.meta.url).href;
  const code = `import { cachedDownload, defaultCacheDir } from "${module}";
    const f = await cachedDownload({ url: "${base}/good.h5", md5: "${md5}", fileName: "w.h5", onProgress: false });
    console.log(JSON.stringify({ dir: defaultCacheDir(), path: f.path }));`;
  await withTempDir(async (dir) => {
    const run = async (env: Record<string, string>) => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["eval", "--no-check", code],
        env,
        clearEnv: true,
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.ok(out.success, new TextDecoder().decode(out.stderr));
      return JSON.parse(new TextDecoder().decode(out.stdout));
    };
    const own = await run({ PERCEPTUAL_CACHE: `${dir}/own` });
    assert.deepEqual(own, { dir: `${dir}/own`, path: `${dir}/own/w.h5` });
    if (Deno.build.os === "linux") {
      const xdg = await run({ XDG_CACHE_HOME: `${dir}/xdg` });
      assert.equal(xdg.path, `${dir}/xdg/perceptual-loss/w.h5`);
    }
  });
});

Deno.test("download tests: stop the servers", async () => {
  await server.shutdown();
  raw.close();
  await dropping.catch(() => undefined);
});

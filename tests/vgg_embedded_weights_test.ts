// The VGG-19 blocks 1-3 weights embedded under examples/weights: SHA256SUMS verified on load (a
// tampered copy fails with WeightHashError naming the file), and features equal to those of the
// shared copy they were taken from.
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../src/backend/mod.ts";
import { PerceptualError } from "../src/errors/mod.ts";
import { assertNoLeak } from "../src/lifetime/mod.ts";
import { vgg19, WeightFileError, WeightHashError } from "../src/vgg/mod.ts";
import { openTfjsDir } from "../src/vgg/_tfjs_weights.ts";
import { parseSha256Sums } from "../src/vgg/sha256sums.ts";
import { sha256HexSync as sha256Hex } from "../src/_internal/hash.ts";

await initBackend("wasm");

const EMBEDDED = "examples/weights/vgg19_imagenet_blocks1-3";
const SHARED = "../shared/data/vgg19_imagenet_blocks1-3";
const shared = await Deno.stat(`${SHARED}/model.json`).then(() => true, () => false);
if (!shared) console.log(`vgg_embedded_weights_test: ${SHARED} is absent; comparison skipped`);

async function copyDir(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
    await Deno.chmod(`${to}/${e.name}`, 0o644);
  }
}

Deno.test("SHA256SUMS lists model.json and the eight shards with their real sha256", async () => {
  const sums = parseSha256Sums(await Deno.readTextFile(`${EMBEDDED}/SHA256SUMS`));
  const names = ["model.json", ...Array.from({ length: 8 }, (_, i) => `group${i + 1}-shard1of1`)];
  assert.deepEqual([...sums.keys()].sort(), names.sort());
  // Independent reference: the system's sha256sum tool, when there.
  const tool = await new Deno.Command("sha256sum", { args: ["group4-shard1of1"], cwd: EMBEDDED })
    .output().catch(() => undefined);
  if (tool?.success) {
    assert.equal(new TextDecoder().decode(tool.stdout).slice(0, 64), sums.get("group4-shard1of1"));
  }
  assert.equal(
    sha256Hex(new TextEncoder().encode("abc")),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", // FIPS 180-2 example
  );
});

Deno.test("the embedded copy loads (verified) and stops after block3", async () => {
  using net = await vgg19({ weights: EMBEDDED });
  assert.equal(net.layers.at(-1), "block3_pool");
  assert.ok(net.layers.includes("block3_conv4"));
  await assertNoLeak(async () =>
    (await vgg19({ weights: EMBEDDED, upTo: "block2_conv2" })).dispose()
  );
});

Deno.test("a tampered shard or manifest fails with WeightHashError naming the file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vgg19_tampered_" });
  try {
    await copyDir(EMBEDDED, dir);
    // One flipped byte deep in block2_conv2's kernel.
    const shard = `${dir}/group4-shard1of1`;
    const bytes = await Deno.readFile(shard);
    bytes[1000] = bytes[1000]! ^ 1;
    await Deno.writeFile(shard, bytes);
    // Layers before it still load: only the shards read are checked.
    (await vgg19({ weights: dir, upTo: "block2_conv1" })).dispose();
    const err = await vgg19({ weights: dir, upTo: "block2_conv2" }).then(
      () => assert.fail("the tampered shard was accepted"),
      (e) => e,
    );
    assert.ok(err instanceof WeightHashError && err instanceof PerceptualError, String(err));
    assert.equal(err.file, shard);
    assert.match(err.message, /group4-shard1of1.*SHA-256.*regenerate/s);
    // verify: "off" skips the check (the caller's choice).
    (await openTfjsDir(dir, undefined, { verify: "off" })).close();

    // A manifest edit is caught before it is parsed.
    const mj = `${dir}/model.json`;
    await Deno.writeTextFile(mj, (await Deno.readTextFile(mj)).replace("vgg19", "vgg91"));
    await assert.rejects(openTfjsDir(dir), (e) => e instanceof WeightHashError && e.file === mj);

    // Without the list nothing is checked, unless verification is required.
    await Deno.remove(`${dir}/SHA256SUMS`);
    (await openTfjsDir(dir)).close();
    await assert.rejects(
      openTfjsDir(dir, undefined, { verify: "required" }),
      (e) => e instanceof WeightFileError && /SHA256SUMS/.test(e.message),
    );
    // A list that leaves a read file out.
    await Deno.writeTextFile(
      `${dir}/SHA256SUMS`,
      `${sha256Hex(await Deno.readFile(mj))}  model.json\n`,
    );
    await assert.rejects(
      vgg19({ weights: dir, upTo: "block1_conv1" }),
      (e) =>
        e instanceof WeightHashError && e.expected === undefined && /not listed/.test(e.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "block2_conv2 features of the embedded copy equal those of ../shared's copy",
  ignore: !shared,
  async fn() {
    using a = await vgg19({ weights: EMBEDDED, upTo: "block2_conv2" });
    using b = await vgg19({ weights: SHARED, upTo: "block2_conv2" });
    const x = tf.randomUniform([1, 24, 20, 3], 0, 1, "float32", 3) as tf.Tensor4D;
    const fa = a.extract(x, ["block2_conv2"]);
    const fb = b.extract(x, ["block2_conv2"]);
    const [va, vb] = [await fa.block2_conv2.data(), await fb.block2_conv2.data()];
    assert.equal(va.length, 12 * 10 * 128);
    assert.ok(va.some((v) => v > 0), "features are all zero");
    assert.deepEqual(va, vb);
    tf.dispose([x, fa, fb]);
  },
});

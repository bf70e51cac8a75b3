// The infrastructure written once in src/_internal: atomic writes, hashes, env reads, decoding
// helpers, engine access. Expected values are independent (published digests, hand-written paths).
import assert from "node:assert/strict";
import * as E from "fp-ts/lib/Either.js";
import * as t from "io-ts";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../src/backend/mod.ts";
import { listDir, pathKind, writeFileAtomic } from "../src/_internal/fs.ts";
import { fileHash, sha256Hex } from "../src/_internal/hash.ts";
import { readEnv } from "../src/_internal/env.ts";
import { oneOf, orThrow, parseIfText, pathOf, unknownKeys } from "../src/_internal/decode.ts";
import { onTensorCreated, tapeState, UnsupportedTfjsError } from "../src/_internal/engine.ts";
import { DecodeError, PerceptualError } from "../src/errors/mod.ts";

await initBackend("cpu");

Deno.test("writeFileAtomic replaces a file, and leaves nothing behind when the rename fails", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeFileAtomic(`${dir}/a.txt`, "one");
    await writeFileAtomic(`${dir}/a.txt`, new TextEncoder().encode("two"));
    assert.equal(await Deno.readTextFile(`${dir}/a.txt`), "two");
    // A directory in the way: the rename fails, the error surfaces, no temp file remains.
    await Deno.mkdir(`${dir}/taken`);
    await Deno.writeTextFile(`${dir}/taken/keep`, "x");
    await assert.rejects(() => writeFileAtomic(`${dir}/taken`, "data"));
    assert.deepEqual(await listDir(dir), ["a.txt", "taken"]);
    assert.equal(await pathKind(`${dir}/taken`), "dir");
    assert.equal(await pathKind(`${dir}/nothing`), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("hashes match the published test vectors", async () => {
  const abc = new TextEncoder().encode("abc");
  // FIPS 180-2 / RFC 1321 test vectors for "abc"
  const sha = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  assert.equal(await sha256Hex(abc), sha);
  assert.equal(await sha256Hex(abc.buffer), sha);
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/abc`, abc);
    assert.equal(await fileHash(`${dir}/abc`, "md5"), "900150983cd24fb0d6963f7d28e17f72");
    assert.equal(await fileHash(`${dir}/abc`, "sha256"), sha);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readEnv: unset and blank read as undefined", () => {
  const name = "PERCEPTUAL_INTERNAL_TEST_VAR";
  assert.equal(readEnv(name), undefined);
  Deno.env.set(name, "  ");
  assert.equal(readEnv(name), undefined);
  Deno.env.set(name, "wasm");
  assert.equal(readEnv(name), "wasm");
  Deno.env.delete(name);
});

Deno.test("decode helpers: paths, literal sets, unknown keys, JSON text, orThrow", () => {
  const codec = t.type({ terms: t.array(t.type({ kind: oneOf(["pixel", "tv"]) })) });
  const r = codec.decode({ terms: [{ kind: "pixel" }, { kind: "pixle" }] });
  assert.ok(E.isLeft(r));
  assert.equal(pathOf(r.left[0]!.context), "terms[1].kind");
  assert.equal(r.left[0]!.context.at(-1)!.type.name, "one of pixel | tv");
  assert.deepEqual(unknownKeys({ kind: 1, wieght: 2 }, ["kind", "weight"], "terms[0]"), [
    { path: "terms[0].wieght", message: 'unknown field; did you mean "weight"?' },
  ]);
  assert.deepEqual(parseIfText('{"a":1}'), E.right({ a: 1 }));
  const bad = parseIfText("{ nope");
  assert.ok(E.isLeft(bad) && bad.left.path === "(root)" && /is not JSON/.test(bad.left.message));
  const err = new DecodeError("thing", [{ path: "a", message: "is wrong" }]);
  assert.ok(err instanceof PerceptualError);
  assert.equal(err.message, "invalid thing (1 problem):\n  a: is wrong");
  assert.throws(() => orThrow(E.left(err)), (e) => e === err);
  assert.equal(orThrow(E.right(5)), 5);
});

Deno.test("engine: tensor-creation listener sees every tensor and restores the engine", () => {
  let seen = 0;
  const stop = onTensorCreated(() => seen++);
  const a = tf.scalar(1);
  const b = tf.add(a, 1); // the constant 1 becomes a tensor too: a, 1, a + 1
  stop();
  const c = tf.scalar(2);
  assert.equal(seen, 3);
  assert.equal(typeof tapeState()?.kernelDepth, "number");
  assert.match(new UnsupportedTfjsError("5.0.0").message, /5\.0\.0.*4\.22/);
  tf.dispose([a, b, c]);
});

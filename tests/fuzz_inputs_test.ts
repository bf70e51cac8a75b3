/**
 * Property-based fuzzing of the two entry points that read outside data (issue 17): random
 * JSON (and JSON-ish text) at `decodeLossSpec`, random and mutated bytes at the image loader.
 * Every outcome must be a typed error (a `PerceptualError`; `RangeError`/`TypeError` are not
 * expected here since the arguments' types are right) or a valid result, with no tensor
 * left behind. Time is bounded by the input sizes and run counts (no timing assertion).
 */
import assert from "node:assert/strict";
import * as E from "fp-ts/lib/Either.js";
import fc from "fast-check";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../src/backend/mod.ts";
import { type BuiltinTerm, decodeLossSpec, LOSS_SPEC_LIMITS, termNames } from "../src/loss/mod.ts";
import { decodeImage, encodeImage, loadImage } from "../src/data/mod.ts";
import { DecodeError, PerceptualError } from "../src/errors/mod.ts";

await initBackend("cpu");

// ------------------------------------------------------------------------------ loss specs

const KINDS = ["feature", "style", "pixel", "tv", "pixle", ""];
const LAYERS = ["block1_conv2", "relu2_2", "pool4", "block9_conv1", "", "BLOCK1_CONV1"];
const numberArb = fc.oneof(
  fc.double(),
  fc.constantFrom(0, -0, 1, 1e-6, 1e39, -1, 1e-320, 3.4e38, Number.MAX_VALUE),
  fc.integer(),
);
/** Terms that are often valid, so that both outcomes are exercised. */
const termArb = fc.record(
  {
    kind: fc.constantFrom(...KINDS),
    layer: fc.oneof(fc.constantFrom(...LAYERS), fc.string({ maxLength: 300 })),
    distance: fc.constantFrom("l1", "l2", "huber", "charbonnier", "l3"),
    weight: numberArb,
    scale: numberArb,
    delta: numberArb,
    epsilon: numberArb,
    normalisation: fc.constantFrom("chw", "hw", "none", "x"),
    reduction: fc.constantFrom("mean", "sum", 3),
    name: fc.string({ maxLength: 20 }),
    junk: fc.jsonValue({ maxDepth: 3 }),
  },
  { requiredKeys: ["kind"] },
);
/** Terms that are valid (so the Right side is exercised too). */
// Now and then a number just outside what float32 (or the smoothing bound) allows.
const outside = fc.constantFrom(1e39, 1e-320, 1e-40, 3.5e38);
const smoothingOutside = fc.constantFrom(1e-300, 1e-7, 1e20);
const validCommon = {
  distance: fc.constantFrom("l1", "l2", "huber", "charbonnier"),
  weight: fc.oneof(
    { arbitrary: fc.constant(0), weight: 2 },
    { arbitrary: fc.double({ min: 1e-30, max: 1e30, noNaN: true }), weight: 8 },
    { arbitrary: outside, weight: 1 },
  ),
  delta: fc.oneof(
    { arbitrary: fc.double({ min: 1e-6, max: 1e19, noNaN: true }), weight: 9 },
    { arbitrary: smoothingOutside, weight: 1 },
  ),
  epsilon: fc.oneof(
    { arbitrary: fc.double({ min: 1e-6, max: 1e19, noNaN: true }), weight: 9 },
    { arbitrary: smoothingOutside, weight: 1 },
  ),
  reduction: fc.constantFrom("mean", "sum"),
};
const validTermArb = fc.oneof(
  fc.record({
    kind: fc.constantFrom("feature", "style"),
    layer: fc.constantFrom("block1_conv2", "relu2_2", "pool4", "block5_conv3"),
    scale: fc.double({ min: 1e-30, max: 1e30, noNaN: true }),
    ...validCommon,
  }, { requiredKeys: ["kind", "layer"] }),
  fc.record({ kind: fc.constantFrom("pixel", "tv"), ...validCommon }, { requiredKeys: ["kind"] }),
);
const specArb = fc.oneof(
  fc.record({ terms: fc.array(validTermArb, { maxLength: 8 }) }),
  fc.jsonValue({ maxDepth: 12 }),
  fc.record({
    terms: fc.oneof(fc.array(termArb, { maxLength: 8 }), fc.jsonValue({ maxDepth: 4 })),
    network: fc.constantFrom("vgg16", "vgg19", "vgg11"),
  }, { requiredKeys: ["terms"] }),
);

const outcomes = { left: 0, right: 0, pixels: 0, errors: 0 };

function checkDecoded(input: unknown): void {
  const r = decodeLossSpec(input);
  outcomes[E.isLeft(r) ? "left" : "right"]++;
  if (E.isLeft(r)) {
    assert.ok(r.left instanceof DecodeError && r.left instanceof PerceptualError);
    assert.ok(r.left.issues.length > 0);
    // bounded: 20 lines of at most ~320 characters and a header
    assert.ok(r.left.message.length < 8000, `message of ${r.left.message.length} characters`);
    return;
  }
  const loss = r.right;
  const json = typeof input === "string" ? JSON.parse(input) : input;
  assert.equal(loss.terms.length, (json as { terms: unknown[] }).terms.length);
  for (const t of loss.terms as BuiltinTerm<string>[]) {
    assert.ok(t.weight === 0 || (t.weight >= 1.17e-38 && t.weight <= 3.41e38));
    assert.ok(t.delta >= 1e-6 && t.epsilon >= 1e-6);
  }
  assert.equal(new Set(termNames(loss)).size, loss.terms.length);
}

Deno.test("fuzz: decodeLossSpec on random JSON values and text gives a DecodeError or a Loss", () => {
  const before = tf.memory().numTensors;
  fc.assert(
    fc.property(specArb, fc.boolean(), (spec, asText) => {
      checkDecoded(asText ? JSON.stringify(spec) : spec);
    }),
    { numRuns: 400, seed: 17 },
  );
  // random text, mostly not JSON
  fc.assert(fc.property(fc.string({ maxLength: 200 }), checkDecoded), { numRuns: 200, seed: 17 });
  assert.equal(tf.memory().numTensors, before, "decodeLossSpec makes no tensors");
  // both outcomes were exercised, not only the easy one
  assert.ok(outcomes.left > 100 && outcomes.right > 20, JSON.stringify(outcomes));
});

Deno.test("fuzz: hostile shapes around the limits stay Lefts with short messages", () => {
  const L = LOSS_SPEC_LIMITS;
  fc.assert(
    fc.property(
      fc.integer({ min: L.depth - 2, max: L.depth + 40 }),
      fc.integer({ min: L.stringChars - 2, max: L.stringChars * 20 }),
      (depth, chars) => {
        let deep: unknown = "x".repeat(chars);
        for (let i = 0; i < depth; i++) deep = i % 2 ? [deep] : { k: deep };
        checkDecoded({ terms: [{ kind: "feature", layer: deep }] });
        const cyclic: Record<string, unknown> = { kind: "pixel", name: "x".repeat(chars) };
        cyclic.again = [cyclic];
        checkDecoded({ terms: [cyclic] });
      },
    ),
    { numRuns: 40, seed: 3 },
  );
});

// ------------------------------------------------------------------------------ images

const png = new Uint8Array(
  await encodeImage(
    { height: 9, width: 7, channels: 3, data: new Float32Array(189).fill(0.3) },
    "png",
  ),
);
const jpeg = new Uint8Array(
  await encodeImage(
    { height: 9, width: 7, channels: 3, data: new Float32Array(189).fill(0.6) },
    "jpeg",
  ),
);

const valid: Uint8Array[] = [];
for (const [h, w] of [[1, 1], [5, 3], [16, 16], [31, 2]]) {
  const data = Float32Array.from({ length: h * w * 3 }, (_, i) => (i * 37 % 101) / 100);
  for (const f of ["png", "jpeg"] as const) {
    valid.push(new Uint8Array(await encodeImage({ height: h, width: w, channels: 3, data }, f)));
  }
}

/**
 * Valid files, random bytes, random bytes behind a PNG/JPEG signature, and valid files with
 * bytes changed and their end cut.
 */
const bytesArb = fc.oneof(
  fc.constantFrom(...valid),
  // other formats sharp decodes: must be refused by content
  fc.tuple(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 64 })).map(([w, h]) =>
    new TextEncoder().encode(`<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}"/>`)
  ),
  fc.constant(Uint8Array.from(
    atob("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"),
    (c) => c.charCodeAt(0),
  )),
  fc.uint8Array({ maxLength: 2048 }),
  fc.uint8Array({ maxLength: 1024 }).map((b) => new Uint8Array([...png.subarray(0, 8), ...b])),
  fc.uint8Array({ maxLength: 1024 }).map((b) => new Uint8Array([0xff, 0xd8, 0xff, ...b])),
  fc.tuple(
    fc.constantFrom(png, jpeg),
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
    fc.nat(),
  ).map(([file, edits, cutAt]) => {
    const b = file.slice(0, Math.max(8, file.length - (cutAt % 40)));
    for (const [at, v] of edits) b[at % b.length] = v;
    return b;
  }),
);

async function checkImage(bytes: Uint8Array): Promise<void> {
  try {
    const p = await decodeImage(bytes, "fuzz", { maxPixels: 1 << 20 });
    const isPng = bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e;
    const isJpeg = bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
    assert.ok(isPng || isJpeg, "only PNG and JPEG content is decoded");
    assert.ok(p.height > 0 && p.width > 0 && p.height * p.width <= 1 << 20);
    assert.equal(p.data.length, p.height * p.width * p.channels);
    assert.ok(p.data.every((v) => v >= 0 && v <= 1));
    outcomes.pixels++;
  } catch (e) {
    outcomes.errors++;
    assert.ok(e instanceof PerceptualError, `not a typed error: ${e}`);
  }
}

Deno.test("fuzz: decodeImage on random and mutated bytes gives pixels or a typed error", async () => {
  await fc.assert(fc.asyncProperty(bytesArb, checkImage), { numRuns: 300, seed: 17 });
  assert.ok(outcomes.pixels > 5 && outcomes.errors > 100, JSON.stringify(outcomes));
});

Deno.test("fuzz: loadImage leaks no tensor on any outcome", async () => {
  const dir = await Deno.makeTempDir();
  const before = tf.memory().numTensors;
  await fc.assert(
    fc.asyncProperty(bytesArb, async (bytes) => {
      await Deno.writeFile(`${dir}/x.png`, bytes);
      try {
        const t = await loadImage(`${dir}/x.png`, { maxPixels: 1 << 20 });
        assert.equal(t.rank, 3);
        t.dispose();
      } catch (e) {
        assert.ok(e instanceof PerceptualError, `not a typed error: ${e}`);
      }
    }),
    { numRuns: 60, seed: 5 },
  );
  assert.equal(tf.memory().numTensors, before);
  await Deno.remove(dir, { recursive: true });
});

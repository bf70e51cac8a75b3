import assert from "node:assert/strict";
import * as E from "fp-ts/lib/Either.js";
import { pipe } from "fp-ts/lib/function.js";
import fc from "fast-check";
import { initBackend } from "../src/backend/mod.ts";
import { assertNoLeak } from "../src/lifetime/mod.ts";
import {
  decodeLossSpec,
  encodeLossSpec,
  feature,
  type Loss,
  LossSpecCodec,
  pixel,
  plus,
  style,
  totalVariation,
} from "../src/loss/mod.ts";
import { DecodeError } from "../src/errors/mod.ts";
import { tinyNet } from "./loss_support.ts";

await initBackend("cpu");

function issues(json: unknown): { path: string; message: string }[] {
  const r = decodeLossSpec(json);
  assert.ok(E.isLeft(r), `expected problems in ${JSON.stringify(json)}`);
  assert.ok(r.left instanceof DecodeError);
  return [...r.left.issues];
}

function decoded(json: unknown): Loss<string> {
  const r = decodeLossSpec(json);
  if (E.isLeft(r)) throw r.left;
  return r.right;
}

Deno.test("a valid spec decodes to the loss the constructors build", () => {
  const loss = decoded({
    network: "vgg16",
    terms: [
      { kind: "pixel" },
      { kind: "feature", layer: "block2_conv2", distance: "l1", weight: 15 },
      { kind: "style", layer: "relu3_3", normalisation: "hw", weight: 5000, scale: 20 },
      { kind: "tv", distance: "l2", reduction: "sum", weight: 1e-6, name: "smooth" },
      { kind: "feature", layer: "block4_conv1", distance: "huber", delta: 0.5 },
      { kind: "feature", layer: "block1_conv1", distance: "charbonnier", epsilon: 0.01 },
    ],
  });
  const expected = pipe(
    pixel(),
    plus(feature("block2_conv2", { distance: "l1", weight: 15 })),
    plus(style("relu3_3", { normalisation: "hw", weight: 5000, scale: 20 })),
    plus(totalVariation({ distance: "l2", reduction: "sum", weight: 1e-6, name: "smooth" })),
    plus(feature("block4_conv1", { distance: "huber", delta: 0.5 })),
    plus(feature("block1_conv1", { distance: "charbonnier", epsilon: 0.01 })),
  );
  assert.deepEqual(loss, expected);
  // a JSON string works too
  assert.deepEqual(decoded(JSON.stringify({ terms: [{ kind: "pixel" }] })), pixel());
});

Deno.test("the issue's example: a VGG-16 layer that does not exist, with a suggestion", () => {
  const found = issues({
    terms: [
      { kind: "pixel" },
      { kind: "feature", layer: "block2_conv2" },
      { kind: "feature", layer: "block9_conv1" },
    ],
  });
  assert.equal(found.length, 1);
  assert.equal(found[0]!.path, "terms[2].layer");
  assert.equal(
    `${found[0]!.path}: ${found[0]!.message}`,
    'terms[2].layer: "block9_conv1" is not a VGG-16 layer; did you mean "block5_conv1"?',
  );
  // VGG-19 has block3_conv4, VGG-16 does not
  const v16 = issues({ terms: [{ kind: "style", layer: "block3_conv4" }] });
  assert.match(v16[0]!.message, /not a VGG-16 layer; did you mean "block3_conv3"\?/);
  assert.ok(
    E.isRight(decodeLossSpec({ network: "vgg19", terms: [{ kind: "style", layer: "relu3_4" }] })),
  );
});

Deno.test("every problem is reported at once, with its path and a fix", () => {
  const found = issues({
    netwrok: "vgg16",
    terms: [
      { kind: "pixle" },
      { kind: "feature", layer: "block2_conv2", distance: "l3", wieght: 2 },
      { kind: "feature" },
      { kind: "style", layer: "block3_conv3", weight: -5, normalisation: "cwh" },
      { kind: "pixel", layer: "block1_conv1", normalisation: "chw", scale: 2 },
      { kind: "tv", weight: "1e-6", delta: 0 },
      "pixel",
    ],
  });
  const byPath = new Map(found.map((i) => [i.path, i.message]));
  const expect = (path: string, re: RegExp) => {
    assert.ok(byPath.has(path), `no issue at ${path}; got ${[...byPath.keys()].join(", ")}`);
    assert.match(byPath.get(path)!, re, path);
  };
  expect("netwrok", /unknown field; did you mean "network"\?/);
  expect(
    "terms[0].kind",
    /"pixle" is not a valid kind; use one of "feature", "style", "pixel", "tv", "colour" \(did you mean "pixel"\?\)/,
  );
  expect(
    "terms[1].distance",
    /"l3" is not a valid distance; use one of "l1", "l2", "huber", "charbonnier"/,
  );
  expect("terms[1].wieght", /did you mean "weight"\?/);
  expect("terms[2].layer", /is missing; a feature term needs the layer it reads/);
  expect(
    "terms[3].weight",
    /-5 is not allowed; it must be 0 \(switches the term off\) or a number from 1.2e-38/,
  );
  expect(
    "terms[3].normalisation",
    /"cwh" is not a valid normalisation; use one of "chw", "hw", "none"/,
  );
  expect("terms[4].layer", /a pixel term reads no layer; remove "layer"/);
  expect("terms[4].normalisation", /only style terms/);
  expect("terms[4].scale", /only feature and style terms have a scale/);
  expect("terms[5].weight", /is the string "1e-6"; it must be a number/);
  expect("terms[5].delta", /0 is not allowed; it must be a number from 1e-6 to 1e19/);
  expect("terms[6]", /a term is an object like \{ "kind": "pixel" \}/);
  // document order: root first, then by term
  const order = found.map((i) => Number(/^terms\[(\d+)\]/.exec(i.path)?.[1] ?? -1));
  assert.deepEqual(order, [...order].sort((a, b) => a - b));
  // the error's message lists them all
  const r = decodeLossSpec({ terms: [{ kind: "pixle" }, { kind: "feature", layer: "x" }] });
  assert.ok(E.isLeft(r));
  assert.match(r.left.message, /terms\[0\]\.kind.*\n.*terms\[1\]\.layer/s);
});

Deno.test("malformed roots and terms are described", () => {
  assert.match(issues(null)[0]!.message, /a loss spec is an object/);
  assert.match(issues({ terms: 3 })[0]!.message, /must be an array of terms/);
  assert.equal(issues({})[0]!.path, "terms");
  assert.match(issues("{ not json")[0]!.message, /is not JSON/);
  assert.match(
    issues({ network: "vgg11", terms: [] })[0]!.message,
    /"vgg11" is not a valid network; use one of "vgg16", "vgg19"/,
  );
});

Deno.test("decoding against a network checks its layers and types the result", () => {
  const net = tinyNet();
  const r = decodeLossSpec({
    terms: [{ kind: "feature", layer: "c4" }, { kind: "style", layer: "c9" }],
  }, net);
  assert.ok(E.isLeft(r));
  assert.deepEqual(r.left.issues.map((i) => i.path), ["terms[1].layer"]);
  assert.match(r.left.issues[0]!.message, /"c9" is not a tiny\(seed 1, relu\) layer/);
  const ok = decodeLossSpec({ terms: [{ kind: "feature", layer: "c4" }] }, net);
  assert.ok(E.isRight(ok));
  const typed: Loss<"c1" | "c2" | "p1" | "c3" | "c4" | "p2" | "c5" | "c6" | "p3"> = ok.right;
  assert.deepEqual(typed.layers, ["c4"]);
  net.dispose();
});

const termArb = fc.oneof(
  fc.record({
    layer: fc.constantFrom("block1_conv2", "relu2_2", "block5_conv3"),
    distance: fc.constantFrom("l1", "l2", "huber", "charbonnier" as const),
    weight: fc.oneof(fc.constant(0), fc.double({ min: 1e-30, max: 1e6, noNaN: true })),
    reduction: fc.constantFrom("mean", "sum" as const),
    scale: fc.double({ min: 1e-3, max: 1e3, noNaN: true }),
    delta: fc.double({ min: 1e-3, max: 10, noNaN: true }),
  }).map(({ layer, ...o }) => feature(layer, o)),
  fc.record({
    layer: fc.constantFrom("block3_conv3", "pool4"),
    normalisation: fc.constantFrom("chw", "hw", "none" as const),
    epsilon: fc.double({ min: 1e-6, max: 1, noNaN: true }),
    name: fc.option(fc.string({ minLength: 1 }).filter((s) => s.trim() !== ""), { nil: undefined }),
  }).map(({ layer, name, ...o }) => style(layer, name === undefined ? o : { ...o, name })),
  fc.constant(pixel({ distance: "l2" })),
  fc.constant(totalVariation({ weight: 2 })),
);

Deno.test("encodeLossSpec round-trips through JSON and decodeLossSpec (property)", () => {
  fc.assert(
    fc.property(fc.array(termArb, { maxLength: 5 }), (ls) => {
      const loss = ls.reduce<Loss<string>>((a, b) => pipe(a, plus(b as Loss<string>)), pixel());
      const json = JSON.parse(JSON.stringify(encodeLossSpec(loss, { network: "vgg16" })));
      assert.ok(E.isRight(LossSpecCodec.decode(json)));
      assert.deepEqual(decoded(json), loss);
    }),
    { numRuns: 100, seed: 11 },
  );
  assert.deepEqual(encodeLossSpec(feature("block2_conv2")), {
    terms: [{ kind: "feature", layer: "block2_conv2", distance: "l2", weight: 1 }],
  });
});

Deno.test("decodeLossSpec makes no tensors", async () => {
  await assertNoLeak(() => {
    decodeLossSpec({ terms: [{ kind: "feature", layer: "block2_conv2" }, { kind: "tv" }] });
    decodeLossSpec({ terms: [{ kind: "nope" }] });
  }, { label: "decodeLossSpec" });
});

Deno.test("spec: a blank name or network is refused alike by the JSON decoder and by term()", () => {
  for (const field of ["name", "network"] as const) {
    const found = issues({ terms: [{ kind: "pixel", [field]: "  " }] });
    assert.deepEqual(found, [{
      path: `terms[0].${field}`,
      message: "is empty or blank; give a name or remove the field",
    }]);
    assert.throws(() => pixel({ [field]: "  " }), /must be a non-empty string/);
    assert.equal(pixel({ [field]: "x" }).terms[0]![field], "x");
  }
});

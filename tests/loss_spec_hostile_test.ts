/**
 * Hostile loss specs (issue 17, item 6): huge strings, deep nesting, cycles, numbers float32
 * cannot hold, degenerate Huber/Charbonnier parameters, many terms. Each must come back as a
 * `Left` with a short message that says what was cut, never a crash or a silent loss.
 */
import assert from "node:assert/strict";
import * as E from "fp-ts/lib/Either.js";
import {
  decodeLossSpec,
  feature,
  InvalidTermOptionError,
  InvalidWeightError,
  LOSS_SPEC_LIMITS,
  pixel,
  termNames,
} from "../src/loss/mod.ts";
import { DecodeError } from "../src/errors/mod.ts";
import { decodeUNetConfig } from "../src/unet/mod.ts";

function left(json: unknown): DecodeError {
  const r = decodeLossSpec(json);
  assert.ok(E.isLeft(r), "expected a Left");
  assert.ok(r.left instanceof DecodeError);
  return r.left;
}

function issueAt(e: DecodeError, path: string): string {
  const hit = e.issues.find((i) => i.path === path);
  assert.ok(hit, `no issue at ${path}; got ${e.issues.map((i) => i.path).join(", ")}`);
  return hit.message;
}

Deno.test("a 10 MB layer name is refused with a short message (object and text)", () => {
  const huge = "x".repeat(10_000_000);
  const e = left({ terms: [{ kind: "feature", layer: huge }] });
  assert.match(issueAt(e, "terms[0].layer"), /string of 10000000 characters; at most 256/);
  assert.ok(e.message.length < 1000, `message of ${e.message.length} characters`);
  const t = left(JSON.stringify({ terms: [{ kind: "feature", layer: huge }] }));
  assert.match(issueAt(t, "(root)"), /characters of text; at most 1000000 are read/);
  assert.ok(t.message.length < 1000);
});

Deno.test("a long but allowed wrong layer name is quoted cut, and nothing is suggested", () => {
  const e = left({ terms: [{ kind: "feature", layer: "block9_conv1" + "z".repeat(200) }] });
  const m = issueAt(e, "terms[0].layer");
  assert.match(m, /^"block9_conv1z+…" \(212 characters\) is not a VGG-16 layer; its layers are/);
  assert.ok(e.message.length < 700, `message of ${e.message.length} characters`);
});

Deno.test("a 100,000-deep object is refused at the depth limit, not walked", () => {
  let deep: unknown = 1;
  for (let i = 0; i < 100_000; i++) deep = { a: deep };
  const e = left({ terms: [{ kind: "pixel", weight: deep }] });
  assert.ok(e.issues.some((i) => /nests deeper than 8 levels/.test(i.message)));
  assert.ok(e.message.length < 1000, `message of ${e.message.length} characters`);
  // the same as JSON text
  const text = "[".repeat(100_000) + "]".repeat(100_000);
  const t = left(`{"terms":${text}}`);
  assert.ok(t.issues.some((i) => /nests deeper than 8 levels/.test(i.message)));
});

Deno.test("a cyclic spec is a Left naming the cycle, not a JSON.stringify TypeError", () => {
  const term: Record<string, unknown> = { kind: "pixel" };
  term.self = term;
  const e = left({ terms: [term] });
  assert.match(issueAt(e, "terms[0].self"), /refers back to terms\[0\] \(a cycle\)/);
  const root: Record<string, unknown> = { terms: [] };
  (root.terms as unknown[]).push(root);
  assert.match(issueAt(left(root), "terms[0]"), /refers back to the root/);
});

Deno.test("non-JSON values (functions, class instances, throwing getters) are Lefts", () => {
  const getter = {
    kind: "pixel",
    get weight(): number {
      throw new Error("boom");
    },
  };
  assert.match(issueAt(left({ terms: [getter] }), "terms[0]"), /cannot be read \(boom\)/);
  assert.match(
    issueAt(left({ terms: [{ kind: "pixel", weight: () => 1 }] }), "terms[0].weight"),
    /is a function; only JSON data/,
  );
  assert.match(
    issueAt(left({ terms: [{ kind: "pixel", weight: new Date(0) }] }), "terms[0].weight"),
    /is a Date object; only plain JSON data/,
  );
  assert.match(
    issueAt(left({ terms: [{ kind: "pixel", weight: 10n }] }), "terms[0].weight"),
    /is bigint 10/,
  );
});

Deno.test("numbers outside float32 are refused: weight 1e39, scale 1e-320, weight 1e-40", () => {
  const e = left({
    terms: [
      { kind: "pixel", weight: 1e39 },
      { kind: "feature", layer: "block1_conv1", scale: 1e-320 },
      { kind: "tv", weight: 1e-40 },
      { kind: "feature", layer: "block1_conv1", scale: 1e39 },
    ],
  });
  assert.match(issueAt(e, "terms[0].weight"), /1e\+39 is not allowed; .*to 3\.4e38.*float32/);
  assert.match(issueAt(e, "terms[1].scale"), /1e-320 is not allowed; .*from 1\.2e-38/);
  assert.match(issueAt(e, "terms[2].weight"), /1e-40 is not allowed; it must be 0 /);
  assert.match(issueAt(e, "terms[3].scale"), /1e\+39 is not allowed/);
  // the constructors apply the same rules
  assert.throws(() => pixel({ weight: 1e39 }), InvalidWeightError);
  assert.throws(() => feature("block1_conv1", { scale: 1e-320 }), InvalidTermOptionError);
  // the largest float32 and 0 are fine
  assert.ok(E.isRight(decodeLossSpec({ terms: [{ kind: "pixel", weight: 3.4e38 }] })));
  assert.ok(E.isRight(decodeLossSpec({ terms: [{ kind: "pixel", weight: 0 }] })));
});

Deno.test("huber delta and charbonnier epsilon are bounded away from 0 (and from overflow)", () => {
  const e = left({
    terms: [
      { kind: "pixel", distance: "huber", delta: 1e-300 },
      { kind: "pixel", distance: "charbonnier", epsilon: 1e-7 },
      { kind: "pixel", distance: "charbonnier", epsilon: 1e20 },
    ],
  });
  assert.match(issueAt(e, "terms[0].delta"), /1e-300 is not allowed; .*from 1e-6 to 1e19/);
  assert.match(issueAt(e, "terms[1].epsilon"), /1e-7 is not allowed/);
  assert.match(issueAt(e, "terms[2].epsilon"), /100000000000000000000 is not allowed/);
  assert.throws(() => pixel({ distance: "huber", delta: 1e-300 }), InvalidTermOptionError);
  assert.ok(
    E.isRight(decodeLossSpec({ terms: [{ kind: "pixel", distance: "huber", delta: 1e-6 }] })),
  );
});

Deno.test("10,000 terms decode (one list, not 10,000 copies); 10,001 are refused", () => {
  // Before the fix, decoding copied the term list once per term (100,000 took 103 s);
  // the time per term is in bench/spec_decode_bench.ts.
  const n = LOSS_SPEC_LIMITS.arrayLength;
  const r = decodeLossSpec({ terms: Array.from({ length: n }, () => ({ kind: "pixel" })) });
  assert.ok(E.isRight(r));
  assert.equal(r.right.terms.length, n);
  assert.equal(termNames(r.right).at(-1), `pixel#${n}`);
  const e = left({ terms: Array.from({ length: n + 1 }, () => ({ kind: "pixel" })) });
  assert.match(issueAt(e, "terms"), /is an array of 10001; at most 10000 elements/);
});

Deno.test("thousands of problems: the message lists 20 and says how many more", () => {
  const e = left({ terms: Array.from({ length: 5000 }, () => ({ kind: "pixle" })) });
  assert.equal(e.issues.length, 5000);
  assert.match(e.message, /\n {2}… and 4980 more \(not shown; all are in the error's \.issues\)$/);
  assert.ok(e.message.length < 5000, `message of ${e.message.length} characters`);
});

Deno.test("the decoder works on a copy: a spec mutated later does not change the loss", () => {
  const spec = { terms: [{ kind: "pixel", weight: 2 }] };
  const r = decodeLossSpec(spec);
  spec.terms[0]!.weight = 3;
  assert.ok(E.isRight(r));
  assert.equal(r.right.terms[0]!.weight, 2);
});

Deno.test("the README's spec-error example is what the library says", async () => {
  const readme = await Deno.readTextFile("README.md");
  const m = /`terms\[(\d+)\]\.layer: ("[^"]+") is not a VGG-16 layer; did you mean ("[^"]+")\?`/
    .exec(readme);
  assert.ok(m, "the README shows a spec error");
  const [, index, layer, suggestion] = m;
  const terms: unknown[] = Array.from({ length: Number(index) }, () => ({ kind: "pixel" }));
  terms.push({ kind: "feature", layer: JSON.parse(layer!) });
  assert.equal(
    issueAt(left({ terms }), `terms[${index}].layer`),
    `${layer} is not a VGG-16 layer; did you mean ${suggestion}?`,
  );
});

Deno.test("decodeUNetConfig shares the guard: a cycle and a 1 MB string are short Lefts", () => {
  const cyclic: Record<string, unknown> = { depth: 2 };
  cyclic.self = cyclic;
  const a = decodeUNetConfig(cyclic);
  assert.ok(E.isLeft(a) && a.left instanceof DecodeError);
  assert.match(a.left.issues[0]!.message, /refers back to the root \(a cycle\)/);
  const b = decodeUNetConfig({ upsample: "x".repeat(1_000_000) });
  assert.ok(E.isLeft(b));
  assert.ok(b.left.message.length < 300, `message of ${b.left.message.length} characters`);
});

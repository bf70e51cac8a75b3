// Decoding U-Net configs: defaults, partial input, and every kind of bad input named by its path.
import assert from "node:assert/strict";
import * as E from "fp-ts/lib/Either.js";
import { DecodeError } from "../src/errors/mod.ts";
import {
  decodeUNetConfig,
  decodeUNetConfigOrThrow,
  defaultUNetConfig,
  type UNetConfig,
  UNetConfigCodec,
} from "../src/unet/mod.ts";

function problemsOf(json: unknown): { path: string; message: string }[] {
  const r = decodeUNetConfig(json);
  if (E.isRight(r)) assert.fail(`${JSON.stringify(json)} was accepted`);
  assert.ok(r.left instanceof DecodeError, `expected DecodeError, got ${r.left}`);
  return [...r.left.issues];
}

Deno.test("an empty object decodes to the defaults; given fields override them", () => {
  assert.deepEqual(decodeUNetConfigOrThrow({}), defaultUNetConfig);
  const c = decodeUNetConfigOrThrow({
    inChannels: 1,
    outChannels: 3,
    depth: 2,
    scale: 4,
    outputRange: [0, 1],
  });
  assert.equal(c.inChannels, 1);
  assert.equal(c.outChannels, 3);
  assert.equal(c.depth, 2);
  assert.equal(c.scale, 4);
  assert.deepEqual(c.outputRange, [0, 1]);
  assert.equal(c.upsample, "pixelShuffle");
  assert.equal(c.baseFilters, 32);
  assert.ok(UNetConfigCodec.is(c));
});

Deno.test("decodes from JSON text, as a config file would be read", () => {
  const c = decodeUNetConfigOrThrow(JSON.parse(
    '{"upsample":"bilinear","norm":"none","activation":"leakyRelu","outputRange":null,"seed":7}',
  ));
  assert.equal(c.upsample, "bilinear");
  assert.equal(c.norm, "none");
  assert.equal(c.activation, "leakyRelu");
  assert.equal(c.outputRange, null);
  assert.equal(c.seed, 7);
});

Deno.test("an unknown upsample mode is rejected with its path and the accepted modes", () => {
  const p = problemsOf({ upsample: "nearest" });
  assert.deepEqual(p, [{
    path: "upsample",
    message: '"nearest" is not one of pixelShuffle | transpose | bilinear | resizeConv',
  }]);
  assert.throws(
    () => decodeUNetConfigOrThrow({ upsample: "nearest" }),
    /upsample: "nearest" is not one of pixelShuffle \| transpose \| bilinear/,
  );
});

Deno.test("a non-integer depth is rejected with its path", () => {
  assert.deepEqual(problemsOf({ depth: 2.5 }), [{
    path: "depth",
    message: "2.5 is not an integer from 0 to 6",
  }]);
  assert.deepEqual(problemsOf({ depth: 7 })[0]!.path, "depth");
  assert.deepEqual(problemsOf({ depth: -1 })[0]!.path, "depth");
});

Deno.test("a wrong field type is rejected with its path", () => {
  assert.deepEqual(problemsOf({ baseFilters: "32" }), [{
    path: "baseFilters",
    message: '"32" is not a positive integer',
  }]);
  assert.equal(problemsOf({ residual: "yes" })[0]!.path, "residual");
  assert.equal(problemsOf({ scale: "2" })[0]!.message, '"2" is not one of 1 | 2 | 3 | 4');
  assert.equal(problemsOf({ inChannels: null })[0]!.path, "inChannels");
});

Deno.test("every problem is reported at once, in field order", () => {
  const p = problemsOf({ depth: 1.5, upsample: "nearest", norm: "group", scale: 8, outChanels: 3 });
  assert.deepEqual(p.map((x) => x.path), ["depth", "norm", "upsample", "scale", "outChanels"]);
  assert.match(p[4]!.message, /unknown field; did you mean "outChannels"\?/);
  assert.throws(
    () => decodeUNetConfigOrThrow({ depth: 1.5, upsample: "nearest" }),
    /2 problems[^]*depth: 1\.5 is not[^]*upsample: "nearest" is not/,
  );
});

Deno.test("outputRange must be null or an increasing pair of finite numbers", () => {
  for (const bad of [[1, 0], [0], [0, 1, 2], ["0", "1"], [0, Infinity], "0..1"]) {
    const p = problemsOf({ outputRange: bad });
    assert.equal(p.length, 1);
    assert.equal(p[0]!.path, "outputRange");
    assert.match(
      p[0]!.message,
      /is not null or a \[low, high\] pair of finite numbers with low < high/,
    );
  }
});

Deno.test("a residual needs matching channels or a 1-channel input", () => {
  assert.equal(decodeUNetConfigOrThrow({ inChannels: 1, outChannels: 3 }).residual, true);
  const p = problemsOf({ inChannels: 4, outChannels: 3 });
  assert.equal(p[0]!.path, "residual");
  assert.match(p[0]!.message, /set residual: false/);
  assert.equal(
    decodeUNetConfigOrThrow({ inChannels: 4, outChannels: 3, residual: false }).residual,
    false,
  );
});

Deno.test("a non-object is rejected at the root", () => {
  for (const bad of [null, 3, "unet", [1, 2]]) {
    assert.equal(problemsOf(bad)[0]!.path, "(root)");
  }
});

Deno.test("the codec decodes complete configs and rejects incomplete ones", () => {
  const full: UNetConfig = { ...defaultUNetConfig, depth: 2 };
  assert.equal(UNetConfigCodec.decode(full)._tag, "Right");
  const { depth: _drop, ...partial } = full;
  assert.equal(UNetConfigCodec.decode(partial)._tag, "Left");
  assert.equal(UNetConfigCodec.is({ ...full, scale: 5 }), false);
});

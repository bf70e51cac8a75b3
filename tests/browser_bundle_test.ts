// The prebuilt browser module and its import-map shim are committed (a page without a build step
// loads them as they are): they must be what `deno task build:browser` makes from today's src/.
// And the browser entry's registerLayers(tf) refuses a tfjs that is not its own.
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { buildBrowser, BUNDLE, peerMembers, ROOT, SHIM } from "../examples/web/build.ts";
import { registerLayers, TfjsCopyError } from "../src/browser.ts";
import { PerceptualError } from "../src/errors/perceptual_error.ts";

Deno.test("browser bundle: the committed perceptual-browser.js and tfjs_global.js are up to date", async () => {
  const dir = await Deno.makeTempDir({ prefix: "browser_bundle_" });
  try {
    const built = await buildBrowser(dir);
    for (const [name, path] of [[BUNDLE, built.bundle], [SHIM, built.shim]]) {
      const committed = await Deno.readTextFile(`${ROOT}examples/web/${name}`);
      assert.ok(
        committed === await Deno.readTextFile(path!),
        `examples/web/${name} is out of date: run \`deno task build:browser\` and commit it`,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("browser bundle: imports nothing but the two tfjs peers, and is tens of KB", async () => {
  const bundle = await Deno.readTextFile(`${ROOT}examples/web/${BUNDLE}`);
  const specifiers = [...bundle.matchAll(/^import .* from "([^"]+)";$/gm)].map((m) => m[1]);
  assert.deepEqual(
    [...new Set(specifiers)].sort(),
    ["@tensorflow/tfjs-core", "@tensorflow/tfjs-layers"],
  );
  assert.doesNotMatch(bundle, /\bDeno\.|node:|require\(/);
  const kb = new TextEncoder().encode(bundle).length / 1024;
  assert.ok(kb > 5 && kb < 100, `${kb.toFixed(1)} KB`);
  // Every member the bundle reads from tfjs exists in tfjs, so the shim serves them all.
  const union = { ...tf, ...tfl } as Record<string, unknown>;
  assert.deepEqual(peerMembers(bundle).filter((m) => union[m] === undefined), []);
});

Deno.test("browser registerLayers: its own tfjs twice is fine; a look-alike copy is a TfjsCopyError", () => {
  registerLayers({ ...tf, ...tfl });
  registerLayers({ ...tf, ...tfl });
  assert.ok(tf.serialization.SerializationMap.getMap().classNameMap["PerceptualSizeCheck"]);
  const copy = { serialization: { registerClass: () => {} } };
  assert.throws(() => registerLayers(copy), TfjsCopyError);
  assert.throws(() => registerLayers(copy), PerceptualError);
  const otherLayers = { ...tf, layers: { Layer: class {} } };
  assert.throws(() => registerLayers(otherLayers), /layers\.Layer is not the one/);
  assert.throws(() => registerLayers(null as never), TypeError);
});

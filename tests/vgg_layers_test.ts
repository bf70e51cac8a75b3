// Layer tables, aliases and selectors, checked against the published architectures: Simonyan &
// Zisserman's configurations D (VGG-16) and E (VGG-19), Keras' layer names, and the
// PyTorch/Johnson relu/pool names.
import assert from "node:assert/strict";
import { nearestName } from "../src/_internal/did_you_mean.ts";
import {
  beforePools,
  canonicalVggLayer,
  isVggLayerName,
  johnsonStyle,
  VGG16_LAYERS,
  VGG19_LAYERS,
} from "../src/vgg/mod.ts";
import { vggOps } from "../src/vgg/_architecture.ts";
import { vggAlias } from "../src/vgg/layers.ts";

Deno.test("layer tables follow configurations D and E: convs per block and widths", () => {
  const perBlock = (layers: readonly string[]) =>
    [1, 2, 3, 4, 5].map((b) => layers.filter((l) => l.startsWith(`block${b}_conv`)).length);
  assert.deepEqual(perBlock(VGG16_LAYERS), [2, 2, 3, 3, 3]);
  assert.deepEqual(perBlock(VGG19_LAYERS), [2, 2, 4, 4, 4]);
  for (const layers of [VGG16_LAYERS, VGG19_LAYERS]) {
    assert.equal(layers.filter((l) => l.endsWith("_pool")).length, 5);
    assert.equal(layers.at(-1), "block5_pool");
  }
  const convs = vggOps("vgg16").filter((o) => o.kind === "conv");
  // 138,357,544 parameters in VGG-16 minus the classifier's 123,642,856 = 14,714,688 (Keras notop).
  const params = convs.reduce(
    (n, o) => n + (o.kind === "conv" ? 9 * o.inChannels * o.outChannels + o.outChannels : 0),
    0,
  );
  assert.equal(params, 14_714_688);
  const params19 = vggOps("vgg19").reduce(
    (n, o) => n + (o.kind === "conv" ? 9 * o.inChannels * o.outChannels + o.outChannels : 0),
    0,
  );
  assert.equal(params19, 20_024_384);
});

Deno.test("aliases: reluB_C ≡ blockB_convC, poolB ≡ blockB_pool, per architecture", () => {
  assert.equal(canonicalVggLayer("vgg16", "relu2_2"), "block2_conv2");
  assert.equal(canonicalVggLayer("vgg16", "pool1"), "block1_pool");
  assert.equal(canonicalVggLayer("vgg16", "block4_conv3"), "block4_conv3");
  assert.equal(canonicalVggLayer("vgg16", "relu3_4"), undefined);
  assert.equal(canonicalVggLayer("vgg19", "relu3_4"), "block3_conv4");
  assert.equal(canonicalVggLayer("vgg19", "conv1_1"), undefined); // pre-ReLU names are not aliases
  assert.equal(canonicalVggLayer("vgg19", "pool6"), undefined);
  assert.equal(vggAlias("block5_conv3"), "relu5_3");
  assert.equal(vggAlias("block2_pool"), "pool2");
  assert.equal(vggAlias("fc1"), undefined);
  assert.ok(isVggLayerName("vgg19", "relu5_4") && !isVggLayerName("vgg16", "relu5_4"));
  for (const l of VGG19_LAYERS) assert.equal(canonicalVggLayer("vgg19", vggAlias(l)!), l);
});

Deno.test("selectors: beforePools (fastai) and johnsonStyle", () => {
  assert.deepEqual(beforePools("vgg19"), [
    "block1_conv2",
    "block2_conv2",
    "block3_conv4",
    "block4_conv4",
    "block5_conv4",
  ]);
  // Any network: from its layer list.
  assert.deepEqual(beforePools({ layers: ["a", "b", "pool1", "c", "pool2", "d"] }), ["b", "c"]);
  assert.deepEqual(beforePools({ architecture: "vgg16" }), beforePools("vgg16"));
  assert.deepEqual([...johnsonStyle], ["relu1_2", "relu2_2", "relu3_3", "relu4_3"]);
  for (const l of johnsonStyle) {
    assert.ok(isVggLayerName("vgg16", l) && isVggLayerName("vgg19", l));
  }
  // Equal edit distances: the name whose numbers are nearest wins (relu2_2 over relu2_1).
  assert.equal(nearestName("relu2_3", ["relu2_1", "relu2_2", "block2_conv2"]), "relu2_2");
  assert.equal(nearestName("banana", ["relu2_1"]), undefined);
});

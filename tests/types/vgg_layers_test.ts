// Type tests: misspelt or foreign VGG layer names must fail `deno check`. Each
// `@ts-expect-error` line below is an error the compiler must report; if one stops being an
// error, `deno check` fails with "Unused '@ts-expect-error' directive".
import assert from "node:assert/strict";
import type * as tf from "@tensorflow/tfjs-core";
import {
  beforePools,
  johnsonStyle,
  vgg16,
  VGG16_LAYERS,
  type Vgg16Alias,
  type Vgg16BeforePools,
  type Vgg16Layer,
  type Vgg16LayerName,
  type Vgg16Network,
  vgg19,
  VGG19_LAYERS,
  type Vgg19Alias,
  type Vgg19LayerName,
  type Vgg19Network,
} from "../../src/vgg/mod.ts";
import type { LossNetwork } from "../../src/network/loss_network.ts";
import { vggAlias } from "../../src/vgg/layers.ts";

type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true
  : false;
const yes = <T extends true>(): T => true as T;

// Keras names and aliases are accepted.
export const ok16: Vgg16LayerName[] = [
  "block1_conv1",
  "block5_pool",
  "relu2_2",
  "pool1",
  "relu5_3",
];
export const ok19: Vgg19LayerName[] = ["block3_conv4", "relu5_4", "pool5"];
yes<
  Equals<
    Vgg16Alias,
    `relu${1 | 2}_${1 | 2}` | `relu${3 | 4 | 5}_${1 | 2 | 3}` | `pool${1 | 2 | 3 | 4 | 5}`
  >
>();
yes<Equals<Exclude<Vgg19Alias, Vgg16Alias>, "relu3_4" | "relu4_4" | "relu5_4">>();
yes<Equals<Vgg16BeforePools[2], "block3_conv3">>();
yes<Equals<ReturnType<typeof beforePools<string>>, readonly string[]>>();

// @ts-expect-error misspelt
export const bad1: Vgg16LayerName = "block2_cov2";
// @ts-expect-error VGG-19 only
export const bad2: Vgg16LayerName = "block5_conv4";
// @ts-expect-error VGG-19 only alias
export const bad3: Vgg16LayerName = "relu3_4";
// @ts-expect-error aliases are not Keras names
export const bad4: Vgg16Layer = "relu2_2";
// @ts-expect-error no block 6
export const bad5: Vgg19LayerName = "block6_conv1";
// @ts-expect-error pre-ReLU conv names are not aliases (Keras outputs are post-ReLU)
export const bad6: Vgg16LayerName = "conv2_2";

/** Never called: only type-checked. */
export async function typeOnly(x: tf.Tensor4D): Promise<void> {
  const net: Vgg16Network = await vgg16({ weights: { random: 1 }, upTo: "relu3_3" });
  const f = net.extract(x, ["relu2_2", "block3_conv3"]);
  f.relu2_2.dispose();
  f.block3_conv3.dispose();
  // @ts-expect-error not requested, so not in the record
  f.block1_conv1.dispose();
  // @ts-expect-error misspelt layer in extract
  net.extract(x, ["block3_conv"]);
  // @ts-expect-error misspelt upTo
  await vgg16({ weights: "imagenet", upTo: "block2_conv3" });
  // @ts-expect-error VGG-19 layer for VGG-16
  await vgg16({ weights: "imagenet", upTo: "block3_conv4" });
  await vgg19({ weights: "imagenet", upTo: "block3_conv4" });
  // @ts-expect-error weights is required
  await vgg19({ upTo: "relu1_1" });

  const n19: Vgg19Network = await vgg19({ weights: { random: 2 } });
  const b19 = beforePools(n19);
  yes<Equals<typeof b19[2], "block3_conv4">>();
  const b16 = beforePools(net);
  yes<Equals<typeof b16[4], "block5_conv3">>();
  // Johnson's style layers are valid names for both networks.
  net.extract(x, johnsonStyle);
  n19.extract(x, johnsonStyle);
  // Any LossNetwork: a VGG-16 network is one.
  const generic: LossNetwork<Vgg16LayerName> = net;
  generic.depthOf("pool4");
  // @ts-expect-error misspelt in depthOf
  generic.depthOf("pool6");
}

Deno.test("type tests: the runtime tables agree with the types", () => {
  assert.equal(VGG16_LAYERS.length, 18);
  assert.equal(VGG19_LAYERS.length, 21);
  for (const l of ok16) {
    assert.ok(
      VGG16_LAYERS.includes(l as Vgg16Layer) || VGG16_LAYERS.some((k) => vggAlias(k) === l),
    );
  }
  assert.deepEqual(beforePools("vgg16"), [
    "block1_conv2",
    "block2_conv2",
    "block3_conv3",
    "block4_conv3",
    "block5_conv3",
  ]);
});

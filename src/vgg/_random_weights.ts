/**
 * Seeded random VGG weights for tests and offline fallbacks.
 *
 * @module
 */
import { kernelShape, type VggConvSpec } from "./_architecture.ts";
import type { ConvWeights, WeightSource } from "./_weight_source.ts";

/** A 32-bit seed for one layer, so truncating the network never changes shallower layers. */
function layerSeed(seed: number, layer: string): number {
  let h = (Math.floor(seed) ^ 0x9e3779b9) >>> 0;
  for (let i = 0; i < layer.length; i++) h = Math.imul(h ^ layer.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/**
 * He-scaled random weights for one conv layer: kernel ~ U(−a, a) with a = √(6/fan_in),
 * fan_in = 9·in (variance 2/fan_in, as He-normal, but uniform because normals cost 3× more to
 * draw), bias 0. That variance keeps the second moment of ReLU activations about constant from
 * layer to layer, so features neither vanish nor explode through all 16 conv layers.
 * Deterministic in (seed, layer name): truncating the network never changes shallower layers.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { heConv } from "./_random_weights.ts";
 * const w = heConv(7, { kind: "conv", name: "block1_conv1", inChannels: 3, outChannels: 64 });
 * assert.equal(w.kernel.length, 1728);
 * assert.equal(w.bias.length, 64);
 * ```
 */
export function heConv(seed: number, spec: VggConvSpec): ConvWeights {
  const n = kernelShape(spec).reduce((a, b) => a * b, 1);
  const a = Math.sqrt(6 / (9 * spec.inChannels));
  const kernel = new Float32Array(n);
  // mulberry32, inlined: a small, fast, well-mixed 32-bit generator.
  let state = layerSeed(seed, spec.name);
  for (let i = 0; i < n; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296; // [0, 1)
    kernel[i] = (2 * u - 1) * a;
  }
  return { kernel, bias: new Float32Array(spec.outChannels) };
}

/**
 * A {@linkcode WeightSource} of seeded He-scaled random weights for every layer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { randomWeights } from "./_random_weights.ts";
 * const src = randomWeights(1);
 * assert.equal(src.description, "random:1");
 * assert.equal(src.absent("block5_conv3"), undefined); // random weights exist for every layer
 * ```
 */
export function randomWeights(seed: number): WeightSource {
  if (!Number.isFinite(seed)) {
    throw new TypeError(`weights: { random: ${seed} } needs a finite number as seed`);
  }
  return {
    description: `random:${seed}`,
    file: `{ random: ${seed} }`,
    absent: () => undefined,
    read: (spec) => Promise.resolve(heConv(seed, spec)),
    close: () => {},
  };
}

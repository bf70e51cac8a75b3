/**
 * Case (d) in f32 and in bf16, the bf16 one with and without each of this round's changes,
 * alternated run by run in one process so that all see the same load (the only fair comparison
 * on a shared machine): `deno run -A bench/bf16_ab.ts [rounds]` prints the median (best) time of
 * each variant and the f32/bf16 ratios.
 *
 * Variants: `f32`; `bf16-unmasked` (the ReLU's backward as a float32 `where` on wasm, then the
 * bf16 backward-data convolution: the previous round's path); `bf16` (the mask applied inside the
 * bf16 backward-data convolution). Then the first (f32) conv's ReLU backward alone on its
 * [4,64,64,64] gradient: wasm's `where(mask, dy, zerosLike(dy))` against the oneDNN product
 * `reluMaskGrad`, alternated the same way. Needs libdnnl and a CPU with AVX512-BF16.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { bf16Unavailable, initBackend } from "../src/backend/mod.ts";
import { BF16_CONVS } from "../src/vgg/_bf16_convs.ts";
import { reluMaskGrad } from "../src/backend/native/_relu_mask.ts";
import type { SegmentConvs } from "../src/vgg/_frozen_segment.ts";
import { loadModels, prepare } from "./cases.ts";

const rounds = Number(Deno.args[0] ?? 7);
await initBackend("native");
const why = bf16Unavailable();
if (why !== undefined) throw new Error(`bf16_ab needs bf16: ${why}`);

// The bench switches the fused mask off and on in the library's own conv table (a bench-only
// mutation: the variants differ in nothing else).
const convs = BF16_CONVS as { maskedBackwardData?: SegmentConvs["maskedBackwardData"] };
const masked = convs.maskedBackwardData;

const models = await loadModels("lib");
const cases = {
  f32: await prepare("perceptual", models),
  bf16: await prepare("perceptual-bf16", models),
};
const variants = {
  "f32": { c: cases.f32, masked: true },
  "bf16-unmasked": { c: cases.bf16, masked: false },
  "bf16": { c: cases.bf16, masked: true },
} as const;
type Variant = keyof typeof variants;
const times = Object.fromEntries(Object.keys(variants).map((k) => [k, [] as number[]])) as Record<
  Variant,
  number[]
>;

async function once(v: Variant): Promise<number> {
  convs.maskedBackwardData = variants[v].masked ? masked : undefined;
  const t0 = performance.now();
  await variants[v].c.run();
  return performance.now() - t0;
}

const names = Object.keys(variants) as Variant[];
for (const v of names) await once(v), await once(v); // warm-up: primitives, weight copies
const before = tf.memory().numTensors;
for (let r = 0; r < rounds; r++) {
  // Rotate the order so that no variant always follows the same one.
  for (let i = 0; i < names.length; i++) {
    const v = names[(i + r) % names.length]!;
    times[v].push(await once(v));
  }
}
convs.maskedBackwardData = masked;
if (tf.memory().numTensors !== before) {
  throw new Error(`leaked ${tf.memory().numTensors - before} tensors over ${rounds} rounds`);
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const load = Deno.loadavg().map((l) => l.toFixed(2)).join(" / ");
console.log(`case (d) 4×64², ${rounds} alternated rounds, load ${load}`);
for (const v of names) {
  const f32 = median(times.f32) / median(times[v]);
  console.log(
    `${v.padEnd(14)} ${median(times[v]).toFixed(1).padStart(7)} ms (best ${
      Math.min(...times[v]).toFixed(1)
    })  f32/this ${f32.toFixed(2)}×`,
  );
}
Object.values(cases).forEach((c) => c.dispose());

const dy = tf.randomNormal([4, 64, 64, 64], 0, 1, "float32", 3);
const mask = tf.tidy(() => tf.greater(tf.randomNormal([4, 64, 64, 64], 0, 1, "float32", 4), 0));
const ops = {
  where: () => tf.where(mask, dy, tf.zerosLike(dy)),
  reluMaskGrad: () => reluMaskGrad(dy, mask),
};
const opTimes = { where: [] as number[], reluMaskGrad: [] as number[] };
for (let r = 0; r < 4 * rounds + 2; r++) {
  for (const [name, op] of Object.entries(ops) as [keyof typeof ops, () => tf.Tensor][]) {
    // Both run synchronously (wasm, oneDNN): the kernel's time, without a read-back.
    const t0 = performance.now();
    const y = op();
    if (r >= 2) opTimes[name].push(performance.now() - t0);
    y.dispose();
  }
}
tf.dispose([dy, mask]);
console.log(
  `first conv's ReLU backward [4,64,64,64]: where ${median(opTimes.where).toFixed(2)} ms, ` +
    `reluMaskGrad ${median(opTimes.reluMaskGrad).toFixed(2)} ms (medians of ${4 * rounds})`,
);

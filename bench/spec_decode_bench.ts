/**
 * `deno run -A bench/spec_decode_bench.ts`: time `decodeLossSpec` on 1,000 and 10,000 pixel
 * terms (the most the decoder accepts) and print the ratio: ~10 for a decoder linear in the
 * number of terms, ~100 for the quadratic one it replaced (issue 17: 100,000 terms took 103 s).
 *
 * @module
 */
import { decodeLossSpec } from "../src/loss/mod.ts";

function median(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
}

function time(n: number, reps: number): number {
  const spec = { terms: Array.from({ length: n }, () => ({ kind: "pixel" })) };
  const ms: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    const out = decodeLossSpec(spec);
    ms.push(performance.now() - t0);
    if (out._tag !== "Right") throw new Error(`decoding ${n} terms failed`);
  }
  return median(ms);
}

time(1000, 3); // warm-up
const small = time(1000, 7);
const large = time(10_000, 7);
console.log(
  `decodeLossSpec: 1,000 terms ${small.toFixed(1)} ms, 10,000 terms ${large.toFixed(1)} ms, ` +
    `ratio ${(large / small).toFixed(1)} (10 = linear, 100 = quadratic)`,
);

/**
 * Bench: does a 5-term loss cost no more than 1.1× the single deepest term? (issue 4)
 *
 *   deno run -A bench/loss_terms_bench.ts [backend=wasm] [reps=15] [batch=2] [size=64]
 *
 * Both losses run the same two network passes (prediction, and target without a tape) up to
 * block3_conv4 of VGG-19; the 5-term loss adds pixel L1, feature L1 at block1_conv2 and
 * block2_conv2, and a Gram L1 at block3_conv4 on top of the deepest feature term. The two losses
 * run interleaved, `reps` times each after 2 warm-up runs, for the value alone and for value +
 * gradient w.r.t. the prediction (a training step's loss side). Each run is measured in CPU time
 * of this process (`process.cpuUsage`: the wasm and cpu backends compute on one thread, so this
 * is the work done) and in wall time. The verdict uses the fastest CPU time of each loss: on a
 * shared machine other processes only ever slow a run down (cache and core contention show even
 * in CPU time), so the minimum is the best estimate of the work itself; medians are printed too.
 * Uses the real VGG-19 weights in ../shared/data when present, else seeded random weights.
 *
 * @module
 */
import process from "node:process";
import * as tf from "@tensorflow/tfjs-core";
import { pipe } from "fp-ts/lib/function.js";
import { type BackendName, initBackend } from "../src/backend/mod.ts";
import { evaluate, feature, type LossFn, pixel, plus, style } from "../src/loss/mod.ts";
import { vgg19 } from "../src/vgg/mod.ts";

const [backend = "wasm", repsText = "15", batchText = "2", sizeText = "64"] = Deno.args;
const reps = Number(repsText);
const batch = Number(batchText);
const size = Number(sizeText);
const WEIGHTS = "../shared/data/vgg19_imagenet_blocks1-3";

const choice = await initBackend(backend as BackendName);
let real = true;
try {
  Deno.statSync(WEIGHTS);
} catch {
  real = false;
}
const net = await vgg19({ weights: real ? WEIGHTS : { random: 1 }, upTo: "block3_conv4" });

const single = feature("block3_conv4", { distance: "l1" });
const five = pipe(
  pixel({ distance: "l1" }),
  plus(feature("block1_conv2", { distance: "l1" })),
  plus(feature("block2_conv2", { distance: "l1" })),
  plus(feature("block3_conv4", { distance: "l1" })),
  plus(style("block3_conv4", { distance: "l1", weight: 5e3 })),
);
const pred = tf.randomUniform([batch, size, size, 3], 0, 1, "float32", 1) as tf.Tensor4D;
const target = tf.randomUniform([batch, size, size, 3], 0, 1, "float32", 2) as tf.Tensor4D;

/** One run: [cpu ms, wall ms]. */
function measure(body: () => void): [number, number] {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  body();
  const c = process.cpuUsage(c0);
  return [(c.user + c.system) / 1000, performance.now() - t0];
}

function valueOnly(fn: LossFn): [number, number] {
  return measure(() => {
    const r = fn(pred, target); // reads the total back (finite check): the work is done here
    tf.dispose([r.total, ...Object.values(r.terms)]);
  });
}

function withGradient(fn: LossFn): [number, number] {
  return measure(() => {
    const g = tf.grad((p: tf.Tensor) => fn(p as tf.Tensor4D, target).total)(pred);
    g.dataSync();
    g.dispose();
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const fns = { single: evaluate(single, net), five: evaluate(five, net) };
const results: string[] = [];
let worst = 0;
for (const [label, run] of [["value", valueOnly], ["value+gradient", withGradient]] as const) {
  const cpu: Record<"single" | "five", number[]> = { single: [], five: [] };
  const wall: Record<"single" | "five", number[]> = { single: [], five: [] };
  for (let i = 0; i < 2 + reps; i++) {
    for (const k of ["single", "five"] as const) {
      const [c, w] = run(fns[k]);
      if (i >= 2) {
        cpu[k].push(c);
        wall[k].push(w);
      }
    }
  }
  const a = median(cpu.single), b = median(cpu.five);
  const amin = Math.min(...cpu.single), bmin = Math.min(...cpu.five);
  const aw = median(wall.single), bw = median(wall.five);
  worst = Math.max(worst, bmin / amin);
  results.push(
    `${label.padEnd(15)} CPU fastest: single deepest term ${amin.toFixed(0).padStart(5)} ms, ` +
      `5 terms ${bmin.toFixed(0).padStart(5)} ms, ratio ${
        (bmin / amin).toFixed(3)
      } | CPU medians ` +
      `${a.toFixed(0)} / ${b.toFixed(0)} ms (${(b / a).toFixed(3)}) | wall medians ` +
      `${aw.toFixed(0)} / ${bw.toFixed(0)} ms (${(bw / aw).toFixed(3)})`,
  );
}

console.log(
  `loss_terms_bench: backend ${choice.name}, VGG-19 to block3_conv4 (${
    real ? "ImageNet" : "random"
  } ` +
    `weights), pred and target ${batch}×${size}×${size}×3, ${reps} runs each`,
);
for (const line of results) console.log(line);
console.log(`worst ratio ${worst.toFixed(3)} (goal ≤ 1.10): ${worst <= 1.1 ? "PASS" : "FAIL"}`);
tf.dispose([pred, target]);
net.dispose();

// experiment(): a resumed run trains with the loss its config.json holds (the source of truth),
// not with one computed again: a weight edited in config.json between the two runs is the one
// the resumed steps use.
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { experiment } from "../src/experiment/mod.ts";
import { quietly } from "./_quietly.ts";

const fill = (n: number, v: number) => tf.fill([n, 16, 16, 3], v) as tf.Tensor4D;
const { main } = experiment({
  name: "grey.ts",
  what: "Learns to brighten grey.",
  model: () =>
    tfl.sequential({
      layers: [
        tfl.layers.dense({ inputShape: [null, null, 3], units: 3, kernelInitializer: "zeros" }),
      ],
    }),
  pairs: async function* (_o, r) {
    for (let i = 0; i < (r.batches ?? Infinity); i++) {
      yield { input: fill(r.batchSize, 0.2), target: fill(r.batchSize, 0.6) };
    }
  },
  baselines: { input: tf.clone },
});

Deno.test("experiment --resume: the loss comes from config.json, not computed again", async () => {
  const dir = await Deno.makeTempDir({ prefix: "experiment-resume-loss-" });
  try {
    const out = `${dir}/run`;
    const common = ["--vgg", "random", "--backend", "cpu"];
    const args = [...common, "--sample-every", "1", "--lr", "1e-9", "--quiet", "--out", out];
    const first = await quietly(() => main([...args, "--steps", "2"]));
    assert.equal(first.value, 0, first.err);
    const file = `${out}/config.json`;
    const config = JSON.parse(await Deno.readTextFile(file));
    assert.ok(config.perceptualBalance.feature > 0, JSON.stringify(config.perceptualBalance));
    const pixel = config.loss.terms.find((t: { kind: string }) => t.kind === "pixel");
    pixel.weight *= 1000;
    await Deno.writeTextFile(file, JSON.stringify(config));
    const resumed = await quietly(() => main(["--resume", "--out", out, "--steps", "3"]));
    assert.equal(resumed.value, 0, resumed.err);
    assert.match(resumed.out, /as stored in .*config\.json/);
    const rows = (await Deno.readTextFile(`${out}/metrics.csv`)).trim().split("\n");
    const column = rows[0]!.split(",").indexOf("pixel");
    const [, step2, step3] = rows.slice(1).map((r) => Number(r.split(",")[column]));
    // The model barely moves (lr 1e-9): the pixel term grows by the edited weight alone.
    assert.ok(Math.abs(step3! / step2! - 1000) < 1, `pixel term ${step2} then ${step3}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

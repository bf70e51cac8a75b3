/**
 * The two ends of a run's evaluation: validation on held-out pairs during training, and the
 * final results — the table on stdout, `results.json`, the finished `report.html` and a line
 * saying what was done.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { ReportTable } from "../train/mod.ts";
import type { MetricFn } from "./metric_table.ts";
import type { FitResult } from "../train/mod.ts";
import type { Session, TrainedRun, TrainPlan } from "./session.ts";

/**
 * Validation on one held-out batch (cloned for each validation; the caller keeps its own):
 * the loss and, given `metrics`, each metric on the prediction clipped to [0, 1].
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { defaultMetrics, heldOutValidation } from "@perceptual/loss/experiment";
 * import assert from "node:assert/strict";
 *
 * await initBackend("cpu");
 * const input = tf.fill([1, 16, 16, 3], 0.5) as tf.Tensor4D;
 * const v = heldOutValidation(input, input, defaultMetrics());
 * const over = tf.fill([1, 16, 16, 3], 1.5) as tf.Tensor4D;
 * const scores = await v.metrics!(over, input);
 * assert.ok(Math.abs(Number(scores["PSNR (dB)"]) - 20 * Math.log10(2)) < 1e-4); // clipped to 1
 * tf.dispose([input, over]);
 * ```
 */
export function heldOutValidation(
  input: tf.Tensor4D,
  target: tf.Tensor4D,
  metrics?: Readonly<Record<string, MetricFn>>,
): NonNullable<TrainPlan["validation"]> {
  const data = () => [{ input: tf.clone(input), target: tf.clone(target) }];
  if (metrics === undefined) return { data };
  return {
    data,
    metrics: async (prediction: tf.Tensor4D, t: tf.Tensor4D) => {
      const p = tf.clipByValue(prediction, 0, 1);
      try {
        const out: Record<string, number> = {};
        for (const [name, fn] of Object.entries(metrics)) {
          const v = await fn(p, t);
          Object.assign(out, typeof v === "number" ? { [name]: v } : v);
        }
        return out;
      } finally {
        p.dispose();
      }
    },
  };
}

/** What {@linkcode finishRun} writes. */
export interface RunResults {
  /** The line printed above the table. */
  readonly heading: string;
  /** The final table (`metricTable`'s, or any with its text). */
  readonly table: ReportTable & { readonly text: string };
  /** Lines printed below it. */
  readonly notes?: readonly string[];
  /** `results.json`. */
  readonly results: Readonly<Record<string, unknown>>;
  /** Rows added to the report's run facts. */
  readonly summary?: readonly (readonly [string, string])[];
  /** What the run directory holds, for the last line: `report.html, config.json, …`. */
  readonly wrote: string;
}

/**
 * A run's end: the heading, the table and the notes on stdout, `results.json`, the table in
 * the finished `report.html`, and one line saying what was done and written.
 *
 * @example
 * ```ts
 * import { finishRun } from "@perceptual/loss/experiment";
 * import assert from "node:assert/strict";
 *
 * // `experiment()` ends with it; see its example for a whole run.
 * assert.equal(typeof finishRun, "function");
 * ```
 */
export async function finishRun(s: Session, run: TrainedRun, r: RunResults): Promise<void> {
  console.log(`\n${r.heading}\n${r.table.text}`);
  for (const note of r.notes ?? []) console.log(note);
  await Deno.writeTextFile(`${s.runDir}/results.json`, JSON.stringify(r.results, null, 2) + "\n");
  const table = { columns: r.table.columns, rows: r.table.rows };
  await run.report.finish({ table, ...(r.summary === undefined ? {} : { summary: r.summary }) });
  console.log(`${stepsDone(run)}; wrote ${s.runDir}/ (${r.wrote})`);
}

/**
 * `3 steps (5 in total) after resuming from …`: what a run did.
 *
 * @example
 * ```ts
 * import { stepsDone } from "@perceptual/loss/experiment";
 * import assert from "node:assert/strict";
 *
 * const r = { step: 5, stepsRun: 3, resumedFrom: "run/checkpoints/step-00000002" };
 * assert.equal(stepsDone(r as never), "3 steps (5 in total) after resuming from run/checkpoints/step-00000002");
 * ```
 */
export function stepsDone(result: FitResult): string {
  const resumed = result.resumedFrom ? ` after resuming from ${result.resumedFrom}` : "";
  return `${result.stepsRun} steps (${result.step} in total)${resumed}`;
}

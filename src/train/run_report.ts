/**
 * The live run report: a `fit` callback that keeps `<runDir>/report.html` up to date while
 * training runs (marked running, reloading itself) and finished at the end, with the images the
 * run wrote and, once the caller has one, its final table.
 *
 * @module
 */
import type { Callback, FitEndEvent, FitStartEvent, StepEndEvent } from "./callbacks.ts";
import { RunFileError } from "./errors.ts";
import { listDir, pathKind } from "../_internal/fs.ts";
import {
  type ReportData,
  reportDataFromCsv,
  type ReportImage,
  type ReportStepRow,
  type ReportTable,
  type ReportValidationRow,
  writeReport,
} from "./report.ts";

/**
 * Options of {@linkcode runReport}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { trainer, runReport, type RunReportOptions } from "@perceptual/loss/train";
 * await initBackend("cpu");
 * const image = tf.variable(tf.zeros([1, 4, 4, 3])); // what is trained: one small image
 * const loss = (p: tf.Tensor4D, y: tf.Tensor4D) => {
 *   const pixel = tf.mean(tf.abs(tf.sub(p, y))) as tf.Scalar;
 *   return { total: tf.clone(pixel), terms: { pixel } };
 * };
 * using t = trainer({ params: [image], forward: () => tf.add(image, 0), loss });
 * const grey = (v: number) => tf.fill([1, 4, 4, 3], v) as tf.Tensor4D;
 * const batch = () => ({ input: grey(0), target: grey(0.5) }); // learn to output grey 0.5
 * const data = () => [batch(), batch()]; // 2 batches an epoch, made afresh
 * const options: RunReportOptions = {
 *   title: "grey image", summary: [["loss", "pixel L1"]], minIntervalMs: 0,
 * };
 * const report = runReport(options);
 * await t.fit(data, { steps: 2, runDir: `${await Deno.makeTempDir()}/run`, report, quiet: true });
 * assert.ok((await Deno.readTextFile(report.path!)).includes("pixel L1"));
 * image.dispose();
 * ```
 */
export interface RunReportOptions {
  /** The page title (default: the run directory's name). */
  readonly title?: string;
  /** Key/value lines about the run (network, data, sizes). */
  readonly summary?: readonly (readonly [string, string])[];
  /**
   * Rewrite the page at most this often while training (ms, default 5000), besides after every
   * validation and at the end; rendering is cheap, but not free for thousands of rows.
   */
  readonly minIntervalMs?: number;
  /** Folders of the run directory whose PNG/JPEG files are shown (default `["samples"]`). */
  readonly imageDirs?: readonly string[];
  /** Reload period of the running page in seconds (default 15). */
  readonly refreshSeconds?: number;
  /**
   * How to continue the run, shown when it stops early (interrupted or failed), e.g. a command
   * line. Default: "resume it with fit's resume option".
   */
  readonly resumeHint?: string;
  /** What stopped the run when its abort signal fired (e.g. `SIGINT`), for the page. */
  readonly stoppedBy?: () => string | undefined;
}

/**
 * What {@linkcode RunReport.finish} adds to the finished page.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { trainer, type ReportExtras, runReport } from "@perceptual/loss/train";
 * await initBackend("cpu");
 * const image = tf.variable(tf.zeros([1, 4, 4, 3])); // what is trained: one small image
 * const loss = (p: tf.Tensor4D, y: tf.Tensor4D) => {
 *   const pixel = tf.mean(tf.abs(tf.sub(p, y))) as tf.Scalar;
 *   return { total: tf.clone(pixel), terms: { pixel } };
 * };
 * using t = trainer({ params: [image], forward: () => tf.add(image, 0), loss });
 * const grey = (v: number) => tf.fill([1, 4, 4, 3], v) as tf.Tensor4D;
 * const batch = () => ({ input: grey(0), target: grey(0.5) }); // learn to output grey 0.5
 * const data = () => [batch(), batch()]; // 2 batches an epoch, made afresh
 * const report = runReport();
 * await t.fit(data, { steps: 2, runDir: `${await Deno.makeTempDir()}/run`, report, quiet: true });
 * const extras: ReportExtras = {
 *   table: { columns: ["image", "PSNR"], rows: [["held-out", 31.2]] },
 *   summary: [["best", "step 2"]],
 * };
 * await report.finish(extras);
 * assert.ok((await Deno.readTextFile(report.path!)).includes("held-out"));
 * image.dispose();
 * ```
 */
export interface ReportExtras {
  /** The final table (e.g. model vs bicubic). */
  readonly table?: ReportTable;
  /** More summary lines, after the run's own. */
  readonly summary?: readonly (readonly [string, string])[];
}

/**
 * A run report: hand it to `fit` as `report` (it is a {@linkcode Callback}), and after `fit` call
 * `finish({ table })` to write the finished page with the final results.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { trainer, type RunReport, runReport } from "@perceptual/loss/train";
 * await initBackend("cpu");
 * const image = tf.variable(tf.zeros([1, 4, 4, 3])); // what is trained: one small image
 * const loss = (p: tf.Tensor4D, y: tf.Tensor4D) => {
 *   const pixel = tf.mean(tf.abs(tf.sub(p, y))) as tf.Scalar;
 *   return { total: tf.clone(pixel), terms: { pixel } };
 * };
 * using t = trainer({ params: [image], forward: () => tf.add(image, 0), loss });
 * const grey = (v: number) => tf.fill([1, 4, 4, 3], v) as tf.Tensor4D;
 * const batch = () => ({ input: grey(0), target: grey(0.5) }); // learn to output grey 0.5
 * const data = () => [batch(), batch()]; // 2 batches an epoch, made afresh
 * const report: RunReport = runReport({ title: "grey image" }); // a Callback for fit
 * assert.equal(report.path, undefined); // no run directory yet
 * await t.fit(data, { steps: 2, runDir: `${await Deno.makeTempDir()}/run`, report, quiet: true });
 * await report.finish(); // the finished page: no longer reloading itself
 * assert.ok(report.path!.endsWith("/run/report.html"));
 * image.dispose();
 * ```
 */
export interface RunReport extends Callback {
  /** `<runDir>/report.html` once a run directory is known, else undefined. */
  readonly path: string | undefined;
  /** Write the page now, not running, with `extras` (the final table). */
  finish(extras?: ReportExtras): Promise<void>;
}

const IMAGE = /\.(png|jpe?g)$/i;

/** A caption from a file name: `panel-heldout-astronaut.png` → `panel heldout astronaut`. */
function caption(path: string): string {
  const name = path.split("/").pop()!.replace(IMAGE, "");
  const step = /^step-0*(\d+)(.*)$/.exec(name);
  if (step !== null) return `step ${step[1]}${step[2]!.replace(/[_-]+/g, " ")}`;
  return name.replace(/[_-]+/g, " ");
}

/**
 * The images under `dirs` of `runDir`: each folder's non-step images (e.g. full-image panels) by
 * name first, then its `step-*` images newest first.
 */
async function imagesOf(runDir: string, dirs: readonly string[]): Promise<ReportImage[]> {
  const out: ReportImage[] = [];
  for (const dir of dirs) {
    if (await pathKind(`${runDir}/${dir}`) !== "dir") continue;
    const names = (await listDir(`${runDir}/${dir}`)).filter((n) => IMAGE.test(n)).sort();
    const steps = names.filter((n) => n.startsWith("step-")).reverse();
    const others = names.filter((n) => !n.startsWith("step-"));
    for (const n of [...others, ...steps]) {
      const path = `${dir}/${n}`;
      out.push({ path, caption: caption(path) });
    }
  }
  return out;
}

/**
 * A callback that writes `report.html` (see `renderReport`) into the run directory of the `fit`
 * it is given to: at the start, after every validation, at most every `minIntervalMs` between,
 * and at the end of `fit` (no longer marked running). The rows come from memory; after a resume
 * the earlier ones are read back from `metrics.csv`. `fit` makes one with default options for
 * every run directory unless told otherwise.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { runReport } from "@perceptual/loss/train";
 * const report = runReport({ title: "my run", summary: [["data", "photos/"]] });
 * // await t.fit(data, { steps: 100, runDir: "runs/a", report });
 * // await report.finish({ table: { columns: ["set", "PSNR"], rows: [["held-out", 31.2]] } });
 * assert.equal(report.path, undefined); // until fit starts
 * ```
 */
export function runReport(options: RunReportOptions = {}): RunReport {
  const s: ReportState = {
    options,
    runDir: undefined,
    steps: [],
    validation: [],
    lastWrite: -Infinity,
    running: false,
    stopped: undefined,
  };
  return {
    get path() {
      return s.runDir === undefined ? undefined : `${s.runDir.replace(/\/+$/, "")}/report.html`;
    },
    onFitStart: (e) => fitStart(s, e),
    onStepEnd: (e) => stepEnd(s, e),
    async onFitEnd(e) {
      s.running = false;
      s.stopped = whyStopped(options, e);
      await write(s);
    },
    async finish(extras) {
      s.running = false;
      s.stopped = undefined;
      await write(s, extras);
    },
  };
}

/** What a report callback remembers: the run it writes into and the rows so far. */
interface ReportState {
  readonly options: RunReportOptions;
  runDir: string | undefined;
  steps: ReportStepRow[];
  validation: ReportValidationRow[];
  lastWrite: number;
  running: boolean;
  stopped: string | undefined;
}

async function write(s: ReportState, extras: ReportExtras = {}): Promise<void> {
  const { runDir, options } = s;
  if (runDir === undefined) return;
  const title = options.title ?? runDir.replace(/\/+$/, "").split("/").pop()!;
  const data: ReportData = {
    title,
    summary: [...(options.summary ?? []), ...(extras.summary ?? [])],
    steps: s.steps,
    validation: s.validation,
    ...(extras.table === undefined ? {} : { table: extras.table }),
    images: await imagesOf(runDir, options.imageDirs ?? ["samples"]),
    running: s.running,
    ...(s.stopped === undefined ? {} : { stopped: s.stopped }),
    ...(options.refreshSeconds === undefined ? {} : { refreshSeconds: options.refreshSeconds }),
    updated: new Date().toISOString().replace("T", " ").slice(0, 19) + " UTC",
  };
  await writeReport(runDir, data).catch((e) => {
    throw new RunFileError(`${runDir}/report.html`, "write the report", e);
  });
  s.lastWrite = performance.now();
}

async function fitStart(s: ReportState, e: FitStartEvent): Promise<void> {
  s.runDir = e.runDir;
  const { runDir } = s;
  if (runDir === undefined) return;
  s.steps = [];
  s.validation = [];
  // After a resume, metrics.csv (already cut back to the checkpoint) holds the earlier rows.
  if (e.startStep > 0 && await pathKind(`${runDir}/metrics.csv`) === "file") {
    const read = reportDataFromCsv(await Deno.readTextFile(`${runDir}/metrics.csv`));
    s.steps = read.steps.filter((r) => r.step <= e.startStep);
    s.validation = read.validation.filter((v) => v.step <= e.startStep);
  }
  s.running = true;
  s.stopped = undefined;
  await write(s);
}

async function stepEnd(s: ReportState, e: StepEndEvent): Promise<void> {
  if (s.runDir === undefined) return;
  const m = e.metrics;
  s.steps.push({ step: m.step, lr: m.lr, total: m.total, terms: m.terms });
  if (e.validation !== undefined) s.validation.push({ step: m.step, values: e.validation });
  if (
    e.validation !== undefined ||
    performance.now() - s.lastWrite >= (s.options.minIntervalMs ?? 5000)
  ) {
    await write(s);
  }
}

/** The report's line for a fit that was interrupted or failed (undefined when it finished). */
function whyStopped(options: RunReportOptions, e: FitEndEvent): string | undefined {
  const hint = options.resumeHint ?? "resume it with fit's resume option";
  const saved = e.checkpoint === undefined
    ? ""
    : `; checkpoint ${e.checkpoint.split("/").slice(-2).join("/")} written`;
  if (e.reason === "stopped") {
    const by = options.stoppedBy?.();
    return `interrupted${by === undefined ? "" : ` (${by})`} after step ${e.step}${saved}; ` +
      hint;
  }
  if (e.reason === "error") {
    const why = e.error instanceof Error ? e.error.message : String(e.error);
    return `stopped by an error after step ${e.step}: ${why.split("\n")[0]}${saved}; ${hint}`;
  }
  return undefined;
}

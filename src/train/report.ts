/**
 * The run report: one self-contained `report.html` per run directory (inline SVG plots, inline
 * CSS, no script or CDN), so it opens offline in any browser and can be refreshed during
 * training. {@linkcode renderReport} is pure; {@linkcode writeReport} writes it atomically;
 * {@linkcode reportDataFromCsv} reads the rows back from the trainer's `metrics.csv`.
 *
 * @module
 */
import { escapeHtml, formatTick, linePlot, type Series } from "./_svg_plot.ts";
import { writeFileAtomic } from "../_internal/fs.ts";
import { parseCsvLine } from "./_metrics_csv.ts";

/**
 * One training step's numbers.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderReport, type ReportStepRow } from "@perceptual/loss/train";
 * const steps: ReportStepRow[] = [1, 2, 3].map((step) => ({
 *   step, lr: 1e-3, total: 1 / step, terms: { pixel: 0.5 / step, "feature:relu2_2": 0.5 / step },
 * }));
 * const html = renderReport({ title: "toy run", steps }); // one plot line per term
 * assert.ok(html.includes("feature:relu2_2"));
 * ```
 */
export interface ReportStepRow {
  /** The step (1-based, as in metrics.csv). */
  readonly step: number;
  /** Learning rate used at this step. */
  readonly lr?: number;
  /** The total loss. */
  readonly total?: number;
  /** Each loss term (already weighted, as the trainer reports them). */
  readonly terms: Readonly<Record<string, number>>;
}

/**
 * One validation pass: metric name → value (e.g. `psnr`, `ssim`, `loss`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderReport, type ReportValidationRow } from "@perceptual/loss/train";
 * const validation: ReportValidationRow[] = [
 *   { step: 100, values: { psnr: 29.8, ssim: 0.88 } },
 *   { step: 200, values: { psnr: 30.6, ssim: 0.9 } },
 * ];
 * const html = renderReport({ title: "toy run", steps: [], validation });
 * assert.ok(html.includes("ssim"));
 * ```
 */
export interface ReportValidationRow {
  /** The step after which validation ran. */
  readonly step: number;
  /** The metrics measured. */
  readonly values: Readonly<Record<string, number>>;
}

/**
 * The final results table (e.g. model vs bicubic per image set).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderReport, type ReportTable } from "@perceptual/loss/train";
 * const table: ReportTable = {
 *   columns: ["set", "bicubic PSNR", "model PSNR"],
 *   rows: [["Set5", 33.66, 35.123456], ["Set14", 30.24, "n/a"]],
 * };
 * const html = renderReport({ title: "×2", steps: [], table });
 * assert.ok(html.includes("35.12")); // 4 significant digits
 * assert.ok(html.includes("n/a"));
 * ```
 */
export interface ReportTable {
  /** Column headers. */
  readonly columns: readonly string[];
  /** Rows; numbers are printed with 4 significant digits or as given when strings. */
  readonly rows: readonly (readonly (string | number)[])[];
}

/**
 * An image shown in the report.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderReport, type ReportImage } from "@perceptual/loss/train";
 * const images: ReportImage[] = [{ path: "samples/step-200.png", caption: "step 200" }];
 * const html = renderReport({ title: "toy run", steps: [], images }); // relative to the run dir
 * assert.ok(html.includes('src="samples/step-200.png"'));
 * ```
 */
export interface ReportImage {
  /** Path relative to the run directory (e.g. `samples/step-200.png`). */
  readonly path: string;
  /** Caption under it. */
  readonly caption?: string;
}

/**
 * Everything the report shows.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderReport, type ReportData } from "@perceptual/loss/train";
 * const data: ReportData = {
 *   title: "superres ×2 (running)",
 *   summary: [["network", "vgg16"], ["data", "photos/"]],
 *   steps: [{ step: 1, total: 0.5, terms: { pixel: 0.5 } }],
 *   running: true, // the page reloads itself
 *   refreshSeconds: 5,
 * };
 * assert.ok(renderReport(data).includes('http-equiv="refresh" content="5"'));
 * ```
 */
export interface ReportData {
  /** The page title (e.g. `superres ×2, 2026-12-02 06:40`). */
  readonly title: string;
  /** Lines of the run's configuration, shown as a key/value list. */
  readonly summary?: readonly (readonly [string, string])[];
  /** Per-step rows. */
  readonly steps: readonly ReportStepRow[];
  /** Validation rows. */
  readonly validation?: readonly ReportValidationRow[];
  /** The final table, once there is one. */
  readonly table?: ReportTable;
  /** Sample images. */
  readonly images?: readonly ReportImage[];
  /** True while training runs: the page then reloads itself every `refreshSeconds`. */
  readonly running?: boolean;
  /**
   * Why the run stopped early, shown instead of "finished" when it is not running (e.g.
   * `interrupted (SIGINT) after step 40; resume with: …`): the page then no longer reloads.
   */
  readonly stopped?: string;
  /** Reload period while running (default 15 s). */
  readonly refreshSeconds?: number;
  /** When this version was written (shown; default: not shown). */
  readonly updated?: string;
}

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em auto;max-width:1400px;padding:0 1em;color:#222}
h1{font-size:1.4em;margin:.2em 0}h2{font-size:1.1em;margin:1.4em 0 .4em}
.status{color:#555}.running{color:#b35c00}.stopped{color:#b00020;font-weight:600}
dl.summary{display:grid;grid-template-columns:max-content 1fr;gap:.1em 1em;margin:.5em 0}
dl.summary dt{font-weight:600}dl.summary dd{margin:0;font-family:ui-monospace,monospace;
overflow-wrap:anywhere}
.plots{display:flex;flex-wrap:wrap;gap:1em}
figure.plot{margin:0;border:1px solid #ddd;border-radius:4px;padding:.4em}
figure.plot figcaption{font-weight:600}
svg .frame{fill:#fff;stroke:#999}svg .grid{stroke:#eee}svg .axis{stroke:#999}
svg text{font-size:11px;fill:#444}svg .ytick{text-anchor:end;dominant-baseline:middle}
svg .xtick,svg .xlabel{text-anchor:middle}
ul.legend{list-style:none;padding:0;margin:.2em 0 0;display:flex;flex-wrap:wrap;gap:.2em 1em;
max-width:640px}
.swatch{display:inline-block;width:12px;height:3px;margin-right:4px;vertical-align:middle}
.last{color:#777;font-size:.9em}
table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:.25em .6em}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.images{display:flex;flex-wrap:wrap;gap:1em;align-items:flex-start}.images figure{margin:0}
.images img{max-width:100%;image-rendering:pixelated;
border:1px solid #ddd}
.empty{color:#888}
`;

function cell(v: string | number): string {
  return typeof v === "number"
    ? `<td class="num">${Number.isFinite(v) ? formatTick(v) : String(v)}</td>`
    : `<td>${escapeHtml(v)}</td>`;
}

/** A relative file path as a URL path: each segment percent-encoded (spaces, `#`, `?`). */
function urlPath(path: string): string {
  return path.split("/").map(encodeURIComponent).join("/");
}

/** Every key of `rows`' records, in order of first appearance. */
function keysOf(records: readonly Readonly<Record<string, number>>[]): string[] {
  const seen = new Set<string>();
  for (const r of records) for (const k of Object.keys(r)) seen.add(k);
  return [...seen];
}

function plots(data: ReportData): string {
  const steps = data.steps;
  const series: Series[] = keysOf(steps.map((s) => s.terms)).map((k) => ({
    name: k,
    points: steps.filter((s) => k in s.terms).map((s) => [s.step, s.terms[k]!] as const),
  }));
  if (steps.some((s) => s.total !== undefined)) {
    series.push({
      name: "total",
      emphasis: true,
      points: steps.filter((s) => s.total !== undefined).map((s) => [s.step, s.total!] as const),
    });
  }
  const out = [
    linePlot({ title: "Loss terms and total (log scale)", series, logY: true, xLabel: "step" }),
  ];
  const val = data.validation ?? [];
  for (const k of keysOf(val.map((v) => v.values))) {
    const points = val.filter((v) => k in v.values).map((v) => [v.step, v.values[k]!] as const);
    out.push(
      linePlot({ title: `Validation ${k}`, series: [{ name: k, points }], xLabel: "step" }),
    );
  }
  const lr = steps.filter((s) => s.lr !== undefined).map((s) => [s.step, s.lr!] as const);
  out.push(
    linePlot({
      title: "Learning rate",
      series: [{ name: "lr", points: lr }],
      xLabel: "step",
      height: 200,
    }),
  );
  return `<div class="plots">${out.join("")}</div>`;
}

/**
 * The report as one HTML document: title and status, the configuration summary, inline SVG
 * plots (each loss term and the total over steps on a log scale, each validation metric, the
 * learning rate), the final table and the images (relative `<img>` paths, so the page must sit in
 * the run directory). No script, no external resource. While `running`, a
 * `<meta http-equiv="refresh">` reloads it every `refreshSeconds`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderReport } from "@perceptual/loss/train";
 * const html = renderReport({
 *   title: "toy run",
 *   steps: [1, 2, 3].map((step) => ({ step, lr: 1e-3, total: 1 / step, terms: { pixel: 1 / step } })),
 *   validation: [{ step: 3, values: { psnr: 30.1 } }],
 *   table: { columns: ["set", "PSNR"], rows: [["held-out", 30.1]] },
 *   images: [{ path: "samples/step-3.png", caption: "step 3" }],
 * });
 * assert.ok(html.startsWith("<!doctype html>"));
 * assert.ok(html.includes("<svg"));
 * ```
 */
export function renderReport(data: ReportData): string {
  const refresh = data.running === true
    ? `<meta http-equiv="refresh" content="${Math.max(1, data.refreshSeconds ?? 15)}">`
    : "";
  const last = data.steps.at(-1);
  const status = data.running === true
    ? `<p class="status running">training: step ${last?.step ?? 0}; this page reloads itself ` +
      `every ${Math.max(1, data.refreshSeconds ?? 15)} s</p>`
    : data.stopped !== undefined
    ? `<p class="status stopped">${escapeHtml(data.stopped)}</p>`
    : `<p class="status">finished${last === undefined ? "" : ` after step ${last.step}`}</p>`;
  const updated = data.updated === undefined
    ? ""
    : `<p class="status">updated ${escapeHtml(data.updated)}</p>`;
  const summary = data.summary === undefined || data.summary.length === 0
    ? ""
    : `<dl class="summary">${
      data.summary.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join("")
    }</dl>`;
  const table = data.table === undefined
    ? ""
    : `<h2>Results</h2><table><thead><tr>${
      data.table.columns.map((c) => `<th>${escapeHtml(c)}</th>`).join("")
    }</tr></thead><tbody>${
      data.table.rows.map((row) => `<tr>${row.map(cell).join("")}</tr>`).join("")
    }</tbody></table>`;
  const images = (data.images ?? []).length === 0
    ? ""
    : `<h2>Samples</h2><div class="images">${
      data.images!.map((im) =>
        `<figure><img src="${escapeHtml(urlPath(im.path))}" ` +
        `alt="${escapeHtml(im.caption ?? im.path)}">` +
        `<figcaption>${escapeHtml(im.caption ?? im.path)}</figcaption></figure>`
      ).join("")
    }</div>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">${refresh}
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(data.title)}</title><style>${STYLE}</style></head>
<body><h1>${escapeHtml(data.title)}</h1>${status}${updated}${summary}
<h2>Training</h2>${plots(data)}${table}${images}
</body></html>
`;
}

/**
 * Write `renderReport(data)` to `<runDir>/report.html` atomically (a synced temporary file
 * renamed over the old one), so a browser refreshing mid-run never sees half a page. Returns the
 * path written.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeReport } from "@perceptual/loss/train";
 * const dir = await Deno.makeTempDir();
 * const path = await writeReport(dir, { title: "empty run", steps: [], running: true });
 * assert.ok(path.endsWith("/report.html"));
 * ```
 */
export async function writeReport(runDir: string, data: ReportData): Promise<string> {
  const path = `${runDir.replace(/\/+$/, "")}/report.html`;
  await writeFileAtomic(path, renderReport(data));
  return path;
}

const BASE_COLUMNS = new Set([
  "step",
  "epoch",
  "lr",
  "momentum",
  "total",
  "grad_norm",
  "elapsed_s",
]);

/**
 * The step and validation rows of a trainer `metrics.csv` (see `metricsCsv`): `lr` and `total`
 * from their columns, every column outside the base ones that does not start with `val_` as a
 * loss term (a `term_` prefix the CSV added to avoid a clash is removed), and each `val_<name>`
 * column as validation metric `<name>` on the rows that have it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { reportDataFromCsv } from "@perceptual/loss/train";
 * const csv = "step,epoch,lr,momentum,total,grad_norm,elapsed_s,pixel,val_psnr\n" +
 *   "1,0,0.001,,0.5,,0.1,0.5,\n2,0,0.001,,0.4,,0.2,0.4,31.5\n";
 * const { steps, validation } = reportDataFromCsv(csv);
 * assert.equal(steps[1]!.terms.pixel, 0.4);
 * assert.deepEqual(validation[0], { step: 2, values: { psnr: 31.5 } });
 * ```
 */
export function reportDataFromCsv(
  csv: string,
): { steps: ReportStepRow[]; validation: ReportValidationRow[] } {
  const lines = csv.split(/\r?\n/).filter((l) => l.length > 0);
  const steps: ReportStepRow[] = [];
  const validation: ReportValidationRow[] = [];
  if (lines.length === 0) return { steps, validation };
  const header = parseCsvLine(lines[0]!);
  for (const line of lines.slice(1)) {
    const cells = parseCsvLine(line);
    const num = (i: number): number | undefined => {
      const c = cells[i];
      return c === undefined || c === "" ? undefined : Number(c);
    };
    const stepIndex = header.indexOf("step");
    const step = num(stepIndex);
    if (step === undefined || !Number.isFinite(step)) continue;
    const terms: Record<string, number> = {};
    const values: Record<string, number> = {};
    header.forEach((name, i) => {
      const v = num(i);
      if (v === undefined || BASE_COLUMNS.has(name)) return;
      if (name.startsWith("val_")) values[name.slice(4)] = v;
      else terms[name.startsWith("term_") ? name.slice(5) : name] = v;
    });
    const lr = num(header.indexOf("lr"));
    const total = num(header.indexOf("total"));
    steps.push({
      step,
      terms,
      ...(lr === undefined ? {} : { lr }),
      ...(total === undefined ? {} : { total }),
    });
    if (Object.keys(values).length > 0) validation.push({ step, values });
  }
  return { steps, validation };
}

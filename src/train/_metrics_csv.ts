/**
 * The metrics CSV: one row per step, a column per loss term and per validation metric.
 *
 * @module
 */
import type { Callback, StepEndEvent } from "./callbacks.ts";
import { RunFileError } from "./errors.ts";
import { listDir, pathKind, writeFileAtomic } from "../_internal/fs.ts";

const BASE = ["step", "epoch", "lr", "momentum", "total", "grad_norm", "elapsed_s"] as const;

type Row = Record<string, number | undefined>;

function quote(cell: string): string {
  return /[",\n\r]/.test(cell) ? `"${cell.replaceAll('"', '""')}"` : cell;
}

/**
 * Split one CSV line (RFC 4180 quoting).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseCsvLine } from "./_metrics_csv.ts";
 * assert.deepEqual(parseCsvLine('step,"a,b",3'), ["step", "a,b", "3"]);
 * ```
 */
export function parseCsvLine(line: string): string[] {
  const cells: string[] = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      cells.push(cur);
      cur = "";
    } else cur += c;
  }
  cells.push(cur);
  return cells;
}

/** Options of {@linkcode metricsCsv}. */
export interface MetricsCsvOptions {
  /**
   * Called with a note (what was removed, where the original was kept) when a resume had to
   * repair the file: rows past the checkpoint, damaged rows, a last line cut short.
   */
  readonly onRepair?: (note: string) => void;
}

/** Remove the `<path>.before-resume-<step>-<time>` copies that earlier versions kept, one a resume. */
async function removeOldBackups(path: string): Promise<void> {
  const slash = path.lastIndexOf("/");
  const dir = slash < 0 ? "." : path.slice(0, slash);
  const base = `${path.slice(slash + 1)}.before-resume-`;
  for (const name of await listDir(dir)) {
    if (name.startsWith(base)) await Deno.remove(`${dir}/${name}`).catch(() => {});
  }
}

/** `n thing(s)`. */
function count(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? "" : "s"}`;
}

/**
 * A callback that writes `path`: columns `step, epoch, lr, momentum, total, grad_norm,
 * elapsed_s`, then every loss term and every validation metric (prefixed `val_`) in the order
 * they first appear; validation cells are empty on steps without validation. Rows are appended
 * as training goes; when a new column appears the file is rewritten (atomically) with the wider
 * header. On resume from step `s`, the file is repaired before anything is appended: rows past
 * `s` (steps that will be trained again), rows that do not parse (wrong cell count, a step that
 * is not an integer in 1..s, out of order) and a last line without its newline (a write cut
 * short by a kill) are removed, after the original file has been copied to
 * `<path>.before-resume` (one backup: a later repair replaces it, and older
 * `<path>.before-resume-*` copies are removed).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { metricsCsv } from "./_metrics_csv.ts";
 * const cb = metricsCsv(`${await Deno.makeTempDir()}/metrics.csv`);
 * assert.equal(typeof cb.onStepEnd, "function"); // a Callback for fit
 * ```
 */
export function metricsCsv(path: string, options: MetricsCsvOptions = {}): Callback {
  const s: CsvState = { path, options, columns: [...BASE], rows: [], headerWritten: false };
  return {
    onFitStart: (e) => load(s, e.startStep),
    onStepEnd: (e) => append(s, rowOf(e)),
  };
}

/** What a metrics file writer remembers: the columns so far and every row it holds. */
interface CsvState {
  readonly path: string;
  readonly options: MetricsCsvOptions;
  columns: string[];
  rows: Row[];
  headerWritten: boolean;
}

function line(s: CsvState, row: Row): string {
  return s.columns.map((c) => row[c] === undefined ? "" : String(row[c])).join(",") + "\n";
}

async function rewrite(s: CsvState): Promise<void> {
  const text = s.columns.map(quote).join(",") + "\n" + s.rows.map((r) => line(s, r)).join("");
  await writeFileAtomic(s.path, text).catch((e) => {
    throw new RunFileError(s.path, "write the metrics", e);
  });
  s.headerWritten = true;
}

/** A metrics file read for a resume from `startStep`: what is kept, and what was wrong. */
interface ParsedCsv {
  readonly header: string[];
  readonly headerOk: boolean;
  readonly kept: Row[];
  /** Rows past `startStep`. */
  readonly past: number;
  /** Rows that do not parse or are out of order. */
  readonly damaged: number;
  /** Whether the last line was cut short. */
  readonly partial: boolean;
}

function parseForResume(text: string, startStep: number): ParsedCsv {
  const lines = text.split("\n");
  // Every complete line ends with "\n": what follows the last one was cut short.
  const partial = lines.pop() !== "";
  const header = lines.length > 0 ? parseCsvLine(lines[0]!) : [];
  const headerOk = header[0] === "step" && header.every((c) => c !== "");
  let past = 0;
  let damaged = 0;
  const kept: Row[] = [];
  for (const l of headerOk ? lines.slice(1) : lines) {
    const cells = parseCsvLine(l);
    const step = Number(cells[0]);
    const previous = kept.length > 0 ? kept[kept.length - 1]!.step! : 0;
    if (!headerOk || cells.length !== header.length || !Number.isInteger(step) || step < 1) {
      damaged++;
    } else if (step > startStep) past++;
    else if (step <= previous) damaged++;
    else {
      const row: Row = {};
      header.forEach((c, i) => {
        const cell = cells[i]!;
        row[c] = cell === "" ? undefined : Number(cell);
      });
      kept.push(row);
    }
  }
  return { header, headerOk, kept, past, damaged, partial };
}

/** On resume: keep the rows up to `startStep`, repairing the file (with a backup) when needed. */
async function load(s: CsvState, startStep: number): Promise<void> {
  const { path } = s;
  if (await pathKind(path) !== "file") return;
  const text = await Deno.readTextFile(path);
  const { header, headerOk, kept, past, damaged, partial } = parseForResume(text, startStep);
  if (headerOk) {
    s.columns = [...BASE, ...header.filter((c) => !(BASE as readonly string[]).includes(c))];
  }
  s.rows = kept;
  if (past > 0 || damaged > 0 || partial || !headerOk) {
    const backup = `${path}.before-resume`;
    await writeFileAtomic(backup, text);
    await removeOldBackups(path);
    const what = [
      ...(!headerOk ? ["its unreadable header"] : []),
      ...(past > 0 ? [`${count(past, "row")} past step ${startStep}`] : []),
      ...(damaged > 0 ? [count(damaged, "damaged row")] : []),
      ...(partial ? ["a partial last line"] : []),
    ];
    s.options.onRepair?.(
      `${path}: removed ${what.join(", ")} (${count(kept.length, "row")} kept); the ` +
        `original is in ${backup}`,
    );
    await rewrite(s);
  }
  s.headerWritten = true;
}

function rowOf(e: StepEndEvent): Row {
  const m = e.metrics;
  const row: Row = {
    step: m.step,
    epoch: e.epoch,
    lr: m.lr,
    momentum: m.momentum,
    total: m.total,
    grad_norm: m.gradNorm,
    elapsed_s: Math.round(e.elapsedMs) / 1000,
  };
  // A term named like a base column ("total", "lr", …) gets a prefix instead of clobbering it.
  for (const [k, v] of Object.entries(m.terms)) row[k in row ? `term_${k}` : k] = v;
  for (const [k, v] of Object.entries(e.validation ?? {})) row[`val_${k}`] = v;
  return row;
}

/** Appends `row`, or rewrites the file when the row brings a new column. */
async function append(s: CsvState, row: Row): Promise<void> {
  s.rows.push(row);
  const fresh = Object.keys(row).filter((k) => !s.columns.includes(k));
  if (fresh.length > 0 || !s.headerWritten) {
    s.columns = [...s.columns, ...fresh];
    await rewrite(s);
  } else {
    await Deno.writeTextFile(s.path, line(s, row), { append: true }).catch((e) => {
      throw new RunFileError(s.path, "append to the metrics", e);
    });
  }
}

/**
 * The metrics CSV: one row per step, a column per loss term and per validation metric.
 *
 * @module
 */
import type { Callback } from "./callbacks.ts";
import { pathKind, writeFileAtomic } from "../_internal/fs.ts";

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
 * import { parseCsvLine } from "./_metrics_csv.ts";
 * console.log(parseCsvLine('step,"a,b",3')); // ["step", "a,b", "3"]
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
  /** Called with the path of a backup when a resume had to drop rows past the checkpoint. */
  readonly onBackup?: (path: string) => void;
}

/**
 * A callback that writes `path`: columns `step, epoch, lr, momentum, total, grad_norm,
 * elapsed_s`, then every loss term and every validation metric (prefixed `val_`) in the order
 * they first appear; validation cells are empty on steps without validation. Rows are appended
 * as training goes; when a new column appears the file is rewritten (atomically) with the wider
 * header. On resume from step `s`, rows past `s` (steps that will be trained again) are dropped,
 * after the original file has been copied to `<path>.before-resume-<s>-<time>`.
 *
 * @example
 * ```ts
 * import { metricsCsv } from "./_metrics_csv.ts";
 * const cb = metricsCsv(`${await Deno.makeTempDir()}/metrics.csv`);
 * ```
 */
export function metricsCsv(path: string, options: MetricsCsvOptions = {}): Callback {
  let columns: string[] = [...BASE];
  let rows: Row[] = [];
  let headerWritten = false;

  function line(row: Row): string {
    return columns.map((c) => row[c] === undefined ? "" : String(row[c])).join(",") + "\n";
  }

  async function rewrite(): Promise<void> {
    const text = columns.map(quote).join(",") + "\n" + rows.map(line).join("");
    await writeFileAtomic(path, text);
    headerWritten = true;
  }

  async function load(startStep: number): Promise<void> {
    if (await pathKind(path) !== "file") return;
    const text = await Deno.readTextFile(path);
    const lines = text.split("\n").filter((l) => l.length > 0);
    if (lines.length === 0) return;
    const header = parseCsvLine(lines[0]!);
    const parsed: Row[] = lines.slice(1).map((l) => {
      const cells = parseCsvLine(l);
      const row: Row = {};
      header.forEach((c, i) => {
        const cell = cells[i];
        row[c] = cell === undefined || cell === "" ? undefined : Number(cell);
      });
      return row;
    });
    const kept = parsed.filter((r) => r.step !== undefined && r.step <= startStep);
    columns = [...BASE, ...header.filter((c) => !(BASE as readonly string[]).includes(c))];
    rows = kept;
    if (kept.length !== parsed.length) {
      const backup = `${path}.before-resume-${startStep}-${Date.now()}`;
      await Deno.copyFile(path, backup);
      options.onBackup?.(backup);
      await rewrite();
    }
    headerWritten = true;
  }

  return {
    async onFitStart(e) {
      await load(e.startStep);
    },
    async onStepEnd(e) {
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
      rows.push(row);
      const fresh = Object.keys(row).filter((k) => !columns.includes(k));
      if (fresh.length > 0 || !headerWritten) {
        columns = [...columns, ...fresh];
        await rewrite();
      } else {
        await Deno.writeTextFile(path, line(row), { append: true });
      }
    },
  };
}

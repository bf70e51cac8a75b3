/**
 * The examples' result tables: numbers right-aligned at a fixed precision per column, text
 * left-aligned, one header rule, as plain text on stdout (not `console.table`, which quotes
 * strings and pads nothing).
 *
 * @module
 */

/** One column: its header and how its numbers are written (default 4 significant digits). */
export interface Column {
  /** The header. */
  readonly name: string;
  /** Numbers to text, e.g. `(n) => n.toFixed(2)`. */
  readonly format?: (n: number) => string;
}

/** A cell: text, a number (formatted by its column), or undefined (written as `-`). */
export type Cell = string | number | undefined;

/**
 * The table as lines of text.
 *
 * @example
 * ```ts
 * import { formatTable } from "@perceptual/loss/experiment";
 * import assert from "node:assert/strict";
 *
 * const text = formatTable([{ name: "method" }, { name: "PSNR", format: (n) => n.toFixed(2) }], [
 *   ["bicubic", 33.674],
 *   ["model", undefined],
 * ]);
 * assert.deepEqual(text.split("\n"), ["method    PSNR", "-------  -----", "bicubic  33.67", "model        -"]);
 * ```
 */
export function formatTable(
  columns: readonly Column[],
  rows: readonly (readonly Cell[])[],
): string {
  const text = rows.map((r) =>
    columns.map((c, i) => {
      const v = r[i];
      return v === undefined ? "-" : typeof v === "number" ? (c.format ?? fourDigits)(v) : v;
    })
  );
  const numeric = columns.map((_, i) => rows.some((r) => typeof r[i] === "number"));
  const widths = columns.map((c, i) => Math.max(c.name.length, ...text.map((t) => t[i]!.length)));
  const line = (cells: readonly string[]) =>
    cells.map((s, i) => numeric[i] ? s.padStart(widths[i]!) : s.padEnd(widths[i]!)).join("  ")
      .trimEnd();
  return [
    line(columns.map((c) => c.name)),
    widths.map((w) => "-".repeat(w)).join("  "),
    ...text.map(line),
  ].join("\n");
}

function fourDigits(n: number): string {
  return n.toPrecision(4);
}

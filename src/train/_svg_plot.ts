/**
 * Internal: inline SVG line plots for the run report (axes, ticks, a legend, one path per
 * series). Only what the report draws; not a charting library.
 *
 * @module
 */

/** One line of a plot. */
export interface Series {
  readonly name: string;
  /** [x, y] pairs; non-finite y (or y <= 0 on a log axis) breaks the line there. */
  readonly points: readonly (readonly [number, number])[];
  /** Drawn thicker (e.g. the total). */
  readonly emphasis?: boolean;
}

/** A plot: title, series, axis kind. */
export interface PlotSpec {
  readonly title: string;
  readonly series: readonly Series[];
  readonly logY?: boolean;
  readonly xLabel?: string;
  readonly width?: number;
  readonly height?: number;
}

// Tableau 10: distinguishable, and readable on white.
const COLOURS = [
  "#4e79a7",
  "#f28e2b",
  "#e15759",
  "#76b7b2",
  "#59a14f",
  "#edc948",
  "#b07aa1",
  "#ff9da7",
  "#9c755f",
  "#bab0ac",
];

/** Escape text for HTML/SVG content and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );
}

/** A number for a tick label or a table: short, exponent form only when needed. */
export function formatTick(v: number): string {
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) {
    const [m, e] = v.toExponential(1).split("e");
    return `${m!.replace(/\.0$/, "")}e${e!.replace("+", "")}`;
  }
  return String(Number(v.toPrecision(4)));
}

/** A linear-axis tick label with as many decimals as the tick step needs (never duplicates). */
function linearLabel(v: number, step: number): string {
  const a = Math.abs(v);
  if (v !== 0 && (a >= 1e5 || a < 1e-3)) return formatTick(v);
  return v.toFixed(Math.max(0, Math.min(10, -Math.floor(Math.log10(step) + 1e-9))));
}

/** The step {@linkcode linearTicks} uses for [lo, hi]. */
function tickStep(lo: number, hi: number, count: number): number {
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
}

/** About `count` round ticks (1, 2, 5 × 10^k steps) covering [lo, hi]. */
function linearTicks(lo: number, hi: number, count = 5): number[] {
  const step = tickStep(lo, hi, count);
  const out: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) {
    out.push(Math.abs(t) < step * 1e-9 ? 0 : Number(t.toPrecision(12)));
  }
  return out;
}

/** Ticks at powers of ten in [lo, hi] (positive), with 2 and 5 added when under two decades. */
function logTicks(lo: number, hi: number): number[] {
  const a = Math.floor(Math.log10(lo));
  const b = Math.ceil(Math.log10(hi));
  const mults = b - a <= 2 ? [1, 2, 5] : [1];
  const out: number[] = [];
  for (let k = a; k <= b; k++) {
    for (const m of mults) {
      const t = m * 10 ** k;
      if (t >= lo * (1 - 1e-9) && t <= hi * (1 + 1e-9)) out.push(Number(t.toPrecision(12)));
    }
  }
  return out;
}

/** The [lo, hi] of the values, widened when flat; on a log axis, of the positive ones. */
function extent(values: number[], log: boolean): [number, number] | undefined {
  const v = values.filter((x) => Number.isFinite(x) && (!log || x > 0));
  if (v.length === 0) return undefined;
  // A loop, not Math.min(...v): long runs have more values than a call may take arguments.
  const lo = v.reduce((a, b) => Math.min(a, b));
  const hi = v.reduce((a, b) => Math.max(a, b));
  if (log) {
    // Whole decades, so that the axis starts and ends on a labelled tick.
    const a = Math.floor(Math.log10(lo) + 1e-9);
    const b = Math.ceil(Math.log10(hi) - 1e-9);
    return [10 ** a, 10 ** Math.max(b, a + 1)];
  }
  if (hi === lo) {
    const pad = Math.abs(lo) * 0.05 || 1;
    return [lo - pad, hi + pad];
  }
  const pad = (hi - lo) * 0.05;
  return [lo - pad, hi + pad];
}

/** Keep at most `max` points, evenly spaced, always the last one. */
function thin<T>(points: readonly T[], max: number): readonly T[] {
  if (points.length <= max) return points;
  const stride = points.length / max;
  const out: T[] = [];
  for (let i = 0; i < max; i++) out.push(points[Math.floor(i * stride)]!);
  out[out.length - 1] = points[points.length - 1]!;
  return out;
}

/** The plot's geometry: the margins, the plotting area and the data-to-pixel maps. */
interface Frame {
  readonly width: number;
  readonly height: number;
  readonly m: {
    readonly left: number;
    readonly right: number;
    readonly top: number;
    readonly bottom: number;
  };
  readonly pw: number;
  readonly ph: number;
  readonly x: readonly [number, number];
  readonly y: readonly [number, number];
  readonly log: boolean;
  readonly sx: (x: number) => number;
  readonly sy: (y: number) => number;
  /** Whether `y` can be drawn (finite, and positive on a log axis). */
  readonly usable: (y: number) => boolean;
}

const r = (v: number) => v.toFixed(1);

/** The frame for `spec`, or undefined when no series has a drawable point. */
function frameOf(spec: PlotSpec): Frame | undefined {
  const width = spec.width ?? 640;
  const height = spec.height ?? 260;
  const m = { left: 62, right: 12, top: 26, bottom: 36 };
  const log = spec.logY === true;
  const xs = spec.series.flatMap((s) => s.points.map((p) => p[0]));
  const yr = extent(spec.series.flatMap((s) => s.points.map((p) => p[1])), log);
  if (yr === undefined || xs.length === 0) return undefined;
  let [x0, x1] = [xs.reduce((a, b) => Math.min(a, b)), xs.reduce((a, b) => Math.max(a, b))];
  if (x0 === x1) [x0, x1] = [x0 - 1, x1 + 1];
  const [y0, y1] = yr;
  const pw = width - m.left - m.right;
  const ph = height - m.top - m.bottom;
  const fy = log ? (y: number) => Math.log10(y) : (y: number) => y;
  return {
    width,
    height,
    m,
    pw,
    ph,
    x: [x0, x1],
    y: [y0, y1],
    log,
    sx: (x: number) => m.left + ((x - x0) / (x1 - x0)) * pw,
    sy: (y: number) => m.top + ph - ((fy(y) - fy(y0)) / (fy(y1) - fy(y0))) * ph,
    usable: (y: number) => Number.isFinite(y) && (!log || y > 0),
  };
}

/** The frame, the grid, the ticks and the x label. */
function axes(f: Frame, xLabel: string | undefined): string[] {
  const { m, pw, ph, log } = f;
  const [x0, x1] = f.x;
  const [y0, y1] = f.y;
  const parts = [`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" class="frame"/>`];
  const yStep = tickStep(y0, y1, 5);
  for (const t of log ? logTicks(y0, y1) : linearTicks(y0, y1)) {
    const y = r(f.sy(t));
    const label = log ? formatTick(t) : linearLabel(t, yStep);
    parts.push(
      `<line x1="${m.left}" x2="${m.left + pw}" y1="${y}" y2="${y}" class="grid"/>`,
      `<text x="${m.left - 6}" y="${y}" class="ytick">${label}</text>`,
    );
  }
  const xStep = tickStep(x0, x1, 6);
  for (const t of linearTicks(x0, x1, 6)) {
    const x = r(f.sx(t));
    parts.push(
      `<line x1="${x}" x2="${x}" y1="${m.top + ph}" y2="${m.top + ph + 4}" class="axis"/>`,
      `<text x="${x}" y="${m.top + ph + 16}" class="xtick">${linearLabel(t, xStep)}</text>`,
    );
  }
  if (xLabel !== undefined) {
    parts.push(
      `<text x="${m.left + pw / 2}" y="${f.height - 4}" class="xlabel">${
        escapeHtml(xLabel)
      }</text>`,
    );
  }
  return parts;
}

/** One series: its path (broken where a value cannot be drawn), dots when sparse, its legend item. */
function seriesSvg(
  f: Frame,
  s: PlotSpec["series"][number],
  colour: string,
): { parts: string[]; legend: string } {
  const pts = thin(s.points.filter((p) => Number.isFinite(p[0])), 2000);
  let d = "";
  let pen = false;
  for (const [x, y] of pts) {
    if (!f.usable(y)) {
      pen = false;
      continue;
    }
    d += `${pen ? "L" : "M"}${r(f.sx(x))} ${r(f.sy(y))}`;
    pen = true;
  }
  const w = s.emphasis ? 2.5 : 1.5;
  const parts = [
    `<path d="${d}" fill="none" stroke="${colour}" stroke-width="${w}" ` +
    `data-series="${escapeHtml(s.name)}"/>`,
  ];
  // Sparse series (validation every N steps) get dots, so single points show.
  if (pts.length <= 20) {
    for (const [x, y] of pts) {
      if (f.usable(y)) {
        parts.push(`<circle cx="${r(f.sx(x))}" cy="${r(f.sy(y))}" r="2.5" fill="${colour}"/>`);
      }
    }
  }
  const last = [...pts].reverse().find((p) => f.usable(p[1]));
  const legend =
    `<li><span class="swatch" style="background:${colour}"></span>${escapeHtml(s.name)}` +
    (last === undefined ? "" : ` <span class="last">${formatTick(last[1])}</span>`) + `</li>`;
  return { parts, legend };
}

/**
 * A `<figure>` with an inline SVG line plot and an HTML legend, or a short note when no series
 * has a drawable point.
 */
export function linePlot(spec: PlotSpec): string {
  const title = `<figcaption>${escapeHtml(spec.title)}</figcaption>`;
  const f = frameOf(spec);
  if (f === undefined) {
    return `<figure class="plot">${title}<p class="empty">no data yet</p></figure>`;
  }
  const parts = axes(f, spec.xLabel);
  const legend: string[] = [];
  spec.series.forEach((s, i) => {
    const drawn = seriesSvg(f, s, COLOURS[i % COLOURS.length]!);
    parts.push(...drawn.parts);
    legend.push(drawn.legend);
  });
  const { width, height } = f;
  return `<figure class="plot">${title}<svg xmlns="http://www.w3.org/2000/svg" ` +
    `viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" ` +
    `aria-label="${escapeHtml(spec.title)}">${parts.join("")}</svg>` +
    `<ul class="legend">${legend.join("")}</ul></figure>`;
}

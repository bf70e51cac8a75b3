/// <reference lib="dom" />
// Test helper (not a test), the one Chromium launcher of the tests: Debian's headless Chromium
// (never a downloaded browser) driven by playwright-core, with the project's flags, a fresh
// profile, a static file server on 127.0.0.1, and every request outside 127.0.0.1 refused and
// recorded. `chromiumSkipReason()` says why a browser test must skip (no chromium, or it cannot
// start here); `launchChromium()` gives a plain playwright Browser or that reason.
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";

/** Where Debian installs it (`apt-get install chromium`; .ci/run installs it), or CHROMIUM_PATH. */
export const CHROMIUM = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";

/** The flags of the project's browser tests (see BRIEF / FACTS). */
export const CHROMIUM_FLAGS: readonly string[] = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** A running browser with a fresh profile; close it with `close()` (or `await using`). */
export interface Chromium extends AsyncDisposable {
  readonly context: BrowserContext;
  /** A new page that refuses and records requests leaving 127.0.0.1, and records errors. */
  newPage(): Promise<WatchedPage>;
  close(): Promise<void>;
}

/** A page with what it logged and tried. */
export interface WatchedPage {
  readonly page: Page;
  /** Console errors and uncaught page errors. */
  readonly errors: string[];
  /** URLs it tried to fetch outside 127.0.0.1 (refused). */
  readonly external: string[];
}

async function launch(): Promise<Chromium> {
  const profile = await Deno.makeTempDir({ prefix: "chromium_profile_" });
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [...CHROMIUM_FLAGS],
      timeout: 60_000,
    });
  } catch (e) {
    await Deno.remove(profile, { recursive: true }).catch(() => {});
    throw e;
  }
  const close = async () => {
    await context.close();
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  };
  return {
    context,
    async newPage() {
      const page = await context.newPage();
      const errors: string[] = [];
      const external: string[] = [];
      page.on("console", (m) => {
        if (m.type() === "error") errors.push(`console: ${m.text()}`);
      });
      page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
      await page.route("**/*", async (route) => {
        const url = new URL(route.request().url());
        if (url.protocol === "data:" || url.hostname === "127.0.0.1") await route.continue();
        else {
          external.push(url.href);
          await route.abort();
        }
      });
      return { page, errors, external };
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

async function absent(): Promise<string | undefined> {
  try {
    if (!(await Deno.stat(CHROMIUM)).isFile) return `${CHROMIUM} is not a file`;
  } catch {
    return `${CHROMIUM} is absent (apt-get install chromium, or set CHROMIUM_PATH)`;
  }
  return undefined;
}

let skipReason: Promise<string | undefined> | undefined;

/** Why browser tests cannot run here, or undefined when Chromium starts. Tried once per process. */
export function chromiumSkipReason(): Promise<string | undefined> {
  skipReason ??= (async () => {
    const missing = await absent();
    if (missing !== undefined) return missing;
    try {
      const b = await launch();
      await b.close();
      return undefined;
    } catch (e) {
      return `chromium cannot be launched: ${(e as Error).message.split("\n")[0]}`;
    }
  })();
  return skipReason;
}

/**
 * Launch headless Chromium as a plain playwright `Browser` (playwright makes a fresh profile per
 * launch), or return why it cannot be launched, for a test's `ignore` and its printed reason.
 */
export async function launchChromium(): Promise<Browser | string> {
  const missing = await absent();
  if (missing !== undefined) return missing;
  try {
    return await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [...CHROMIUM_FLAGS],
    });
  } catch (e) {
    return `${CHROMIUM} did not launch: ${(e as Error).message.split("\n")[0]}`;
  }
}

/** Start Chromium (call only when `chromiumSkipReason` is undefined). */
export function startChromium(): Promise<Chromium> {
  return launch();
}

const TYPES: Readonly<Record<string, string>> = {
  html: "text/html; charset=utf-8",
  png: "image/png",
  jpg: "image/jpeg",
  svg: "image/svg+xml",
  json: "application/json",
  csv: "text/csv",
};

/** A static server for `root` on 127.0.0.1 (a random port); shut it down with `close()`. */
export function serveDir(root: string): { url: string; close: () => Promise<void> } {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const path = decodeURIComponent(new URL(req.url).pathname);
    if (path.includes("..")) return new Response("bad path", { status: 400 });
    try {
      const body = await Deno.readFile(`${root}${path}`);
      const ext = path.slice(path.lastIndexOf(".") + 1).toLowerCase();
      return new Response(body, {
        headers: { "content-type": TYPES[ext] ?? "application/octet-stream" },
      });
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    close: () => server.shutdown(),
  };
}

/** What a test reads back from a rendered `report.html`. */
export interface ReportPage {
  /** Each plotted line by its `data-series`: how many points its path has and its drawn length. */
  readonly series: Record<string, { points: number; length: number }>;
  /** The rendered width of every `<svg>`. */
  readonly svgWidths: number[];
  /** Every image: its `src`, whether it finished loading, and its natural width. */
  readonly images: { src: string | null; complete: boolean; width: number }[];
  /** The text of every table cell, and the number of body rows. */
  readonly cells: (string | null)[];
  readonly rows: number;
  /** The run's status line. */
  readonly status: string;
}

/** Read the plots, images, table and status of the report page open in `page`. */
export function readReportPage(page: Page): Promise<ReportPage> {
  return page.evaluate(() => {
    const series: Record<string, { points: number; length: number }> = {};
    for (const p of document.querySelectorAll("svg path")) {
      series[p.getAttribute("data-series") ?? ""] = {
        points: (p.getAttribute("d") ?? "").split(/[ML]/).filter((s) => s.trim() !== "").length,
        length: (p as SVGPathElement).getTotalLength(),
      };
    }
    return {
      series,
      svgWidths: [...document.querySelectorAll("svg")].map((s) => s.getBoundingClientRect().width),
      images: [...document.images].map((i) => ({
        src: i.getAttribute("src"),
        complete: i.complete,
        width: i.naturalWidth,
      })),
      cells: [...document.querySelectorAll("td")].map((td) => td.textContent),
      rows: document.querySelectorAll("tbody tr").length,
      status: document.querySelector(".status")?.textContent ?? "",
    };
  });
}

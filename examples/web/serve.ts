/**
 * A tiny static server for the browser example, on 127.0.0.1 only:
 *
 * - `/` and `/<file>`: this folder (index.html, app.js, perceptual-browser.js, tfjs_global.js);
 * - `/tfjs/<package>/<file>`: `node_modules/@tensorflow/<package>/dist/<file>` for tfjs-core,
 *   tfjs-layers, tfjs-backend-cpu and tfjs-backend-wasm (no CDN);
 * - `/model/<file>`: the trained model folder given with `--model` (model.json + weight shards).
 *
 * Every response carries the cross-origin isolation headers (COOP/COEP), which the wasm backend
 * needs for its multi-threaded build (SharedArrayBuffer); all files are same-origin, so nothing
 * else is affected.
 *
 * Run: `deno task web --model runs/<run>/model` (after `deno install`), then open the printed URL.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";

const HERE = fileURLToPath(new URL("./", import.meta.url));
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const TFJS_PACKAGES = ["tfjs-core", "tfjs-layers", "tfjs-backend-cpu", "tfjs-backend-wasm"];

const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  json: "application/json",
  bin: "application/octet-stream",
  wasm: "application/wasm",
  png: "image/png",
  map: "application/json",
  css: "text/css; charset=utf-8",
};

/** Options of {@linkcode serveExample}. */
export interface ServeOptions {
  /** The model folder (with model.json) served under `/model/`. */
  readonly model: string;
  /** The port; 0 picks a free one (default 8000). */
  readonly port?: number;
  /** Called once listening, with the page's URL. */
  readonly onListen?: (url: string) => void;
}

/** Resolves a request path to a file, or undefined for anything outside the served folders. */
function fileFor(pathname: string, model: string): string | undefined {
  const parts = decodeURIComponent(pathname).split("/").filter((p) => p !== "");
  if (parts.some((p) => p === ".." || p.startsWith("."))) return undefined;
  if (parts.length === 0) return `${HERE}index.html`;
  if (parts[0] === "model") return `${model}/${parts.slice(1).join("/")}`;
  if (parts[0] === "tfjs") {
    if (parts.length !== 3 || !TFJS_PACKAGES.includes(parts[1]!)) return undefined;
    return `${ROOT}node_modules/@tensorflow/${parts[1]}/dist/${parts[2]}`;
  }
  return parts.length === 1 ? `${HERE}${parts[0]}` : undefined;
}

/** Serve the example page, the local tfjs files and a model folder; returns the server. */
export function serveExample(options: ServeOptions): Deno.HttpServer<Deno.NetAddr> {
  const model = options.model.replace(/\/(model\.json)?$/, "");
  try {
    Deno.statSync(`${model}/model.json`);
  } catch {
    throw new Error(
      `--model ${options.model}: no model.json there; pass the model/ folder written by ` +
        `saveModel (examples/superres.ts writes runs/<run>/model)`,
    );
  }
  try {
    Deno.statSync(`${ROOT}node_modules/@tensorflow/tfjs-core/dist/tf-core.min.js`);
  } catch {
    throw new Error(`no ${ROOT}node_modules/@tensorflow/: run \`deno install\` first`);
  }
  return Deno.serve({
    hostname: "127.0.0.1",
    port: options.port ?? 8000,
    onListen: ({ port }) => options.onListen?.(`http://127.0.0.1:${port}/`),
  }, async (req) => {
    const headers = new Headers({
      "Cross-Origin-Opener-Policy": "same-origin",
      "Cross-Origin-Embedder-Policy": "require-corp",
      "Cache-Control": "no-store",
    });
    const path = fileFor(new URL(req.url).pathname, model);
    if (path === undefined) return new Response("not found\n", { status: 404, headers });
    try {
      const body = await Deno.readFile(path);
      headers.set("Content-Type", TYPES[path.split(".").pop()!] ?? "application/octet-stream");
      return new Response(body, { headers });
    } catch {
      return new Response("not found\n", { status: 404, headers });
    }
  });
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { model: { type: "string" }, port: { type: "string", default: "8000" } },
  });
  if (values.model === undefined) {
    console.error("usage: deno task web --model runs/<run>/model [--port 8000]");
    Deno.exit(2);
  }
  serveExample({
    model: values.model,
    port: Number(values.port),
    onListen: (url) => console.log(`serving the example on ${url} (Ctrl-C stops)`),
  });
}

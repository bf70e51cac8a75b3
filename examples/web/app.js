// The example page: load a model/ folder saved by the library, upscale a picked image, show
// input | output, a zoomed comparison and the time taken. `tf` is the global from the <script>
// tags in index.html; perceptual-browser.js binds to the same copy through the import map.
import { predictImage, registerLayers } from "./perceptual-browser.js";

const params = new URLSearchParams(location.search);
const backend = params.get("backend") ?? "wasm";
const modelUrl = params.get("model") ?? "model/model.json";
// predictImage tiles images larger than this (input pixels; default: chosen from the model).
const tileSize = params.has("tileSize") ? Number(params.get("tileSize")) : undefined;
const byId = (id) => document.getElementById(id);
const setState = (state) => (document.body.dataset.state = state);
const setStatus = (text) => (byId("status").textContent = text);

/** What the last run produced, for tests and the console. */
globalThis.perceptual = { backend, shape: null, output: null, ms: null };

function fail(error) {
  const message = error instanceof Error ? error.message : String(error);
  setStatus(`error: ${message}`);
  setState(`error: ${message}`);
  console.error(error);
}
addEventListener("error", (e) => fail(e.error ?? e.message));
addEventListener("unhandledrejection", (e) => fail(e.reason));

async function start() {
  byId("backend").value = backend;
  byId("backend").onchange = () => {
    params.set("backend", byId("backend").value);
    location.search = params.toString();
  };
  // The wasm binaries sit next to tf-backend-wasm.min.js; with COOP/COEP headers (serve.ts) the
  // multi-threaded build is used.
  tf.wasm.setWasmPaths(new URL("tfjs/tfjs-backend-wasm/", location.href).href);
  if (!(await tf.setBackend(backend))) throw new Error(`the ${backend} backend did not start`);
  registerLayers(tf);
  const model = await tf.loadLayersModel(modelUrl);
  const count = model.countParams().toLocaleString("en");
  setStatus(`${modelUrl}: ${count} parameters, backend ${tf.getBackend()}; pick an image`);
  byId("file").onchange = () => {
    const file = byId("file").files[0];
    if (file !== undefined) upscale(model, file).catch(fail);
  };
  setState("ready");
}

async function upscale(model, file) {
  setState("busy");
  setStatus(`upscaling ${file.name}…`);
  // No colour management, no premultiplication: the model sees the file's own values.
  const bitmap = await createImageBitmap(file, {
    colorSpaceConversion: "none",
    premultiplyAlpha: "none",
  });
  const input = byId("input");
  input.width = bitmap.width;
  input.height = bitmap.height;
  input.getContext("2d").drawImage(bitmap, 0, 0);
  // Float NHWC in [0, 1], RGB: what the library trained on.
  const x = tf.tidy(() => tf.div(tf.cast(tf.browser.fromPixels(input, 3), "float32"), 255));
  const t0 = performance.now();
  const y = predictImage(model, x, { tileSize });
  const data = await y.data(); // the time includes finishing the work, on any backend
  const ms = performance.now() - t0;
  const output = byId("output");
  drawFloatRgb(output, data, y.shape);
  // The input is shown at the output's size, smoothed by the browser, for a fair comparison.
  input.style.width = `${output.clientWidth}px`;
  globalThis.perceptual = { backend: tf.getBackend(), shape: y.shape, output: data, ms };
  const [h, w] = x.shape;
  setStatus(
    `${file.name}: ${w}×${h} → ${y.shape[1]}×${y.shape[0]} in ${ms.toFixed(0)} ms ` +
      `on ${tf.getBackend()}`,
  );
  tf.dispose([x, y]);
  zoomAt(0.5, 0.5);
  setState("done");
}

/** Paint float RGB pixels in [0, 1] (values outside are clipped) onto a canvas. */
function drawFloatRgb(canvas, data, [h, w]) {
  canvas.width = w;
  canvas.height = h;
  const image = new ImageData(w, h);
  for (let i = 0, j = 0; i < w * h; i++, j += 3) {
    image.data[4 * i] = data[j] * 255; // Uint8ClampedArray rounds and clips
    image.data[4 * i + 1] = data[j + 1] * 255;
    image.data[4 * i + 2] = data[j + 2] * 255;
    image.data[4 * i + 3] = 255;
  }
  canvas.getContext("2d").putImageData(image, 0, 0);
}

/** Draw the region around (fx, fy) (fractions of the image) magnified, pixels kept sharp. */
function zoomAt(fx, fy) {
  const input = byId("input");
  const output = byId("output");
  const scale = output.width / input.width;
  const side = 256 / 4; // output pixels shown, each 4×4 on screen
  const ox = Math.round(Math.min(Math.max(fx * output.width - side / 2, 0), output.width - side));
  const oy = Math.round(Math.min(Math.max(fy * output.height - side / 2, 0), output.height - side));
  const draw = (canvas, source, x, y, s) => {
    const ctx = canvas.getContext("2d");
    ctx.imageSmoothingEnabled = false;
    ctx.clearRect(0, 0, 256, 256);
    ctx.drawImage(source, x, y, s, s, 0, 0, 256, 256);
  };
  draw(byId("zoom-output"), output, Math.max(ox, 0), Math.max(oy, 0), side);
  draw(byId("zoom-input"), input, Math.max(ox, 0) / scale, Math.max(oy, 0) / scale, side / scale);
}

for (const id of ["input", "output"]) {
  byId(id).addEventListener("mousemove", (e) => {
    if (document.body.dataset.state !== "done") return;
    const r = e.currentTarget.getBoundingClientRect();
    zoomAt((e.clientX - r.left) / r.width, (e.clientY - r.top) / r.height);
  });
}

start().catch(fail);

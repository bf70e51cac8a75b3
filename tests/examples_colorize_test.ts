/**
 * examples/colorize.ts: its main function trains for a few steps on tiny crops and writes the run
 * directory; bad flags and paths give one-line errors and a non-zero status.
 */
import assert from "node:assert/strict";
import { readPixels } from "../src/data/mod.ts";
import { assertNoLeak } from "../src/lifetime/mod.ts";
import { initBackend } from "../src/backend/mod.ts";
import { HELP, main, parseOptions } from "../examples/colorize.ts";

/** Runs `fn` with console output captured (and not printed). */
async function captured<T>(fn: () => Promise<T>): Promise<{ value: T; out: string; err: string }> {
  const saved = { log: console.log, error: console.error, warn: console.warn };
  const out: string[] = [];
  const err: string[] = [];
  console.log = (...a: unknown[]) => void out.push(a.map(String).join(" "));
  console.table = (...a: unknown[]) => void out.push(JSON.stringify(a[0]));
  console.error = (...a: unknown[]) => void err.push(a.map(String).join(" "));
  console.warn = console.error;
  try {
    const value = await fn();
    return { value, out: out.join("\n"), err: err.join("\n") };
  } finally {
    Object.assign(console, saved);
  }
}

const TINY = [
  "--vgg",
  "random",
  "--backend",
  "wasm",
  "--steps",
  "3",
  "--batch",
  "2",
  "--crop",
  "32",
  "--depth",
  "2",
  "--filters",
  "4",
  "--samples",
  "2",
  "--sample-every",
  "2",
  "--quiet",
];

Deno.test("colorize main trains a few steps and writes the run directory", async () => {
  await initBackend("wasm");
  const out = `${await Deno.makeTempDir()}/run`;
  let status = -1;
  let log = "";
  // No tensor may outlive main: the loss network, model, data and optimizer are all released.
  await assertNoLeak(async () => {
    const r = await captured(() => main([...TINY, "--out", out]));
    status = r.value;
    log = `${r.out}\n${r.err}`;
  });
  assert.equal(status, 0, log);
  assert.match(log, /backend wasm/);
  assert.match(log, /RANDOM .*weights/);
  // The default model: the loss network's first layers, frozen, as its encoder.
  assert.match(log, /model: frozen vgg16\(random:0.*\) to block3_conv1 as encoder/);
  // The table: numbers unquoted, right-aligned, PSNR to 2 decimals, SSIM to 4, colourfulness to 1.
  // LPIPS (alex) after SSIM: 32-pixel crops are over its 31-pixel minimum.
  assert.match(
    log,
    /^method\s+PSNR \(dB\)\s+SSIM\s+LPIPS alex \(lower is better\)\s+loss\s.*colourfulness$/m,
  );
  assert.match(log, /^grey input\s+\d+\.\d{2}\s+\d\.\d{4}\s+\d\.\d{4}\s.*\s0\.0$/m);
  assert.match(log, /^model\s+\d+\.\d{2}\s+-?\d\.\d{4}\s+\d\.\d{4}\s.*\s\d+\.\d$/m);
  assert.match(log, /^truth\s+-\s+-\s+-\s.*\s\d+\.\d$/m);
  assert.doesNotMatch(log, /"\d/, "no quoted numbers");

  const config = JSON.parse(await Deno.readTextFile(`${out}/config.json`));
  assert.equal(config.example, "colorize");
  assert.equal(config.options.steps, 3);
  assert.equal(config.randomLossNetwork, true);
  assert.match(config.encoder, /^frozen vgg16\(random:0.*\) to block3_conv1$/);
  // The layers the loss compares, not the encoder's block3_conv1 loaded beside them.
  assert.deepEqual(config.lossLayers, ["block1_conv2", "block2_conv2"]);
  assert.match(config.lossNetwork, /; layers block1_conv2, block2_conv2$/);
  assert.equal(config.unet.inChannels, 1);
  // Grey in, chroma out; the model's last layer puts the chroma on the input's luma.
  assert.equal(config.unet.outChannels, 2);
  assert.match(config.output, /YCbCr/);
  // skimage_camera is grey: it teaches no colour and is left out.
  assert.ok(!config.data.some((p: string) => p.includes("camera")));
  // The retina scan is left out by default (--exclude).
  assert.ok(!config.data.some((p: string) => p.includes("retina")));
  // The six photos of examples/data but camera and retina, and the two of examples/data/colour
  // (--more-data's default).
  assert.equal(config.data.length, 6);
  assert.equal(config.data.filter((p: string) => p.includes("/colour/")).length, 2);

  const csv = (await Deno.readTextFile(`${out}/metrics.csv`)).trim().split("\n");
  assert.equal(csv.length, 1 + 3);
  const header = csv[0]!.split(",");
  for (
    const col of [
      "step",
      "total",
      "pixel",
      // The last convs of blocks 1 and 2 of the (random) VGG-16.
      "feature:block1_conv2",
      "feature:block2_conv2",
      "val_loss",
    ]
  ) {
    assert.ok(header.includes(col), `metrics.csv lacks ${col}: ${csv[0]}`);
  }
  const total = header.indexOf("total");
  for (const row of csv.slice(1)) assert.ok(Number.isFinite(Number(row.split(",")[total])), row);

  // Samples at steps 2 and 3 (the last), marked as made with a random VGG: 2 rows of
  // gray | model | truth, each 32x32.
  const samples = [...Deno.readDirSync(`${out}/samples`)].map((e) => e.name)
    .filter((n) => n.startsWith("step-")).sort();
  assert.deepEqual(samples, ["step-000002_random-vgg.png", "step-000003_random-vgg.png"]);
  const png = await readPixels(`${out}/samples/${samples[1]}`);
  assert.deepEqual([png.height, png.width, png.channels], [2 * 32, 3 * 32, 3]);
  // The left column is the gray input: R = G = B there (up to 8-bit rounding).
  for (let i = 0; i < 32 * 3; i += 3) {
    assert.ok(Math.abs(png.data[i]! - png.data[i + 1]!) <= 1 / 255 + 1e-6);
  }

  const checkpoints = [...Deno.readDirSync(`${out}/checkpoints`)].map((e) => e.name).sort();
  assert.deepEqual(checkpoints, ["step-00000002", "step-00000003"]);
  const results = JSON.parse(await Deno.readTextFile(`${out}/results.json`));
  const methods = results.table.map((r: { method: string }) => r.method);
  assert.deepEqual(methods, ["grey input", "model", "truth"]);
  assert.equal(typeof results.table[1].psnr, "number");
  assert.ok(results.table[0].lpips > 0 && results.table[1].lpips > 0, "LPIPS of grey and model");
  assert.equal(results.table[0].colourfulness, 0);
  // A full-image panel per photo: grey | model | truth, and grey | model for the grey camera.
  const panels = [...Deno.readDirSync(`${out}/samples`)].map((e) => e.name)
    .filter((n) => n.startsWith("panel-")).sort();
  assert.ok(panels.includes("panel-skimage_camera_random-vgg.png"), panels.join());
  assert.equal(panels.length, config.data.length + 1);
  const chelsea = await readPixels(`${out}/samples/panel-skimage_chelsea_random-vgg.png`);
  assert.equal(chelsea.width, 3 * 451 + 2 * 8); // three 451-wide images, 8-pixel gaps
  const camera = await readPixels(`${out}/samples/panel-skimage_camera_random-vgg.png`);
  assert.equal(camera.width, 2 * 512 + 8);
  // The model's image in the panel keeps the grey image's luma (up to 8-bit rounding).
  for (let x = 0; x < 451; x += 37) {
    const at = (col: number) => (20 * chelsea.width + col) * 3;
    const [g, m] = [at(x), at(451 + 8 + x)];
    // The inset's red outline crosses both images: only grey pixels of the grey image count.
    if (chelsea.data[g] !== chelsea.data[g + 1]) continue;
    const luma = 0.299 * chelsea.data[m]! + 0.587 * chelsea.data[m + 1]! +
      0.114 * chelsea.data[m + 2]!;
    assert.ok(
      Math.abs(luma - chelsea.data[g]!) <= 1.5 / 255,
      `x ${x}: ${luma} vs ${chelsea.data[g]}`,
    );
  }
  const model = JSON.parse(await Deno.readTextFile(`${out}/model/model.json`));
  assert.ok(model.modelTopology, "model/model.json is a tfjs layers model");

  // --resume continues the same run to a longer total. In a new process, as a user would: one
  // process that builds the model twice gets uniquified weight names (`kernel_1`), which the
  // checkpoint loader rejects.
  const resumed = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "examples/colorize.ts", ...TINY, "--steps", "4", "--out", out, "--resume"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(resumed.stdout) + new TextDecoder().decode(resumed.stderr);
  assert.equal(resumed.code, 0, text);
  assert.match(text, /1 steps \(4 in total\) after resuming/);
  const csv2 = (await Deno.readTextFile(`${out}/metrics.csv`)).trim().split("\n");
  assert.equal(csv2.at(-1)!.split(",")[0], "4");
  await Deno.remove(out, { recursive: true });
});

Deno.test("colorize: --help, and bad flags or paths give one line and a non-zero status", async () => {
  const help = await captured(() => main(["--help"]));
  assert.equal(help.value, 0);
  assert.equal(help.out.trim(), HELP.trim());
  for (const flag of ["--data", "--steps", "--vgg", "--net", "--layers", "--resume", "--out"]) {
    assert.match(HELP, new RegExp(`${flag}\\b`));
  }

  const cases: [string[], RegExp, number][] = [
    [["--stpes", "3"], /unknown flag --stpes \(did you mean --steps\?\)/, 2],
    [["--steps", "abc"], /--steps: 'abc' is not a positive integer/, 2],
    [
      ["--lr=-1", "--batch", "0"],
      /--batch: '0' is not a positive integer; --lr: '-1' is not a number > 0/,
      2,
    ],
    [["--net", "vgg11"], /--net: 'vgg11' is not one of vgg16 \| vgg19/, 2],
    [["--backend", "cuda"], /--backend: 'cuda' is not one of/, 2],
    [["extra"], /Unexpected argument 'extra'/, 2],
    [["--resume"], /--resume needs --out/, 2],
    [["--crop", "36"], /--crop 36 is not a multiple of 2\^depth = 8/, 2],
    // Bad paths and names are usage errors (status 2), like bad flags.
    [["--data", "no/such/dir"], /no\/such\/dir.*does not exist/, 2],
    [
      ["--vgg", "no/such/weights.h5", "--steps", "1", "--backend", "cpu"],
      /--vgg no\/such\/weights\.h5: no such file or folder/,
      2,
    ],
    [
      ["--vgg", "random", "--layers", "block2_cov2", "--steps", "1", "--backend", "cpu"],
      /--layers: .*block2_cov2.*did you mean "block2_conv2"/,
      2,
    ],
  ];
  for (const [args, message, status] of cases) {
    const r = await captured(() => main(args));
    assert.equal(r.value, status, `${args.join(" ")}: ${r.err}`);
    const lines = r.err.split("\n").filter((l) => l.startsWith("colorize:"));
    assert.equal(lines.length, 1, `${args.join(" ")} should print one error line: ${r.err}`);
    assert.match(lines[0]!, message);
    assert.doesNotMatch(r.err, /\n\s+at /, "no stack trace");
  }
});

Deno.test("colorize: parseOptions fills defaults and converts types", () => {
  const o = parseOptions([]);
  assert.notEqual(o, "help");
  if (o === "help") return;
  assert.equal(o.data, "examples/data");
  assert.equal(o.vgg, "auto");
  assert.equal(o.steps > 0, true);
  const p = parseOptions(["--layers", "relu2_2, block3_conv3", "--lr", "1e-3"]);
  assert.ok(p !== "help");
  assert.deepEqual(p.layers, ["relu2_2", "block3_conv3"]);
  assert.equal(p.lr, 1e-3);
  assert.deepEqual(o.exclude, ["skimage_retina.jpg"]);
  const all = parseOptions(["--exclude", ""]);
  assert.ok(all !== "help");
  assert.deepEqual(all.exclude, []);
  assert.deepEqual(o["more-data"], ["examples/data/colour"]);
  assert.equal(o["random-head"], false); // training starts from the grey photo
  assert.equal(o.encoder, "vgg");
  const scratch = parseOptions(["--encoder", "unet"]);
  assert.ok(scratch !== "help");
  assert.equal(scratch.encoder, "unet");
  assert.equal(o["log-mse-weight"], 0);
  const none = parseOptions(["--more-data", ""]);
  assert.ok(none !== "help");
  assert.deepEqual(none["more-data"], []);
});

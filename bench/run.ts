/**
 * `deno task bench`: times (a) VGG-16 extraction, (b) its backward pass to the input and (c) one
 * perceptual-loss training step on every backend that starts here, and the same cases in PyTorch
 * (bench/torch_baseline.py, Debian's /usr/bin/python3, 2 threads) in the same invocation,
 * interleaved case by case so that both see the same machine load. Prints one table (median ms,
 * ratio tfjs/PyTorch); `--record` appends it to bench/RESULTS.md with date, command and machine.
 *
 * Flags: --backends=native,wasm,wasm-threads,cpu,webgpu  --cases=extract,backward,train,perceptual  --reps=5  --warmup=2
 * (`perceptual` brings `perceptual-bf16` along: native's bf16 VGG against PyTorch's bf16 autocast;
 * `--no-bf16` leaves it out)
 * --shape=16x256 (the perceptual case's batch x crop; default 4x64)
 *        --cpu-timeout=150 (seconds per cpu case: it is ~100× slower)  --webgpu-timeout=240
 *        --python=/usr/bin/python3  --record  --torch-threads=2,1 (PyTorch thread counts to run)
 *        --quiet-load=1.5 --quiet-busy=0.15 --quiet-wait=0 (the machine is shared: wait up to
 *        N seconds for the 1-minute load average to drop below quiet-load before starting, and
 *        before each measurement for other processes to leave the cores ≤ quiet-busy busy)
 *
 * @module
 */
const CASES = {
  extract: "(a) VGG-16 to block5_conv3, 1×224×224×3",
  backward: "(b) (a) + backward to the input",
  train: "(c) train step: U-Net×2 + fastai loss, 4×64²",
  perceptual: "(d) perceptual fwd+bwd: VGG-16 relu1_2…relu4_3 feature + Gram L1, 4×64²",
  "perceptual-bf16":
    '(d) in bf16: VGG `precision: "bf16"` (native only) vs PyTorch `torch.autocast("cpu", dtype=torch.bfloat16)`',
} as const;
/** Backends that can run a case (default: all). */
const CASE_BACKENDS: Partial<Record<CaseName, readonly string[]>> = {
  "perceptual-bf16": ["native"],
};
type CaseName = keyof typeof CASES;

interface Flags {
  backends: string[];
  cases: CaseName[];
  reps: number;
  warmup: number;
  cpuTimeout: number;
  webgpuTimeout: number;
  timeout: number;
  python: string;
  record: boolean;
  quietLoad: number;
  quietWait: number;
  quietBusy: number;
  torchThreads: number[];
}

function parseFlags(args: string[]): Flags {
  const get = (name: string, fallback: string) =>
    args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
  // The perceptual case's batch x crop, handed to both processes through the environment.
  const shape = get("shape", "");
  if (shape !== "") Deno.env.set("BENCH_SHAPE", shape);
  const asked = get("cases", "extract,backward,train,perceptual").split(",") as CaseName[];
  for (const c of asked) {
    if (!(c in CASES)) throw new Error(`--cases: unknown case '${c}' (use ${Object.keys(CASES)})`);
  }
  // (d) brings its bf16 variant along, next to it (`--no-bf16` leaves it out).
  const cases = asked.flatMap((c): CaseName[] =>
    c === "perceptual" && !asked.includes("perceptual-bf16") && !args.includes("--no-bf16")
      ? [c, "perceptual-bf16"]
      : [c]
  );
  return {
    backends: get("backends", "native,wasm,wasm-threads,cpu,webgpu").split(",").filter((b) =>
      b !== ""
    ),
    cases,
    reps: Number(get("reps", "5")),
    warmup: Number(get("warmup", "2")),
    cpuTimeout: Number(get("cpu-timeout", "150")),
    webgpuTimeout: Number(get("webgpu-timeout", "240")),
    timeout: Number(get("timeout", "600")),
    python: get("python", "/usr/bin/python3"),
    record: args.includes("--record"),
    quietLoad: Number(get("quiet-load", "1.5")),
    quietWait: Number(get("quiet-wait", "0")),
    quietBusy: Number(get("quiet-busy", "0.15")),
    // `--torch-threads=2` skips PyTorch's one-thread run (a minute a step at 16×256²).
    torchThreads: get("torch-threads", "2,1").split(",").map(Number),
  };
}

interface Measured {
  readonly ms?: number[];
  /** Peak resident set size of the process that ran the case, bytes. */
  readonly rss?: number;
  /** Tensors left behind by the timed runs (cases.ts counts them). */
  readonly leaked?: number;
  readonly error?: string;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function runJson(cmd: string, args: string[], timeoutS: number): Promise<Measured> {
  try {
    const out = await new Deno.Command(cmd, {
      args,
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
      signal: AbortSignal.timeout(timeoutS * 1000),
    }).output();
    const text = new TextDecoder().decode(out.stdout).trim().split("\n").pop() ?? "";
    if (out.success && text.startsWith("{")) {
      const j = JSON.parse(text);
      return {
        ms: j.ms as number[],
        ...(typeof j.rss === "number" ? { rss: j.rss } : {}),
        ...(typeof j.leaked === "number" ? { leaked: j.leaked } : {}),
      };
    }
    if (out.signal !== null) return { error: `cut off after ${timeoutS} s` };
    const lines = new TextDecoder().decode(out.stderr).trim().split("\n");
    // A Deno panic prints its cause two lines after "panicked at"; an exception starts "error:".
    const panic = lines.findIndex((l) => l.includes("panicked at"));
    const err = panic >= 0
      ? `Deno panicked: ${lines.slice(panic + 1, panic + 2).join(" ")}`
      : lines.find((l) => /^error/.test(l)) ?? lines.slice(-3).join(" ");
    return {
      error: (err || text || `exit ${out.code}`).slice(0, 160),
    };
  } catch (e) {
    if (e instanceof DOMException && e.name === "TimeoutError") {
      return { error: `cut off after ${timeoutS} s` };
    }
    return { error: e instanceof Error ? e.message.slice(0, 200) : String(e) };
  }
}

/** Fraction of all cores busy over the next `ms` (from /proc/stat; 0 where it is unreadable). */
async function busyFraction(ms = 1000): Promise<number> {
  const read = () => {
    try {
      const f = Deno.readTextFileSync("/proc/stat").split("\n")[0]!.trim().split(/\s+/).slice(1)
        .map(Number);
      return { idle: f[3]! + f[4]!, total: f.reduce((a, b) => a + b, 0) };
    } catch {
      return undefined;
    }
  };
  const a = read();
  await new Promise((r) => setTimeout(r, ms));
  const b = read();
  if (a === undefined || b === undefined || b.total === a.total) return 0;
  return 1 - (b.idle - a.idle) / (b.total - a.total);
}

/** Wait (up to `maxS` seconds) until other processes leave the cores nearly idle. */
async function waitForIdle(maxS: number, threshold: number): Promise<number> {
  const until = Date.now() + maxS * 1000;
  let busy = await busyFraction();
  while (busy > threshold && Date.now() < until) busy = await busyFraction(2000);
  return busy;
}

async function probeBackend(name: string): Promise<string | undefined> {
  const r = await runJson(Deno.execPath(), ["run", "-A", "bench/cases.ts", name, "probe"], 120);
  return r.error;
}

async function torchAvailable(python: string): Promise<string | undefined> {
  const r = await runJson(python, [
    "-c",
    "import json, torch; print(json.dumps({'ms': [0], 'v': torch.__version__}))",
  ], 60);
  return r.error;
}

/** torch's BLAS line (build setting and the library really mapped), from torch_baseline.py. */
async function torchBlas(python: string): Promise<string> {
  try {
    const out = await new Deno.Command(python, {
      args: ["bench/torch_baseline.py", "blas"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const line = new TextDecoder().decode(out.stdout).trim().split("\n").pop() ?? "";
    return line.startsWith("{") ? JSON.parse(line).blas : "unknown";
  } catch {
    return "unknown";
  }
}

function machine(): string {
  let cpu = "unknown CPU";
  try {
    const info = Deno.readTextFileSync("/proc/cpuinfo");
    cpu = info.match(/model name\s*:\s*(.+)/)?.[1] ?? cpu;
  } catch { /* not Linux */ }
  return `${cpu}, ${navigator.hardwareConcurrency} cores, ${
    (Deno.systemMemoryInfo().total / 2 ** 30).toFixed(0)
  } GiB, Deno ${Deno.version.deno}`;
}

const best = (xs: number[]): number => Math.min(...xs);

/** The process's peak RSS as ` · 1.23 GB` ('' when not reported). */
const rssText = (m: Measured): string =>
  (m.rss === undefined || m.rss === 0 ? "" : ` · ${(m.rss / 1e9).toFixed(2)} GB`) +
  (m.leaked ? ` · LEAKED ${m.leaked} tensors` : "");

/**
 * "median (best)" in ms: under a shared machine's load the best run is the cleaner figure; then
 * the peak RSS of the process that ran the case.
 */
const fmt = (m: Measured | undefined): string =>
  m === undefined
    ? "—"
    : m.ms
    ? (m.ms.length > 1
      ? `${median(m.ms).toFixed(0)} (${best(m.ms).toFixed(0)})`
      : `${m.ms[0]!.toFixed(0)}`) + rssText(m)
    : `n/a (${m.error})`;

const ratio = (m: Measured | undefined, base: Measured | undefined): string =>
  m?.ms && base?.ms
    ? `${(median(m.ms) / median(base.ms)).toFixed(2)}× (${
      (best(m.ms) / best(base.ms)).toFixed(2)
    }×)`
    : "—";

async function main(): Promise<void> {
  const flags = parseFlags(Deno.args);
  if (!Deno.env.get("XDG_RUNTIME_DIR")) {
    // Mesa's Vulkan (the software WebGPU adapter) refuses to start without one.
    Deno.env.set("XDG_RUNTIME_DIR", await Deno.makeTempDir({ prefix: "xdg-" }));
  }
  const waitUntil = Date.now() + flags.quietWait * 1000;
  while (Deno.loadavg()[0] > flags.quietLoad && Date.now() < waitUntil) {
    await new Promise((r) => setTimeout(r, 5000));
  }
  const loadBefore = Deno.loadavg();
  const torchMissing = await torchAvailable(flags.python);
  if (torchMissing !== undefined) {
    console.error(`PyTorch is not available (${torchMissing}): printing tfjs times alone.`);
  }
  const blas = torchMissing === undefined ? await torchBlas(flags.python) : "";
  if (blas !== "") console.error(`PyTorch BLAS: ${blas}`);
  const backends: string[] = [];
  const skipped: string[] = [];
  for (const b of flags.backends) {
    const why = await probeBackend(b);
    if (why === undefined) backends.push(b);
    else skipped.push(`${b}: ${why}`);
  }
  for (const s of skipped) console.error(`skipped backend ${s}`);

  const results = new Map<string, Measured>();
  const busyBefore: number[] = [];
  const key = (who: string, c: CaseName) => `${who}/${c}`;
  for (const c of flags.cases) {
    // Interleaved: PyTorch, then each backend, case by case, so that load drifts hit both.
    if (torchMissing === undefined) {
      for (const threads of flags.torchThreads) {
        const busy = await waitForIdle(flags.quietWait, flags.quietBusy);
        const m = await runJson(flags.python, [
          "bench/torch_baseline.py",
          c,
          String(threads),
          String(flags.reps),
          String(flags.warmup),
        ], flags.timeout);
        results.set(key(`torch${threads}`, c), m);
        busyBefore.push(busy);
        console.error(
          `torch ${threads} threads ${c}: ms ${fmt(m)} (cores busy before: ${
            (100 * busy).toFixed(0)
          }%)`,
        );
      }
    }
    for (const b of backends) {
      if (CASE_BACKENDS[c] !== undefined && !CASE_BACKENDS[c]!.includes(b)) continue;
      const slow = b === "cpu" || b === "webgpu";
      const reps = slow ? 1 : flags.reps;
      const warmup = b === "cpu" ? 0 : slow ? 1 : flags.warmup;
      const timeout = b === "cpu"
        ? flags.cpuTimeout
        : b === "webgpu"
        ? flags.webgpuTimeout
        : flags.timeout;
      const busy = await waitForIdle(flags.quietWait, flags.quietBusy);
      busyBefore.push(busy);
      const m = await runJson(Deno.execPath(), [
        "run",
        "-A",
        "bench/cases.ts",
        b,
        c,
        String(reps),
        String(warmup),
      ], timeout);
      results.set(key(b, c), m);
      console.error(`${b} ${c}: ms ${fmt(m)} (cores busy before: ${(100 * busy).toFixed(0)}%)`);
    }
  }
  const loadAfter = Deno.loadavg();

  const header = ["case", "PyTorch 2 thr (ms)", "PyTorch 1 thr (ms)"];
  for (const b of backends) header.push(`tfjs ${b} (ms)`, `${b} / PyTorch 2 thr`);
  const rows = flags.cases.map((c) => {
    const base = results.get(key("torch2", c));
    const row = [CASES[c], fmt(base), fmt(results.get(key("torch1", c)))];
    for (const b of backends) {
      const m = results.get(key(b, c));
      row.push(fmt(m), ratio(m, base));
    }
    return row;
  });
  const table = [
    `| ${header.join(" | ")} |`,
    `|${header.map(() => "---").join("|")}|`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ].join("\n");
  const notes = [
    `- date: ${new Date().toISOString()}`,
    `- command: \`deno task bench ${Deno.args.join(" ")}\``.replace(/ `$/, "`"),
    `- machine: ${machine()}`,
    `- load average (1/5/15 min) before: ${loadBefore.map((x) => x.toFixed(2)).join(" / ")}, ` +
    `after: ${loadAfter.map((x) => x.toFixed(2)).join(" / ")}`,
    `- cores busy (other processes) just before each measurement: ${
      busyBefore.map((b) => `${(100 * b).toFixed(0)}%`).join(", ")
    }`,
    `- perceptual case shape: ${Deno.env.get("BENCH_SHAPE") ?? "4x64"} (batch x crop; ` +
    "`--shape=16x256` or BENCH_SHAPE sets it)",
    `- cells: median (best) of ${flags.reps} runs after ${flags.warmup} warm-up runs, in ms, ` +
    "then the peak RSS of the process that ran the case (VmHWM / ru_maxrss, GB = 1e9 B); " +
    `ratios: median/median (best/best); cpu: 1 run, no warm-up; webgpu: 1 run after 1 warm-up`,
    torchMissing === undefined
      ? `- PyTorch BLAS: ${blas}`
      : `- PyTorch not available: ${torchMissing}`,
    ...skipped.map((s) => `- backend skipped: ${s}`),
    ...backends.map((b) => {
      const f32 = results.get(key(b, "perceptual")), bf16 = results.get(key(b, "perceptual-bf16"));
      return f32?.ms && bf16?.ms
        ? `- ${b} perceptual (d): bf16 ${ratio(f32, bf16)} faster than f32 (f32/bf16 medians)`
        : "";
    }),
  ].filter((l) => l !== "").join("\n");
  const block = `${table}\n\n${notes}\n`;
  console.log(block);
  if (flags.record) {
    const path = new URL("./RESULTS.md", import.meta.url);
    const old = await Deno.readTextFile(path).catch(() => "# Benchmark results\n");
    await Deno.writeTextFile(
      path,
      `${old.trimEnd()}\n\n### Run of ${new Date().toISOString()}\n\n${block}`,
    );
  }
}

if (import.meta.main) await main();

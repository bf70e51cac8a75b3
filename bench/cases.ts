/**
 * One benchmark case on one backend, in its own process (so a slow backend can be cut off by a
 * timeout): `deno run -A bench/cases.ts <backend> <case> <reps> <warmup>` prints one JSON line
 * `{ backend, case, ms: number[], ... }` on stdout.
 *
 * Cases: `extract` (a) VGG-16 to block5_conv3 on 1×224×224×3; `backward` (b) the same plus the
 * gradient of the features' sum w.r.t. the input; `train` (c) one Adam step of the ×2 U-Net on
 * 4×32×32×3 → 4×64×64×3 with the fastai feature loss on VGG-16 (target features without a tape);
 * `perceptual` (d) feature + Gram L1 at VGG-16 relu1_2, relu2_2, relu3_3, relu4_3 on 4×64×64×3 and
 * its gradient w.r.t. the prediction (the loss side of a training step, library models only);
 * `perceptual-bf16` the same with the VGG's `precision: "bf16"` (native on a CPU with bf16 only).
 * `superres` the main job's step (examples/superres.ts at its defaults, see superres_case.ts).
 * A fifth argument `bench` uses bench_models.ts' VGG and loss instead of the library's.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { enableWasmThreads, initBackend } from "../src/backend/mod.ts";
import { benchGenerator, BenchVgg16, fastaiLoss, targetFeatures } from "./bench_models.ts";
import { nativeAdamApply } from "../src/backend/native/_adam.ts";
import { prepareSuperres } from "./superres_case.ts";

export type CaseName =
  | "extract"
  | "backward"
  | "train"
  | "perceptual"
  | "perceptual-bf16"
  | "superres";

/**
 * The VGG-16 and fastai loss under test: the library's (`src/vgg` `vgg16({ weights: { random } })`
 * + `src/loss` `evaluate(fastaiFeatureLoss(net), net)`) or the bench's own fixed definitions
 * (bench_models.ts), which need nothing from src/ but the backend and the U-Net.
 */
export interface Models {
  readonly name: "lib" | "bench";
  /** Activations of `taps` (the case's extraction). */
  features(x: tf.Tensor4D, taps: readonly string[]): tf.Tensor4D[];
  /** The fastai loss of `pred` against `target` (target side without a tape). */
  loss(pred: tf.Tensor4D, target: tf.Tensor4D): tf.Scalar;
  dispose(): void;
}

function benchModels(): Models {
  const vgg = new BenchVgg16();
  return {
    name: "bench",
    features: (x, taps) => vgg.features(x, taps),
    loss: (pred, target) => {
      const t = targetFeatures(vgg, target);
      try {
        return fastaiLoss(vgg, pred, target, t);
      } finally {
        tf.dispose([...t.features, ...t.grams]);
      }
    },
    dispose: () => vgg.dispose(),
  };
}

async function libraryModels(): Promise<Models> {
  const { vgg16 } = await import("../src/vgg/mod.ts");
  const { evaluate, fastaiFeatureLoss } = await import("../src/loss/mod.ts");
  // The range check reads every input back (a sync point) and the U-Net's output is unbounded.
  const net = await vgg16({ weights: { random: 1 } });
  const lossFn = evaluate(fastaiFeatureLoss(net), net);
  return {
    name: "lib",
    features: (x, taps) => {
      const out = net.extract(x, taps as never[]) as Record<string, tf.Tensor4D>;
      return taps.map((t) => out[t]!);
    },
    loss: (pred, target) => {
      // The terms are disposed with the rest of minimize's scope; only the total is needed.
      return lossFn(pred, target).total;
    },
    dispose: () => net.dispose(),
  };
}

/** The library's models when src/vgg and src/loss load, else the bench's own (`prefer` wins). */
export async function loadModels(prefer: "lib" | "bench" = "lib"): Promise<Models> {
  if (prefer === "bench") return benchModels();
  try {
    return await libraryModels();
  } catch (e) {
    console.error(`library VGG/loss unavailable (${(e as Error).message}); using bench_models.ts`);
    return benchModels();
  }
}

/**
 * A prepared case: `run` does one timed iteration and resolves when its result is on the host
 * (an asynchronous read: webgpu cannot read synchronously under Deno).
 */
export interface PreparedCase {
  run(): Promise<void>;
  dispose(): void;
}

function prepareExtract(m: Models): PreparedCase {
  const x = tf.randomUniform([1, 224, 224, 3], 0, 1, "float32", 7) as tf.Tensor4D;
  return {
    run: async () => {
      const f = tf.tidy(() => m.features(x, ["block5_conv3"])[0]!);
      await f.data();
      f.dispose();
    },
    dispose: () => x.dispose(),
  };
}

function prepareBackward(m: Models): PreparedCase {
  const x = tf.randomUniform([1, 224, 224, 3], 0, 1, "float32", 7) as tf.Tensor4D;
  const g = tf.grad((input: tf.Tensor) =>
    tf.sum(m.features(input as tf.Tensor4D, ["block5_conv3"])[0]!)
  );
  return {
    run: async () => {
      const dx = tf.tidy(() => g(x));
      await dx.data();
      dx.dispose();
    },
    dispose: () => x.dispose(),
  };
}

function prepareTrain(m: Models): PreparedCase {
  const model = benchGenerator();
  const optimizer = tf.train.adam(1e-3);
  const lowRes = tf.randomUniform([4, 32, 32, 3], 0, 1, "float32", 8) as tf.Tensor4D;
  const target = tf.randomUniform([4, 64, 64, 3], 0, 1, "float32", 9) as tf.Tensor4D;
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  return {
    run: async () => {
      // What `optimizer.minimize` does, with the trainer's update (src/train/_step.ts): tfjs's
      // Adam fused in oneDNN on native, the optimizer's own elsewhere.
      const cost = tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => {
          const pred = model.apply(lowRes, { training: true }) as tf.Tensor4D;
          return m.loss(pred, target);
        }, vars);
        // (tfjs types applyGradients' map as variables; minimize passes gradients the same way.)
        const named = grads as Record<string, tf.Variable>;
        if (!nativeAdamApply(optimizer, grads)) optimizer.applyGradients(named);
        return value;
      });
      await cost.data();
      cost.dispose();
    },
    dispose: () => {
      tf.dispose([lowRes, target]);
      optimizer.dispose();
      model.dispose();
    },
  };
}

/** `BENCH_SHAPE=NxS` (e.g. `16x256`): the perceptual case's batch and crop; default 4×64. */
export function perceptualShape(): [number, number] {
  const m = /^(\d+)x(\d+)$/.exec(Deno.env.get("BENCH_SHAPE") ?? "4x64");
  if (m === null) throw new RangeError("BENCH_SHAPE must look like 16x256 (batch x crop)");
  return [Number(m[1]), Number(m[2])];
}

/** Peak resident set size of this process so far, in bytes (VmHWM; 0 where unreadable). */
export function peakRss(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(Deno.readTextFileSync("/proc/self/status"));
    return m === null ? 0 : Number(m[1]) * 1024;
  } catch {
    return 0;
  }
}

/** The perceptual fwd+bwd case (d): the library's VGG-16 and loss algebra, whatever `m` is. */
async function preparePerceptual(precision: "f32" | "bf16" = "f32"): Promise<PreparedCase> {
  const { vgg16 } = await import("../src/vgg/mod.ts");
  const { evaluate, feature, plus, style } = await import("../src/loss/mod.ts");
  type Layer = "relu1_2" | "relu2_2" | "relu3_3" | "relu4_3";
  const { pipe } = await import("fp-ts/lib/function.js");
  const net = await vgg16({
    weights: { random: 1 },
    upTo: "relu4_3",
    checkRange: false,
    precision,
  });
  const layers = ["relu1_2", "relu2_2", "relu3_3", "relu4_3"] as const;
  let loss: import("../src/loss/mod.ts").Loss<Layer> = pipe(
    feature<Layer>(layers[0], { distance: "l1" }),
    plus(style(layers[0], { distance: "l1" })),
  );
  for (const l of layers.slice(1)) {
    loss = pipe(loss, plus(feature(l, { distance: "l1" })), plus(style(l, { distance: "l1" })));
  }
  const fn = evaluate(loss, net);
  const [n, size] = perceptualShape();
  const pred = tf.randomUniform([n, size, size, 3], 0, 1, "float32", 8) as tf.Tensor4D;
  const target = tf.randomUniform([n, size, size, 3], 0, 1, "float32", 9) as tf.Tensor4D;
  const grad = tf.grad((p: tf.Tensor) => fn(p as tf.Tensor4D, target).total);
  return {
    run: async () => {
      const g = grad(pred);
      await g.data();
      g.dispose();
    },
    dispose: () => {
      tf.dispose([pred, target]);
      net.dispose();
    },
  };
}

/** Build case `name` on the active backend. */
export async function prepare(name: CaseName, m: Models): Promise<PreparedCase> {
  switch (name) {
    case "perceptual":
      return await preparePerceptual();
    case "perceptual-bf16":
      return await preparePerceptual("bf16");
    case "extract":
      return prepareExtract(m);
    case "backward":
      return prepareBackward(m);
    case "train":
      return prepareTrain(m);
    case "superres":
      return await prepareSuperres();
  }
}

/** Time `reps` runs after `warmup` runs; milliseconds per run. */
export async function timeCase(c: PreparedCase, reps: number, warmup: number): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await c.run();
  const ms: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await c.run();
    ms.push(performance.now() - t0);
  }
  return ms;
}

if (import.meta.main) {
  const [backend = "wasm", name = "extract", repsText = "5", warmupText = "2", models = "lib"] =
    Deno.args;
  // "wasm-threads" (2 threads) or "wasm-threads-N": the opt-in threaded wasm build.
  const threaded = backend.match(/^wasm-threads(?:-(\d+))?$/);
  if (threaded !== null) await enableWasmThreads({ threads: Number(threaded[1] ?? 2) });
  const choice = await initBackend(threaded !== null ? "wasm" : backend);
  if (name === "probe") {
    console.log(JSON.stringify({ backend: choice.name, ms: [0] }));
    Deno.exit(0);
  }
  const m = await loadModels(models === "bench" ? "bench" : "lib");
  const c = await prepare(name as CaseName, m);
  // Counted after the warm-up: optimizers create their slots on the first step.
  await timeCase(c, 0, Number(warmupText));
  const before = tf.memory().numTensors;
  // The peak of tensor bytes during one run, as the engine counts them.
  const peakTensorBytes = await tf.profile(() => c.run() as unknown as tf.TensorContainer)
    .then((p) => p.peakBytes, () => undefined);
  const ms = await timeCase(c, Number(repsText), 0);
  const leaked = tf.memory().numTensors - before;
  c.dispose();
  m.dispose();
  console.log(JSON.stringify({
    backend,
    case: name,
    models: m.name,
    ms,
    leaked,
    rss: peakRss(),
    peakTensorBytes,
    kernels: choice.kernels,
  }));
  // A threaded wasm build keeps idle workers alive: exit explicitly.
  Deno.exit(0);
}

/**
 * The flags every training script shares (data, run length, loss network, U-Net size, run directory),
 * declared once; each example passes its own defaults and adds its own flags.
 *
 * @module
 */
import {
  count,
  type Flag,
  flag,
  type FlagValues,
  NonNegativeInt,
  numberFrom,
  orNaN,
  positiveIntUpTo,
  PositiveNumber,
  text,
  toggle,
} from "./flag_table.ts";
import { oneOf } from "../_internal/decode.ts";
import type { UNetConfig } from "../unet/mod.ts";

/** What differs between the examples in the shared flags. */
export interface SharedDefaults {
  /** The run directory's default name prefix: `runs/<prefix>-<time>`. */
  readonly prefix: string;
  /** Help of `--data`. */
  readonly data: string;
  /** Default `--steps` (empty: NaN, the example decides) and, to override it, its help. */
  readonly steps: string | readonly [string, string];
  /** Default `--lr` (empty: NaN, the example decides) and, to override it, its help. */
  readonly lr: string | readonly [string, string];
  /** Default `--batch` (4). */
  readonly batch?: string;
  /** Help of `--crop`. */
  readonly crop: string;
  /** Default `--depth`. */
  readonly depth: string;
  /** Default `--filters`. */
  readonly filters: string;
  /** Default `--samples` and its help. */
  readonly samples: readonly [string, string];
  /** Default `--sample-every` and its help. */
  readonly sampleEvery: readonly [string, string];
}

/** The longest run a flag accepts: bounds a typo such as `--steps 99999999999999999999`. */
const MAX_STEPS = 10_000_000;
const Steps = positiveIntUpTo(MAX_STEPS);

/** A U-Net depth. */
const Depth = numberFrom("an integer from 0 to 6", (n) => Number.isInteger(n) && n >= 0 && n <= 6);

/** The shared flags' table (see {@linkcode sharedFlags}). */
export type SharedFlags = {
  /** `--data DIR`: the training photos. */
  readonly data: Flag<string>;
  /** `--steps N`: the run length. */
  readonly steps: Flag<number>;
  /** `--batch N`: crops per step. */
  readonly batch: Flag<number>;
  /** `--crop N`: the crop size. */
  readonly crop: Flag<number>;
  /** `--lr X`: the peak learning rate. */
  readonly lr: Flag<number>;
  /** `--backend NAME`. */
  readonly backend: Flag<
    "auto" | "tensorflow" | "webgpu" | "native" | "native-host" | "wasm" | "cpu"
  >;
  /** `--vgg SRC`: the loss network's weights (see `pickLossNetwork`). */
  readonly vgg: Flag<string>;
  /** `--net NAME`: vgg16 | vgg19. */
  readonly net: Flag<"vgg16" | "vgg19">;
  /** `--precision P`: the loss network's arithmetic, f32 | bf16 (see `VggOptions.precision`). */
  readonly precision: Flag<"f32" | "bf16">;
  /** `--depth N`: U-Net depth. */
  readonly depth: Flag<number>;
  /** `--filters N`: U-Net base filters. */
  readonly filters: Flag<number>;
  /** `--samples N`: held-out crops for samples. */
  readonly samples: Flag<number>;
  /** `--sample-every N`: validate, write samples and a checkpoint every N steps. */
  readonly "sample-every": Flag<number>;
  /** `--seed N`. */
  readonly seed: Flag<number>;
  /** `--out DIR`: the run directory. */
  readonly out: Flag<string>;
  /** `--resume`: continue the run in `--out`. */
  readonly resume: Flag<boolean>;
  /** `--quiet`: no progress bar. */
  readonly quiet: Flag<boolean>;
};

/**
 * The shared flags, in the order `--help` lists them; `d` gives each script's defaults. Add your
 * own flags beside them in one table for {@linkcode command}.
 *
 * @example
 * ```ts
 * import { parseFlags, sharedFlags } from "@perceptual/loss/experiment";
 * import assert from "node:assert/strict";
 *
 * const flags = sharedFlags({
 *   prefix: "mine", data: "photos", steps: "100", lr: "1e-3", crop: "crop size",
 *   depth: "2", filters: "16", samples: ["4", "samples"], sampleEvery: ["25", "every N steps"],
 * });
 * const o = parseFlags(["--steps", "7", "--resume", "--out", "runs/a"], flags);
 * assert.ok(o !== "help");
 * assert.equal(o.steps, 7);
 * assert.equal(o.resume, true);
 * assert.equal(o.batch, 4);
 * ```
 */
export function sharedFlags(d: SharedDefaults): SharedFlags {
  const [steps, stepsHelp] = typeof d.steps === "string" ? [d.steps, "training steps"] : d.steps;
  const [lr, lrHelp] = typeof d.lr === "string"
    ? [d.lr, "peak learning rate (one-cycle schedule, Adam)"]
    : d.lr;
  return {
    data: text("examples/data", "DIR", d.data),
    steps: flag(steps === "" ? orNaN(Steps) : Steps, steps, "N", stepsHelp),
    batch: count(d.batch ?? "4", "crops per step", 1024),
    crop: count("64", d.crop, 4096),
    lr: flag(lr === "" ? orNaN(PositiveNumber) : PositiveNumber, lr, "X", lrHelp),
    backend: flag(
      oneOf(["auto", "tensorflow", "webgpu", "native", "native-host", "wasm", "cpu"] as const),
      "auto",
      "NAME",
      "auto | tensorflow | webgpu | native | native-host | wasm | cpu (auto: native-host " +
        "instead of native when batch × crop² exceeds 16 × 128²)",
    ),
    vgg: text(
      "auto",
      "SRC",
      "loss network weights: auto (ImageNet --net if cached/downloadable, else the embedded " +
        "ImageNet VGG-19 blocks 1-3) | random | PATH (.h5 or tfjs dir)",
    ),
    net: flag(
      oneOf(["vgg16", "vgg19"] as const),
      "vgg16",
      "NAME",
      "vgg16 | vgg19 (for ImageNet downloads, random and PATH weights)",
    ),
    precision: flag(
      oneOf(["f32", "bf16"] as const),
      "f32",
      "P",
      "loss network arithmetic: f32 | bf16 (native backend on a CPU with AVX512-BF16 or AMX; " +
        "about 1.7x faster, the trained model stays f32)",
    ),
    depth: flag(Depth, d.depth, "N", "U-Net depth (down-sampling levels)"),
    filters: count(d.filters, "U-Net base filters", 1024),
    samples: count(d.samples[0], d.samples[1], 1024),
    "sample-every": count(d.sampleEvery[0], d.sampleEvery[1], MAX_STEPS),
    seed: flag(NonNegativeInt, "0", "N", "seed for data order, crops and initial weights"),
    out: text("", "DIR", `run directory (default runs/${d.prefix}-<date>-<time>)`),
    resume: toggle("continue the run in --out from its latest checkpoint"),
    quiet: toggle("no progress bar"),
  };
}

/** The shared flags' values. */
export type SharedOptions = FlagValues<SharedFlags>;

/**
 * The examples' U-Net: `--depth` and `--filters`, a residual over the input, outputs in [0, 1],
 * seeded by `--seed`; `extra` says the rest (channels, scale, name).
 *
 * @example
 * ```ts
 * import { sharedFlags, parseFlags, unetConfig } from "@perceptual/loss/experiment";
 * import assert from "node:assert/strict";
 *
 * const flags = sharedFlags({
 *   prefix: "x", data: "photos", steps: "10", lr: "1e-3", crop: "crop", depth: "2", filters: "16",
 *   samples: ["4", "samples"], sampleEvery: ["5", "every"],
 * });
 * const o = parseFlags([], flags);
 * assert.ok(o !== "help");
 * const c = unetConfig(o, { name: "x", scale: 2 });
 * assert.equal(c.depth, 2);
 * assert.equal(c.baseFilters, 16);
 * ```
 */
export function unetConfig(
  o: SharedOptions,
  extra: Partial<UNetConfig> & Pick<UNetConfig, "name">,
): Partial<UNetConfig> {
  return {
    inChannels: 3,
    outChannels: 3,
    depth: o.depth,
    baseFilters: o.filters,
    // Batch norm's running statistics lag behind in a run of a few hundred steps (inference uses
    // them), which costs more at inference than it gains; it also doubles training time on wasm.
    norm: "none",
    // pixelShuffle: 4-5x faster to train on wasm than "bilinear" (measured at 4x64x64, depth 3).
    upsample: "pixelShuffle",
    outputRange: [0, 1],
    residual: true,
    seed: o.seed,
    ...extra,
  };
}

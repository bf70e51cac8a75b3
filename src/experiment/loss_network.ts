/**
 * The examples' loss network, chosen so that a fresh clone trains on real ImageNet features even
 * offline: ImageNet VGG-16 when it is cached or its host answers within a bounded time, else the
 * VGG-19 blocks 1–3 weights embedded under `examples/weights/` (SHA-256 verified), else an error.
 * Random weights only when asked for. The layers are fastai's (the activations just before
 * pools), mapped onto the layers the chosen weights have. The embedded weights are in a clone of
 * the repository, not in the JSR package: a published user without network access passes them
 * from a clone (`--vgg <clone>/examples/weights/vgg19_imagenet_blocks1-3 --net vgg19`).
 *
 * @module
 */
import { PerceptualError } from "../errors/perceptual_error.ts";
import { type Precision, PrecisionUnavailableError } from "../backend/native/precision.ts";
import { pathKind } from "../_internal/fs.ts";
import { layersBeforePools, type LossNetwork, UnknownLayerError } from "../network/mod.ts";
import {
  canonicalVggLayer,
  defaultCacheDir,
  KERAS_IMAGENET_WEIGHTS,
  SHA256SUMS_FILE,
  vgg16,
  vgg19,
  type VggArchitecture,
  vggLayers,
  type VggWeights,
} from "../vgg/mod.ts";

const EMBEDDED_URL = new URL("../../examples/weights/vgg19_imagenet_blocks1-3", import.meta.url);
/** Whether the library runs from a repository checkout (a file URL), which has the weights. */
const IN_A_CHECKOUT = EMBEDDED_URL.protocol === "file:";

/**
 * Where the embedded ImageNet VGG-19 blocks 1–3 (9 MB) are in a checkout of the repository:
 * `examples/weights/vgg19_imagenet_blocks1-3`. The published package does not ship them: with
 * them its gzipped tarball would be 20.9 MB, within 50 kB of JSR's 20 MiB limit (12.3 MB without).
 * {@linkcode NoLossNetworkError} says how to get them.
 *
 * @example
 * ```ts
 * import { EMBEDDED_VGG19_DIR } from "@perceptual/loss/experiment";
 * import assert from "node:assert/strict";
 *
 * assert.ok(EMBEDDED_VGG19_DIR.endsWith("examples/weights/vgg19_imagenet_blocks1-3"));
 * ```
 */
export const EMBEDDED_VGG19_DIR: string = decodeURIComponent(EMBEDDED_URL.pathname);

/** Which weights were chosen. */
export type LossNetworkKind =
  | "imagenet-vgg16"
  | "imagenet-vgg19"
  | "embedded-vgg19"
  | "path"
  | "random";

/** Options of {@linkcode pickLossNetwork}. */
export interface PickLossNetworkOptions {
  /** `"auto"` (default: ImageNet `net`, else the embedded VGG-19), `"random"`, or a path. */
  readonly vgg?: string;
  /** Architecture of the ImageNet weights tried first, of `"random"` and of a path (default `vgg16`). */
  readonly net?: VggArchitecture;
  /** The loss network's arithmetic (default `"f32"`; see `VggOptions.precision`). */
  readonly precision?: Precision;
  /** Loss layers; default fastai's (the three deepest activations just before a pool). */
  readonly layers?: readonly string[];
  /**
   * Layers the network must also reach though the loss does not use them (a frozen encoder's
   * last layer); loaded, not listed among the loss layers. Only with `layers`.
   */
  readonly alsoLoad?: readonly string[];
  /** Seed of random weights. */
  readonly seed?: number;
  /** Whether the network checks its input range (off on webgpu, which cannot read synchronously). */
  readonly checkRange?: boolean;
  /** How long the ImageNet host may take to answer before it counts as unreachable (ms, default 3000). */
  readonly timeoutMs?: number;
  /** Cache directory of ImageNet weights (default the library's). */
  readonly cacheDir?: string;
  /** ImageNet weights URL (a mirror; default Keras' for `net`). */
  readonly imagenetUrl?: string;
  /** md5 of the file at `imagenetUrl` (default Keras'). */
  readonly imagenetMd5?: string;
  /** The embedded weights (default {@linkcode EMBEDDED_VGG19_DIR}). */
  readonly embeddedDir?: string;
}

/** The chosen loss network, its loss layers, and why it was chosen. */
export interface PickedLossNetwork extends Disposable {
  /** The network, loaded up to the deepest loss layer. */
  readonly net: LossNetwork<string>;
  /** The loss layers, shallow to deep. */
  readonly layers: readonly string[];
  /** fastai's per-layer weights for them ([5, 15, 2] for three; an even split of 22 otherwise). */
  readonly layerWeights: readonly number[];
  /** Which weights. */
  readonly kind: LossNetworkKind;
  /** True for seeded random weights. */
  readonly random: boolean;
  /** One line for the console, config.json and results.json: which network and why. */
  readonly description: string;
}

/**
 * Neither ImageNet VGG-16 nor the embedded weights could be had (with `vgg: "auto"`). The
 * embedded VGG-19 blocks 1–3 come with the repository, not with the JSR package: outside a
 * checkout, let ImageNet VGG-16 download once (it is cached after), or clone the repository and
 * pass its folder with `--vgg DIR --net vgg19` (`vgg`, `net: "vgg19"`), or `embeddedDir`.
 *
 * @example
 * ```ts
 * import { NoLossNetworkError } from "@perceptual/loss/experiment";
 * import assert from "node:assert/strict";
 *
 * const e = new NoLossNetworkError(["not cached", "embedded weights absent"]);
 * assert.match(e.message, /^no pretrained loss network: not cached; embedded weights absent/);
 * ```
 */
export class NoLossNetworkError extends PerceptualError {
  /** Build the error from the reason each choice failed. */
  constructor(reasons: readonly string[]) {
    super(
      `no pretrained loss network: ${reasons.join("; ")}. Let ImageNet VGG-16 download once ` +
        "(it is cached after); or pass --vgg PATH (a Keras .h5 file or TensorFlow.js model " +
        "folder; the embedded VGG-19 blocks 1-3 are in a clone of the repository: --vgg " +
        "<clone>/examples/weights/vgg19_imagenet_blocks1-3 --net vgg19; in a checkout, " +
        "git checkout examples/weights restores them); or --vgg random to train against random " +
        "features (not a perceptual loss)",
    );
  }
}

function fastaiWeights(count: number): number[] {
  return count === 3 ? [5, 15, 2] : Array.from({ length: count }, () => 22 / count);
}

/** The deepest of `layers` (an unknown name is returned so that the loader's error names it). */
function deepest(arch: VggArchitecture, layers: readonly string[]): string {
  const order = vggLayers(arch) as readonly string[];
  let best = layers[0]!;
  for (const l of layers) {
    const c = canonicalVggLayer(arch, l);
    if (c === undefined) return l;
    if (order.indexOf(c) > order.indexOf(canonicalVggLayer(arch, best)!)) best = l;
  }
  return best;
}

/** The three deepest layers just before a pool among those loaded. */
function fastaiLayers(net: LossNetwork<string>): string[] {
  return layersBeforePools(net).slice(-3);
}

/** Whether `url`'s host answers at all within `ms` (any HTTP status); else why not. */
async function probe(url: string, ms: number): Promise<string | undefined> {
  try {
    const res = await fetch(url, { method: "HEAD", signal: AbortSignal.timeout(ms) });
    await res.body?.cancel();
    return undefined;
  } catch (e) {
    const name = (e as Error).name;
    return name === "TimeoutError" || name === "AbortError"
      ? `${new URL(url).host} did not answer within ${ms} ms`
      : `${new URL(url).host} cannot be reached (${(e as Error).message.split("\n")[0]})`;
  }
}

function oneLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).replace(/\s*\n\s*/g, "; ");
}

/**
 * Open the examples' loss network. `vgg: "auto"` (the default) takes ImageNet `net` (VGG-16
 * unless told; Keras weights) when it is cached or its host answers within `timeoutMs`, else the VGG-19 blocks 1–3
 * weights embedded in `examples/weights/` (their `SHA256SUMS` required and checked), else throws
 * {@linkcode NoLossNetworkError}. `"random"` gives seeded random weights, and a path loads that
 * file or directory. Without `layers`, the loss layers are fastai's (the activations just before
 * pools 3–5 of VGG-16; before pools 1–3 for the embedded blocks). Dispose the result.
 *
 * @example
 * ```ts
 * import { initBackend } from "@perceptual/loss/backend";
 * import { pickLossNetwork } from "@perceptual/loss/experiment";
 * import assert from "node:assert/strict";
 *
 * await initBackend("cpu");
 * // Seeded random weights (no download); fastai's layers, just before pools 3-5.
 * using picked = await pickLossNetwork({ vgg: "random", seed: 1 });
 * assert.equal(picked.kind, "random");
 * assert.deepEqual(picked.layers, ["block3_conv3", "block4_conv3", "block5_conv3"]);
 * ```
 */
export async function pickLossNetwork(
  options: PickLossNetworkOptions = {},
): Promise<PickedLossNetwork> {
  const vgg = options.vgg ?? "auto";
  const arch = options.net ?? "vgg16";
  if (vgg === "random") {
    const seed = options.seed ?? 0;
    const what = `RANDOM ${arch} weights (seed ${seed}), not ImageNet features`;
    return picked(await openVgg(options, arch, { random: seed }), "random", what, "--vgg random");
  }
  if (vgg !== "auto") {
    const opened = await openVgg(options, arch, vgg);
    return picked(opened, "path", opened.net.name, `from --vgg ${vgg}`);
  }
  const reasons: string[] = [];
  return (await imagenet(options, arch, reasons)) ?? await embedded(options, reasons);
}

/** A VGG network with `weights`, loaded to the deepest loss (or `alsoLoad`) layer, its layers. */
async function openVgg(
  options: PickLossNetworkOptions,
  arch: VggArchitecture,
  weights: VggWeights,
  extra: { url?: string; md5?: string; cacheDir?: string } = {},
): Promise<{ net: LossNetwork<string>; layers: string[] }> {
  const asked = options.layers ?? [];
  const upTo = asked.length === 0
    ? undefined
    : deepest(arch, [...asked, ...(options.alsoLoad ?? [])]);
  const checkRange = options.checkRange ?? true;
  const common = {
    weights,
    checkRange,
    ...(upTo === undefined ? {} : { upTo }),
    ...(options.precision === undefined ? {} : { precision: options.precision }),
    ...extra,
  };
  const net: LossNetwork<string> = arch === "vgg16"
    ? await vgg16(common as Parameters<typeof vgg16>[0])
    : await vgg19(common as Parameters<typeof vgg19>[0]);
  return { net, layers: upTo === undefined ? fastaiLayers(net) : [...asked] };
}

/** The picked network with fastai's layer weights and its one-line description. */
function picked(
  opened: { net: LossNetwork<string>; layers: string[] },
  kind: LossNetworkKind,
  what: string,
  why: string,
): PickedLossNetwork {
  const { net, layers } = opened;
  return {
    net,
    layers,
    layerWeights: fastaiWeights(layers.length),
    kind,
    random: kind === "random",
    description: `loss network: ${what}, ${why}; layers ${layers.join(", ")}`,
    [Symbol.dispose]: () => net.dispose(),
  };
}

/**
 * ImageNet `arch` (Keras weights) when cached or its host answers within the timeout; else
 * undefined, with the reason pushed onto `reasons`.
 */
async function imagenet(
  options: PickLossNetworkOptions,
  arch: VggArchitecture,
  reasons: string[],
): Promise<PickedLossNetwork | undefined> {
  const official = KERAS_IMAGENET_WEIGHTS[arch];
  const Arch = arch === "vgg16" ? "VGG-16" : "VGG-19";
  const url = options.imagenetUrl ?? official.url;
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const cached = await pathKind(`${cacheDir.replace(/\/+$/, "")}/${official.fileName}`) === "file";
  const unreachable = cached ? undefined : await probe(url, options.timeoutMs ?? 3000);
  if (unreachable !== undefined) {
    reasons.push(`ImageNet ${Arch} is not cached and ${unreachable}`);
    return undefined;
  }
  try {
    const md5 = options.imagenetMd5 ?? official.md5;
    const opened = await openVgg(options, arch, "imagenet", { url, md5, cacheDir });
    const what = `ImageNet ${Arch} (Keras weights)`;
    return picked(opened, `imagenet-${arch}`, what, cached ? "cached" : "downloaded");
  } catch (e) {
    if (
      e instanceof TypeError || e instanceof UnknownLayerError ||
      e instanceof PrecisionUnavailableError
    ) throw e;
    reasons.push(`ImageNet ${Arch} could not be loaded (${oneLine(e)})`);
    return undefined;
  }
}

/**
 * The embedded VGG-19 blocks 1–3 (a repository checkout's `examples/weights/`), or
 * {@linkcode NoLossNetworkError} with every reason.
 */
async function embedded(
  options: PickLossNetworkOptions,
  reasons: string[],
): Promise<PickedLossNetwork> {
  const dir = options.embeddedDir ?? EMBEDDED_VGG19_DIR;
  if (await pathKind(`${dir}/${SHA256SUMS_FILE}`) !== "file") {
    reasons.push(
      options.embeddedDir === undefined && !IN_A_CHECKOUT
        ? "the embedded VGG-19 weights come with the repository, not with the package"
        : `the embedded weights ${dir} have no ${SHA256SUMS_FILE} (absent or incomplete)`,
    );
    throw new NoLossNetworkError(reasons);
  }
  const order = vggLayers("vgg19") as readonly string[];
  const beyond = (options.layers ?? []).filter((l) => {
    const c = canonicalVggLayer("vgg19", l);
    return c !== undefined && order.indexOf(c) > order.indexOf("block3_pool");
  });
  if (beyond.length > 0) {
    reasons.push(
      `the embedded VGG-19 weights stop at block 3, and the loss asks for ${beyond.join(", ")}`,
    );
    throw new NoLossNetworkError(reasons);
  }
  try {
    const what = "ImageNet VGG-19 blocks 1-3 (embedded in examples/weights, SHA-256 verified)";
    return picked(
      await openVgg(options, "vgg19", dir),
      "embedded-vgg19",
      what,
      `because ${reasons.join("; ")}`,
    );
  } catch (e) {
    if (
      e instanceof TypeError || e instanceof UnknownLayerError ||
      e instanceof PrecisionUnavailableError
    ) throw e;
    reasons.push(`the embedded weights could not be loaded (${oneLine(e)})`);
    throw new NoLossNetworkError(reasons);
  }
}

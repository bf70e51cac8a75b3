/**
 * Opening the loss network an example trains with: ImageNet weights when they can be had, else
 * seeded random ones, clearly marked.
 *
 * @module
 */
import {
  canonicalVggLayer,
  vgg16,
  vgg19,
  type VggArchitecture,
  vggLayers,
  type VggWeights,
} from "../../src/vgg/mod.ts";
import { type LossNetwork, UnknownLayerError } from "../../src/network/mod.ts";
import { oneLine, UsageError } from "./cli.ts";

/** The loss network an example trains with, and how to label outputs made with it. */
export interface OpenedLossNetwork extends Disposable {
  /** The network. */
  readonly net: LossNetwork<string>;
  /** One line for logs and config.json: architecture, weight source, and a warning if random. */
  readonly description: string;
  /** True when the weights are seeded random ones, not ImageNet features. */
  readonly random: boolean;
}

/** The deepest of `layers` (Keras names or aliases), or the first unknown one (for its error). */
function deepestLayer(arch: VggArchitecture, layers: readonly string[]): string {
  const order = vggLayers(arch) as readonly string[];
  let deepest = layers[0]!;
  for (const l of layers) {
    const c = canonicalVggLayer(arch, l);
    // An unknown name goes to the loader as `upTo`, whose error names it and suggests one.
    if (c === undefined) return l;
    if (order.indexOf(c) > order.indexOf(canonicalVggLayer(arch, deepest) ?? deepest)) deepest = l;
  }
  return deepest;
}

/**
 * Opens `--net` with `--vgg` weights, loading only the layers up to the deepest in `layers`:
 * `auto` tries ImageNet (cache, then download) and falls back to seeded random weights with a
 * warning; `random` uses seeded random weights; anything else is a path (.h5 or tfjs dir).
 */
export async function openLossNetwork(
  arch: VggArchitecture,
  source: string,
  layers: readonly string[],
  seed: number,
  checkRange: boolean,
): Promise<OpenedLossNetwork> {
  const upTo = deepestLayer(arch, layers);
  const build = async (weights: VggWeights) => {
    try {
      return await (arch === "vgg16"
        ? vgg16({ weights, upTo: upTo as never, checkRange })
        : vgg19({ weights, upTo: upTo as never, checkRange }));
    } catch (e) {
      // A misspelt layer is a bad flag (exit status 2), like a bad path.
      if (e instanceof UnknownLayerError) throw new UsageError(`--layers: ${e.message}`);
      throw e;
    }
  };
  let net: LossNetwork<string>;
  let random = false;
  let note = "";
  if (source === "random") {
    net = await build({ random: seed });
    random = true;
    note = " (--vgg random)";
  } else if (source === "auto") {
    try {
      net = await build("imagenet");
    } catch (e) {
      if (e instanceof TypeError || e instanceof UsageError) throw e;
      console.warn(
        `warning: ImageNet ${arch} weights could not be had (${oneLine(e)}); continuing with ` +
          `seeded random VGG weights (seed ${seed}): the loss sees random features, not ImageNet ` +
          "ones, and every output is marked random-vgg. Pass --vgg PATH to use local weights.",
      );
      net = await build({ random: seed });
      random = true;
      note = " (ImageNet weights unavailable)";
    }
  } else {
    if (await Deno.stat(source).then(() => false, () => true)) {
      throw new UsageError(
        `--vgg ${source}: no such file or folder; give a Keras .h5 file, a tfjs model folder, ` +
          "auto or random",
      );
    }
    net = await build(source);
  }
  const description = random
    ? `loss network ${net.name}: RANDOM weights${note}, not ImageNet features`
    : `loss network ${net.name}`;
  return { net, description, random, [Symbol.dispose]: () => net.dispose() };
}

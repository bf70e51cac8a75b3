/**
 * Typed errors of the loss networks. Each message names the bad input (file, layer, URL) and the
 * fix.
 *
 * @module
 */
import { PerceptualError } from "../errors/perceptual_error.ts";

/**
 * A layer the network knows but did not load (built with `upTo` a shallower layer, or its
 * weights are absent from the source).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LayerNotLoadedError } from "@perceptual/loss/vgg";
 * assert.match(
 *   new LayerNotLoadedError("block4_conv1", "vgg19(dir)", "block3_pool", "shard absent").message,
 *   /block4_conv1/,
 * );
 * ```
 */
export class LayerNotLoadedError extends PerceptualError {
  /** The layer asked for. */
  readonly layer: string;
  /** Build the error; `deepest` is the deepest layer loaded, `why` why loading stopped there. */
  constructor(layer: string, network: string, deepest: string, why: string) {
    super(
      `layer "${layer}" was not loaded in ${network}: it stops at ${deepest} (${why}); ` +
        `build it with upTo: "${layer}" from weights that include it, or ask for a shallower layer`,
    );
    this.layer = layer;
  }
}

/**
 * A weight file or directory that cannot be used: unreadable, truncated, corrupt, or of an
 * unknown layout. Subclasses say more.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { WeightFileError } from "@perceptual/loss/vgg";
 * assert.match(
 *   new WeightFileError("/w/vgg16.h5", "block3_conv1", "it is truncated").message,
 *   /\/w\/vgg16\.h5/,
 * );
 * ```
 */
export class WeightFileError extends PerceptualError {
  /** The file (or directory) at fault. */
  readonly file: string;
  /** The layer being read, when known. */
  readonly layer: string | undefined;
  /** Build the error; `problem` says what is wrong and, where possible, how to fix it. */
  constructor(file: string, layer: string | undefined, problem: string) {
    super(
      `weights ${file}${layer === undefined ? "" : ` (layer ${layer})`}: ${problem}`,
    );
    this.file = file;
    this.layer = layer;
  }
}

/**
 * A weight file whose values include NaN or ±Infinity (a corrupt or overwritten shard, a model
 * saved after training diverged). Such weights make every loss NaN, or worse, silently 0 on
 * some backends; they are refused when loaded.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NonFiniteWeightsError } from "@perceptual/loss/vgg";
 * assert.match(new NonFiniteWeightsError("m/group1-shard1of1", "block1_conv1", "kernel", "1 NaN/infinite value (the first, NaN, at index 0)").message, /m\/group1-shard1of1/);
 * ```
 */
export class NonFiniteWeightsError extends WeightFileError {
  /** Which weight of the layer (`kernel`, `bias`). */
  readonly weight: string;
  /** Build the error naming the file, the layer, the weight and what was found. */
  constructor(file: string, layer: string, weight: string, found: string) {
    super(
      file,
      layer,
      `the ${weight} holds ${found}; the file is corrupt or was saved from a diverged model: ` +
        "fetch or export it again (check it against its SHA256SUMS)",
    );
    this.weight = weight;
  }
}

/**
 * A weight whose shape is not the architecture's (another network's file, a wrong manifest).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { WeightShapeError } from "@perceptual/loss/vgg";
 * assert.match(new WeightShapeError("m/model.json", "block1_conv1", "kernel", [3, 3, 3, 64], [3, 3, 64, 64]).message, /m\/model\.json/);
 * ```
 */
export class WeightShapeError extends WeightFileError {
  /** The shape the architecture needs. */
  readonly expected: readonly number[];
  /** The shape found. */
  readonly actual: readonly number[];
  /** Build the error naming the file, the layer, which weight, and both shapes. */
  constructor(
    file: string,
    layer: string,
    weight: string,
    expected: readonly number[],
    actual: readonly number[],
  ) {
    super(
      file,
      layer,
      `${weight} has shape [${actual.join(",")}] but the architecture needs ` +
        `[${expected.join(",")}]; is this a file of another network, or channels-first weights?`,
    );
    this.expected = expected;
    this.actual = actual;
  }
}

/**
 * A layer the caller needs whose weights the source does not have.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MissingWeightsError } from "@perceptual/loss/vgg";
 * assert.match(new MissingWeightsError("dir/model.json", "block4_conv1", "shard group9-shard1of2 is absent").message, /dir\/model\.json/);
 * ```
 */
export class MissingWeightsError extends WeightFileError {
  /** Build the error: `why` says what is absent. */
  constructor(file: string, layer: string, why: string) {
    super(
      file,
      layer,
      `${why}; pass a shallower upTo (or ask only for layers the source has), or use a ` +
        "complete weight file",
    );
  }
}

/**
 * Downloading weights failed: HTTP error, connection lost, or short file. Nothing was cached.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DownloadError } from "@perceptual/loss/vgg";
 * assert.match(
 *   new DownloadError("https://example.com/w.h5", "HTTP 404 Not Found").message,
 *   /https:\/\/example\.com\/w\.h5/,
 * );
 * ```
 */
export class DownloadError extends PerceptualError {
  /** The URL that failed. */
  readonly url: string;
  /** Build the error: `problem` says what went wrong. */
  constructor(url: string, problem: string) {
    super(
      `downloading ${url} failed: ${problem}; nothing was cached. Retry, pass \`url\` (a mirror) ` +
        "or a local .h5 path as `weights`",
    );
    this.url = url;
  }
}

/**
 * A downloaded (or cached) file whose md5 is not the one expected. It was not used, and not kept.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { HashMismatchError } from "@perceptual/loss/vgg";
 * assert.match(new HashMismatchError("https://m/w.h5", "6d6b…", "0000…").message, /6d6b…/);
 * ```
 */
export class HashMismatchError extends DownloadError {
  /** The md5 expected. */
  readonly expected: string;
  /** The md5 of what arrived. */
  readonly actual: string;
  /** Build the error naming the URL and both hashes. */
  constructor(url: string, expected: string, actual: string) {
    super(
      url,
      `the file's md5 is ${actual} but ${expected} was expected (a wrong mirror, a changed ` +
        "file, or a corrupted transfer)",
    );
    this.expected = expected;
    this.actual = actual;
  }
}

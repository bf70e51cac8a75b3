/**
 * The layer builder shared by the U-Net and the encoder colouriser: conv blocks, upsample blocks
 * and the head, each with its own deterministic seed.
 *
 * @module
 */
import * as tfl from "@tensorflow/tfjs-layers";
import type { UNetConfig } from "./config.ts";
import { ICNR } from "./icnr.ts";
import { InstanceNorm } from "./instance_norm.ts";
import { PixelShuffle } from "./pixel_shuffle.ts";
import { Upsample } from "./resize.ts";

/** A symbolic tensor of a functional model. */
export type Sym = tfl.SymbolicTensor;

/** Builds layers for one config, handing out deterministic per-layer seeds. */
export class Builder {
  readonly #c: UNetConfig;
  #seedIndex = 0;

  constructor(config: UNetConfig) {
    this.#c = config;
  }

  #seed(): { seed?: number } {
    // Distinct seeds per layer: one shared seed would give equal-shaped layers equal weights.
    const s = this.#c.seed;
    return s === null ? {} : { seed: s + 7919 * ++this.#seedIndex };
  }

  #activation(x: Sym, name: string): Sym {
    switch (this.#c.activation) {
      case "relu":
        return tfl.layers.reLU({ name }).apply(x) as Sym;
      case "leakyRelu":
        return tfl.layers.leakyReLU({ alpha: 0.1, name }).apply(x) as Sym;
      case "elu":
        return tfl.layers.elu({ name }).apply(x) as Sym;
      case "swish":
      case "gelu":
        return tfl.layers.activation({ activation: this.#c.activation, name }).apply(x) as Sym;
    }
  }

  #conv(x: Sym, filters: number, name: string, useBias: boolean): Sym {
    return tfl.layers.conv2d({
      filters,
      kernelSize: 3,
      padding: "same",
      useBias,
      kernelInitializer: tfl.initializers.heNormal(this.#seed()),
      name,
    }).apply(x) as Sym;
  }

  /** Two × (3×3 conv, norm, activation). */
  convBlock(x: Sym, filters: number, name: string): Sym {
    const norm = this.#c.norm;
    let y = x;
    for (const k of [1, 2]) {
      // A bias right before a normalisation is cancelled by its mean subtraction: leave it out.
      y = this.#conv(y, filters, `${name}_conv${k}`, norm === "none");
      if (norm === "batch") {
        y = tfl.layers.batchNormalization({ momentum: 0.9, name: `${name}_bn${k}` }).apply(
          y,
        ) as Sym;
      } else if (norm === "instance") {
        y = new InstanceNorm({ name: `${name}_in${k}` }).apply(y) as Sym;
      }
      y = this.#activation(y, `${name}_act${k}`);
    }
    return y;
  }

  /** Spatial size × factor, to `filters` channels, in the configured mode. */
  upBlock(x: Sym, filters: number, factor: number, name: string): Sym {
    let y: Sym;
    switch (this.#c.upsample) {
      case "pixelShuffle":
        y = tfl.layers.conv2d({
          filters: filters * factor * factor,
          kernelSize: 3,
          padding: "same",
          kernelInitializer: new ICNR({ scale: factor, seed: this.#seed().seed ?? null }),
          name: `${name}_conv`,
        }).apply(x) as Sym;
        y = new PixelShuffle({ factor, name: `${name}_shuffle` }).apply(y) as Sym;
        break;
      case "transpose":
        // kernel = stride: the footprints do not overlap, so no checkerboard from uneven overlap.
        y = tfl.layers.conv2dTranspose({
          filters,
          kernelSize: factor,
          strides: factor,
          padding: "same",
          kernelInitializer: tfl.initializers.heNormal(this.#seed()),
          name: `${name}_tconv`,
        }).apply(x) as Sym;
        break;
      case "bilinear":
        y = new Upsample({ factor, method: "bilinear", name: `${name}_resize` }).apply(x) as Sym;
        y = this.#conv(y, filters, `${name}_conv`, true);
        break;
      case "resizeConv":
        y = new Upsample({ factor, method: "nearest", name: `${name}_resize` }).apply(x) as Sym;
        y = this.#conv(y, filters, `${name}_conv`, true);
        break;
    }
    return this.#activation(y, `${name}_act`);
  }

  /**
   * The bottleneck conv block on `x`, then per skip, deepest first: an upsample ×2,
   * concatenation with the skip, and a conv block (`baseFilters·2^(level−1)` filters at level).
   */
  decoder(x: Sym, skips: readonly Sym[]): Sym {
    const base = this.#c.baseFilters;
    let y = this.convBlock(x, base * 2 ** skips.length, "bottom");
    for (let level = skips.length; level >= 1; level--) {
      const filters = base * 2 ** (level - 1);
      const up = this.upBlock(y, filters, 2, `up${level}`);
      y = tfl.layers.concatenate({ name: `dec${level}_concat` }).apply([
        up,
        skips[level - 1]!,
      ]) as Sym;
      y = this.convBlock(y, filters, `dec${level}`);
    }
    return y;
  }

  head(x: Sym): Sym {
    const c = this.#c;
    return tfl.layers.conv2d({
      filters: c.outChannels,
      // At scale 1 the last conv block already mixed 3×3 neighbourhoods; with a tail, the features
      // at output resolution come from one upsample block, so the head adds 3×3 context there.
      kernelSize: c.scale > 1 ? 3 : 1,
      padding: "same",
      // Small initial residual: an untrained model starts near its base (the interpolated input).
      kernelInitializer: tfl.initializers.varianceScaling({
        scale: 0.01,
        mode: "fanIn",
        distribution: "normal",
        ...this.#seed(),
      }),
      name: "head",
    }).apply(x) as Sym;
  }
}

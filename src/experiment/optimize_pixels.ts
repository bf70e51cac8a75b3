/**
 * Gatys-style optimisation inside a run: Adam on the pixels of one image (started from the
 * content image), with the run directory's progress, metrics.csv, step pictures and report.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { LossFn } from "../loss/mod.ts";
import { comparisonPanel, type Pixels, tensorToPixels, writePixels } from "../data/mod.ts";
import { constant, type DataFactory } from "../train/mod.ts";
import { coverCrop } from "./whole_images.ts";
import { type Session, train, type TrainedRun } from "./session.ts";

/** What {@linkcode optimizePixels} optimises, against what, for how long. */
export interface PixelPlan {
  /** The content image [1, H, W, C] in [0, 1]: the start, and every step's target (not disposed). */
  readonly content: tf.Tensor4D;
  /** The loss (e.g. with the style image's Grams precomputed). */
  readonly loss: LossFn;
  /** Adam steps. */
  readonly steps: number;
  /** Adam's learning rate, constant (pixels are in [0, 1]). */
  readonly lr: number;
  /** `config.json`. */
  readonly config: Record<string, unknown>;
  /** The folder of the step pictures in the run directory (default `steps`). */
  readonly dir?: string;
  /**
   * Files written into the run directory at the end: the optimised `image` (e.g.
   * `stylised.png`) and a `panel` content | optimised | `reference` (scaled to cover the image).
   */
  readonly write?: {
    readonly image: string;
    readonly panel?: string;
    readonly reference?: Pixels;
    /** The panel's first image (default the content image), e.g. the photo before recolouring. */
    readonly photo?: Pixels;
  };
}

/** What {@linkcode optimizePixels} made. */
export interface OptimizedPixels {
  /** The optimised image [1, H, W, C] (the caller disposes it). */
  readonly image: tf.Variable;
  /** The same as pixels. */
  readonly pixels: Pixels;
  /** Seconds the optimisation took. */
  readonly seconds: number;
  /** The run, to `report.finish` with a table. */
  readonly run: TrainedRun;
}

/**
 * Optimise the pixels of `plan.content` against `plan.loss` (the content image as the target of
 * every step), clipped back into [0, 1] after each update, writing the picture every
 * `--sample-every` steps, then the files of `plan.write`. Keeps no checkpoints (a run of this
 * kind starts again).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { optimizePixels, train } from "@perceptual/loss/experiment";
 * // Used by examples/style_transfer.ts --optimize; the trainer it drives is `train`'s.
 * assert.equal(typeof optimizePixels, typeof train);
 * ```
 */
export async function optimizePixels(
  s: Session,
  plan: PixelPlan,
): Promise<OptimizedPixels> {
  const { content } = plan;
  const start = performance.now();
  // The variable takes its own copy of the content's values; `content` stays the target.
  const image = tf.variable(content, true, "optimised_pixels");
  // Every step compares the image with the content; the trainer disposes each batch it takes.
  const data: DataFactory = function* () {
    while (true) yield { input: tf.clone(content), target: tf.clone(content) };
  };
  try {
    const run = await train(s, {
      trainee: {
        params: [image],
        forward: () => image as unknown as tf.Tensor4D,
        project: () => image.assign(tf.clipByValue(image, 0, 1)),
      },
      loss: plan.loss,
      schedule: constant(plan.lr),
      data,
      steps: plan.steps,
      config: plan.config,
      samples: {
        batch: { input: content, target: content },
        count: 1,
        dir: plan.dir ?? "steps",
        image: (e) => tf.clone(e.prediction),
      },
      checkpoints: false,
    });
    const pixels = await pixelsOf(image);
    const seconds = (performance.now() - start) / 1000;
    const w = plan.write;
    if (w !== undefined) await writePixels(`${s.runDir}/${w.image}`, pixels);
    if (w?.panel !== undefined) {
      const first = w.photo ?? await pixelsOf(content);
      const ref = w.reference === undefined
        ? []
        : [coverCrop(w.reference, first.height, first.width)];
      const panel = comparisonPanel([first, pixels, ...ref], { compare: [1, 0] });
      await writePixels(`${s.runDir}/${w.panel}`, panel.pixels);
    }
    return { image, pixels, seconds, run };
  } catch (e) {
    image.dispose();
    throw e;
  }
}

/** The first image of `x` ([1, H, W, C]) as pixels. */
async function pixelsOf(x: tf.Tensor4D | tf.Variable): Promise<Pixels> {
  const frame = tf.squeeze(x, [0]) as tf.Tensor3D;
  try {
    return await tensorToPixels(frame);
  } finally {
    frame.dispose();
  }
}

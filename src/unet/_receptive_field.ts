/**
 * Static analysis of a tfjs-layers conv net for tiled inference: how far (in input pixels) an
 * output pixel can see, what the input sides must be multiples of, and how many tensor elements
 * the largest intermediate holds per input pixel. Internal to `predictImage`.
 *
 * @module
 */
import type * as tfl from "@tensorflow/tfjs-layers";

/** What tiling needs to know about a model. */
export interface ModelGeometry {
  /**
   * Input pixels an output pixel may depend on, on each side: a tile whose borders are at least
   * this far from every kept output pixel gives exactly the whole image's values there.
   */
  readonly radius: number;
  /** The coarsest feature stride: tile origins and input sides must be multiples of it. */
  readonly multiple: number;
  /** Elements of the largest tensor (activation or conv patch matrix) per input pixel. */
  readonly elementsPerPixel: number;
  /**
   * Whether some layer mixes statistics of the whole image into every pixel (instance
   * normalisation): then no overlap makes tiles exact, and only a one-piece prediction is.
   */
  readonly global: boolean;
}

/** Spatial state of one layer's output, in units of input pixels. */
interface Reach {
  /** Input pixels per feature pixel (below 1 after upsampling). */
  readonly stride: number;
  /** Input pixels seen on each side. */
  readonly radius: number;
}

/** Layers whose every output pixel depends on the whole input (per-image statistics). */
const GLOBAL = new Set(["PerceptualInstanceNorm"]);

/** Layers that act on each pixel alone (or merge same-size inputs pixel by pixel). */
const POINTWISE = new Set([
  "InputLayer",
  "BatchNormalization",
  "LayerNormalization",
  "Activation",
  "ReLU",
  "LeakyReLU",
  "PReLU",
  "ELU",
  "ThresholdedReLU",
  "Softmax",
  "Dropout",
  "SpatialDropout2D",
  "GaussianNoise",
  "GaussianDropout",
  "AlphaDropout",
  "Concatenate",
  "Add",
  "Multiply",
  "Average",
  "Maximum",
  "Minimum",
  "Rescaling",
  "PerceptualOutputMap",
  "PerceptualSizeCheck",
  "PerceptualChromaToRgb",
]);

function pair(v: unknown, fallback: number): number {
  if (Array.isArray(v)) return Math.max(...v.map(Number));
  return typeof v === "number" ? v : fallback;
}

/** The last dimension of a shape, or of the first shape of a list (a multi-input layer's). */
function channelsOf(shape: tfl.Shape | tfl.Shape[] | undefined): number {
  const first = Array.isArray(shape?.[0]) ? (shape as tfl.Shape[])[0] : shape as tfl.Shape;
  const c = first?.[first.length - 1];
  return typeof c === "number" ? c : 1;
}

/** Thrown (as a `TypeError`) for a layer whose spatial reach this analysis does not know. */
function unknownLayer(layer: tfl.layers.Layer): TypeError {
  return new TypeError(
    `predictImage cannot bound how far layer '${layer.name}' (${layer.getClassName()}) sees, so ` +
      `it cannot pick an exact tile overlap; pass { overlap } (input pixels) and { multiple } ` +
      `explicitly, or { tileSize: Infinity } to predict the image in one piece`,
  );
}

/**
 * Walk the layers in topological order (as `model.layers` lists them) and track each output's
 * stride and reach. A k×k conv at stride s adds ⌈(k−1)/2⌉·dilation·s; the 2×2 max-pool adds s
 * (its window is one-sided) and doubles s; pixel shuffle and transposed convs divide s; the
 * weightless resize adds two taps of its input (bicubic). Merges take the widest input.
 */
export function modelGeometry(model: tfl.LayersModel): ModelGeometry {
  const reach = new Map<tfl.layers.Layer, Reach>();
  let multiple = 1;
  let radius = 0;
  let elementsPerPixel = 0;
  let global = false;
  for (const layer of model.layers) {
    const inbound = layer.inboundNodes[0]?.inboundLayers ?? [];
    const ins = inbound.map((l) => reach.get(l) ?? { stride: 1, radius: 0 });
    const stride = ins.length === 0 ? 1 : Math.min(...ins.map((r) => r.stride));
    const seen = ins.length === 0 ? 0 : Math.max(...ins.map((r) => r.radius));
    const cls = layer.getClassName();
    const cfg = layer.getConfig();
    const inChannels = channelsOf(layer.inboundNodes[0]?.inputShapes);
    let out: Reach;
    let patch = 0;
    if (POINTWISE.has(cls)) {
      out = { stride, radius: seen };
    } else if (GLOBAL.has(cls)) {
      global = true;
      out = { stride, radius: seen };
    } else if (cls === "Conv2D" || cls === "DepthwiseConv2D" || cls === "SeparableConv2D") {
      const k = pair(cfg.kernelSize, 1);
      const d = pair(cfg.dilationRate, 1);
      const st = pair(cfg.strides, 1);
      out = { stride: stride * st, radius: seen + Math.ceil((k - 1) / 2) * d * stride };
      patch = k * k * inChannels / (stride * st) ** 2;
    } else if (cls === "Conv2DTranspose") {
      const k = pair(cfg.kernelSize, 1);
      const st = pair(cfg.strides, 1);
      out = { stride: stride / st, radius: seen + Math.ceil((k - 1) / st) * stride };
    } else if (cls === "PerceptualMaxPool2x2") {
      out = { stride: stride * 2, radius: seen + stride };
    } else if (cls === "MaxPooling2D" || cls === "AveragePooling2D") {
      const p = pair(cfg.poolSize, 2);
      const st = pair(cfg.strides, p);
      out = { stride: stride * st, radius: seen + (p - 1) * stride };
    } else if (cls === "PerceptualPixelShuffle") {
      out = { stride: stride / Number(cfg.factor), radius: seen };
    } else if (cls === "PerceptualUpsample" || cls === "UpSampling2D") {
      const f = cls === "UpSampling2D" ? pair(cfg.size, 2) : Number(cfg.factor);
      out = { stride: stride / f, radius: seen + 2 * stride };
    } else {
      throw unknownLayer(layer);
    }
    reach.set(layer, out);
    multiple = Math.max(multiple, out.stride);
    radius = Math.max(radius, out.radius);
    const outElements = channelsOf(layer.outputShape) / out.stride ** 2;
    elementsPerPixel = Math.max(elementsPerPixel, outElements, patch);
  }
  return { radius: Math.ceil(radius), multiple: Math.round(multiple), elementsPerPixel, global };
}

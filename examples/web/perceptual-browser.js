// src/browser.ts
import * as tfc from "@tensorflow/tfjs-core";
import * as tfl9 from "@tensorflow/tfjs-layers";

// src/unet/register.ts
import * as tf9 from "@tensorflow/tfjs-core";

// src/unet/chroma_layer.ts
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";

// src/_internal/luma.ts
var BT601_LUMA = [
  0.299,
  0.587,
  0.114
];

// src/unet/_layer_io.ts
function firstShape(inputShape) {
  return Array.isArray(inputShape[0]) ? inputShape[0] : inputShape;
}
function firstInput(inputs) {
  return Array.isArray(inputs) ? inputs[0] : inputs;
}

// src/unet/chroma_layer.ts
var [KR, KG, KB] = BT601_LUMA;
var R_CR = 2 * (1 - KR);
var B_CB = 2 * (1 - KB);
var G_CB = -(KB * B_CB) / KG;
var G_CR = -(KR * R_CR) / KG;
function chromaToRgb(y, cbcr) {
  if (y.rank !== 4 || y.shape[3] !== 1 || cbcr.rank !== 4 || cbcr.shape[3] !== 2) {
    throw new RangeError(`chromaToRgb: needs luma [b, h, w, 1] and chroma [b, h, w, 2], got [${y.shape}] and [${cbcr.shape}]`);
  }
  return tf.tidy(() => {
    const [cb, cr] = tf.split(cbcr, 2, 3);
    const delta = tf.concat([
      tf.mul(cr, R_CR),
      tf.add(tf.mul(cb, G_CB), tf.mul(cr, G_CR)),
      tf.mul(cb, B_CB)
    ], 3);
    const yy = tf.clipByValue(y, 0, 1);
    const up = tf.div(tf.sub(1, yy), tf.maximum(tf.relu(delta), 1e-12));
    const down = tf.div(yy, tf.maximum(tf.relu(tf.neg(delta)), 1e-12));
    const limit = tf.minimum(up, down);
    const scale = tf.minimum(tf.min(limit, 3, true), 1);
    return tf.add(y, tf.mul(delta, scale));
  });
}
var ChromaToRgb = class extends tfl.layers.Layer {
  /** The name this layer serializes under. */
  static className = "PerceptualChromaToRgb";
  /** Whether the chroma is read relative to the luma's room (see {@linkcode ChromaToRgbArgs}). */
  lumaRelative;
  /** Build the layer. */
  constructor(args = {}) {
    super(args);
    this.lumaRelative = args.lumaRelative ?? true;
  }
  /** RGB: the chroma's shape with 3 channels. */
  computeOutputShape(inputShape) {
    const chroma = firstShape(inputShape);
    return [
      ...chroma.slice(0, -1),
      3
    ];
  }
  /** {@linkcode chromaToRgb} of `[chroma, luma]`. */
  call(inputs, _kwargs) {
    const list = Array.isArray(inputs) ? inputs : [
      inputs
    ];
    if (list.length !== 2) {
      throw new RangeError("ChromaToRgb needs two inputs, [chroma, luma]");
    }
    const [chroma, y] = list;
    return tf.tidy(() => {
      const room = tf.mul(tf.mul(y, tf.sub(1, y)), 4);
      return chromaToRgb(y, this.lumaRelative ? tf.mul(chroma, room) : chroma);
    });
  }
  /** `lumaRelative`, plus the base layer's fields. */
  getConfig() {
    return {
      ...super.getConfig(),
      lumaRelative: this.lumaRelative
    };
  }
};

// src/unet/icnr.ts
import * as tf2 from "@tensorflow/tfjs-core";
import * as tfl2 from "@tensorflow/tfjs-layers";
var InitializerBase = Object.getPrototypeOf(tfl2.initializers.zeros().constructor);
var ICNR = class extends InitializerBase {
  /** The name this initializer serializes under. */
  static className = "PerceptualICNR";
  /** The pixel-shuffle factor. */
  scale;
  /** The seed, or null. */
  seed;
  /** Build the initializer. */
  constructor(args) {
    super();
    if (!Number.isInteger(args.scale) || args.scale < 1) {
      throw new RangeError(`ICNR: scale must be a positive integer, got ${args.scale}`);
    }
    this.scale = args.scale;
    this.seed = args.seed ?? null;
  }
  /** A `[k, k, in, c·r²]` kernel whose r² blocks of c output channels are identical. */
  apply(shape, dtype) {
    const r2 = this.scale * this.scale;
    const out = shape[shape.length - 1];
    if (shape.length !== 4 || out % r2 !== 0) {
      throw new RangeError(`ICNR(scale ${this.scale}) needs a [k, k, in, c\xB7${r2}] conv kernel, got [${shape}]`);
    }
    const sub4 = [
      shape[0],
      shape[1],
      shape[2],
      out / r2
    ];
    const he = tfl2.initializers.heNormal(this.seed === null ? {} : {
      seed: this.seed
    });
    return tf2.tidy(() => tf2.tile(he.apply(sub4, dtype), [
      1,
      1,
      1,
      r2
    ]));
  }
  /** Scale and seed. */
  getConfig() {
    return {
      scale: this.scale,
      seed: this.seed
    };
  }
};

// src/unet/max_pool.ts
import * as tf3 from "@tensorflow/tfjs-core";
import * as tfl3 from "@tensorflow/tfjs-layers";
function maxPool2x2(x) {
  const [b, h, w, c] = x.shape;
  if (h % 2 !== 0 || w % 2 !== 0) {
    throw new RangeError(`maxPool2x2 needs an even height and width, got ${h}\xD7${w}`);
  }
  return tf3.tidy(() => {
    const rows = tf3.reshape(x, [
      b * h / 2,
      2,
      w / 2,
      2 * c
    ]);
    const top = tf3.slice(rows, [
      0,
      0,
      0,
      0
    ], [
      -1,
      1,
      -1,
      -1
    ]);
    const bottom = tf3.slice(rows, [
      0,
      1,
      0,
      0
    ], [
      -1,
      1,
      -1,
      -1
    ]);
    const vertical = tf3.maximum(top, bottom);
    const left = tf3.slice(vertical, [
      0,
      0,
      0,
      0
    ], [
      -1,
      -1,
      -1,
      c
    ]);
    const right = tf3.slice(vertical, [
      0,
      0,
      0,
      c
    ], [
      -1,
      -1,
      -1,
      c
    ]);
    return tf3.reshape(tf3.maximum(left, right), [
      b,
      h / 2,
      w / 2,
      c
    ]);
  });
}
var MaxPool2x2 = class extends tfl3.layers.Layer {
  /** The name this layer serializes under. */
  static className = "PerceptualMaxPool2x2";
  /** Build the layer. */
  constructor(args = {}) {
    super(args);
  }
  /** `[b, h, w, c]` → `[b, h/2, w/2, c]`. */
  computeOutputShape(inputShape) {
    const s = firstShape(inputShape);
    const half = (n) => n === null ? null : Math.floor(n / 2);
    return [
      s[0],
      half(s[1]),
      half(s[2]),
      s[3]
    ];
  }
  /** Pool the input. */
  call(inputs, _kwargs) {
    const x = firstInput(inputs);
    return maxPool2x2(x);
  }
};

// src/unet/instance_norm.ts
import * as tf4 from "@tensorflow/tfjs-core";
import * as tfl4 from "@tensorflow/tfjs-layers";
var DEFAULT_EPSILON = 1e-5;
var InstanceNorm = class extends tfl4.layers.Layer {
  /** The name this layer serializes under. */
  static className = "PerceptualInstanceNorm";
  /** Added to the variance before the square root. */
  epsilon;
  #gamma;
  #beta;
  /** Build the layer. */
  constructor(args = {}) {
    super(args);
    this.epsilon = args.epsilon ?? DEFAULT_EPSILON;
    if (!(this.epsilon > 0)) {
      throw new RangeError(`InstanceNorm: epsilon must be > 0, got ${this.epsilon}`);
    }
  }
  /** One scale and one offset per channel. */
  build(inputShape) {
    const shape = firstShape(inputShape);
    const channels = shape[shape.length - 1];
    if (shape.length !== 4 || typeof channels !== "number") {
      throw new RangeError(`InstanceNorm: needs NHWC input with a known channel count, got [${shape.join(", ")}]`);
    }
    this.#gamma = this.addWeight("gamma", [
      channels
    ], "float32", tfl4.initializers.ones());
    this.#beta = this.addWeight("beta", [
      channels
    ], "float32", tfl4.initializers.zeros());
    this.built = true;
  }
  /** The same shape as the input. */
  computeOutputShape(inputShape) {
    return firstShape(inputShape);
  }
  /** Normalise over height and width per image and channel, then scale and shift. */
  call(inputs, _kwargs) {
    const x = firstInput(inputs);
    return tf4.tidy(() => {
      const { mean, variance } = tf4.moments(x, [
        1,
        2
      ], true);
      const normalised = tf4.mul(tf4.sub(x, mean), tf4.rsqrt(tf4.add(variance, this.epsilon)));
      return tf4.add(tf4.mul(normalised, this.#gamma.read()), this.#beta.read());
    });
  }
  /** ε, plus the base layer's fields. */
  getConfig() {
    return {
      ...super.getConfig(),
      epsilon: this.epsilon
    };
  }
};

// src/unet/output_map.ts
import * as tf5 from "@tensorflow/tfjs-core";
import * as tfl5 from "@tensorflow/tfjs-layers";
var LOGIT_EPS = 1e-3;
var OutputMap = class extends tfl5.layers.Layer {
  /** The name this layer serializes under. */
  static className = "PerceptualOutputMap";
  /** The output range, or null. */
  range;
  /** Whether the layer takes a base to add the residual to. */
  residual;
  /** Build the layer. */
  constructor(args) {
    super(args);
    this.range = args.range === null || args.range === void 0 ? null : [
      args.range[0],
      args.range[1]
    ];
    this.residual = args.residual;
  }
  /** The head's shape. */
  computeOutputShape(inputShape) {
    return firstShape(inputShape);
  }
  /** Apply the table above. */
  call(inputs, _kwargs) {
    const list = Array.isArray(inputs) ? inputs : [
      inputs
    ];
    const z = list[0];
    const base = this.residual ? list[1] : void 0;
    if (this.residual && base === void 0) {
      throw new Error("OutputMap with residual: true needs two inputs, [head, base]");
    }
    return tf5.tidy(() => {
      if (this.range === null) return base === void 0 ? tf5.clone(z) : tf5.add(z, base);
      const [lo, hi] = this.range;
      let logits = z;
      if (base !== void 0) {
        const unit = tf5.clipByValue(tf5.div(tf5.sub(base, lo), hi - lo), LOGIT_EPS, 1 - LOGIT_EPS);
        logits = tf5.add(z, tf5.sub(tf5.log(unit), tf5.log1p(tf5.neg(unit))));
      }
      return tf5.add(tf5.mul(tf5.sigmoid(logits), hi - lo), lo);
    });
  }
  /** Range and residual flag, plus the base layer's fields. */
  getConfig() {
    return {
      ...super.getConfig(),
      range: this.range === null ? null : [
        ...this.range
      ],
      residual: this.residual
    };
  }
};

// src/unet/pixel_shuffle.ts
import * as tf6 from "@tensorflow/tfjs-core";
import * as tfl6 from "@tensorflow/tfjs-layers";
function pixelShuffle(x, factor) {
  const [b, h, w, depth] = x.shape;
  const r = factor;
  if (!Number.isInteger(r) || r < 1) {
    throw new RangeError(`pixelShuffle: factor must be a positive integer, got ${factor}`);
  }
  if (depth % (r * r) !== 0) {
    throw new RangeError(`pixelShuffle: ${depth} channels are not divisible by factor\xB2 = ${r * r}; the conv before the shuffle must output factor\xB2\xB7channels`);
  }
  if (r === 1) return tf6.clone(x);
  const c = depth / (r * r);
  return tf6.tidy(() => {
    const split2 = tf6.reshape(x, [
      b * h,
      w,
      r,
      r * c
    ]);
    const moved = tf6.transpose(split2, [
      0,
      2,
      1,
      3
    ]);
    return tf6.reshape(moved, [
      b,
      h * r,
      w * r,
      c
    ]);
  });
}
var PixelShuffle = class extends tfl6.layers.Layer {
  /** The name this layer serializes under. */
  static className = "PerceptualPixelShuffle";
  /** The upscale factor. */
  factor;
  /** Build the layer. */
  constructor(args) {
    super(args);
    this.factor = args.factor;
  }
  /** `[b, h, w, r²c]` → `[b, h·r, w·r, c]`; unknown sizes stay unknown. */
  computeOutputShape(inputShape) {
    const s = firstShape(inputShape);
    const r = this.factor;
    const times = (n) => n === null ? null : n * r;
    const c = s[3] === null ? null : s[3] / (r * r);
    return [
      s[0],
      times(s[1]),
      times(s[2]),
      c
    ];
  }
  /** Apply the shuffle. */
  call(inputs, _kwargs) {
    const x = firstInput(inputs);
    return pixelShuffle(x, this.factor);
  }
  /** The factor, plus the base layer's fields. */
  getConfig() {
    return {
      ...super.getConfig(),
      factor: this.factor
    };
  }
};

// src/unet/resize.ts
import * as tf7 from "@tensorflow/tfjs-core";
import * as tfl7 from "@tensorflow/tfjs-layers";
function kernel(method, a) {
  if (method === "nearest") return (x) => Math.abs(x) < 0.5 ? 1 : 0;
  if (method === "bilinear") return (x) => Math.max(0, 1 - Math.abs(x));
  return (x) => {
    const d = Math.abs(x);
    if (d <= 1) return ((a + 2) * d - (a + 3)) * d * d + 1;
    if (d < 2) return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a;
    return 0;
  };
}
var TAPS = [
  -2,
  -1,
  0,
  1,
  2
];
function phaseWeights(factor, method, a = -0.5) {
  const k = kernel(method, a);
  return Array.from({
    length: factor
  }, (_, p) => {
    const delta = (p + 0.5) / factor - 0.5;
    return TAPS.map((j) => k(delta - j));
  });
}
function sliceAxis(x, axis, start, size) {
  const begin = [
    0,
    0,
    0,
    0
  ];
  const sizes = [
    -1,
    -1,
    -1,
    -1
  ];
  begin[axis] = start;
  sizes[axis] = size;
  return tf7.slice(x, begin, sizes);
}
function interleave(parts, axis) {
  const shape = [
    ...parts[0].shape
  ];
  shape[axis] *= parts.length;
  return tf7.reshape(tf7.concat(parts, axis + 1), shape);
}
function repeatAxis(x, axis, s) {
  return interleave(Array.from({
    length: s
  }, () => x), axis);
}
function upsampleAxis(x, axis, weights) {
  const n = x.shape[axis];
  const first = sliceAxis(x, axis, 0, 1);
  const last = sliceAxis(x, axis, n - 1, 1);
  const padded = tf7.concat([
    first,
    first,
    x,
    last,
    last
  ], axis);
  const taps = TAPS.map((_, t) => sliceAxis(padded, axis, t, n));
  const phases = weights.map((w) => {
    const terms = w.flatMap((wt, t) => wt === 0 ? [] : [
      tf7.mul(taps[t], wt)
    ]);
    return terms.length === 1 ? terms[0] : tf7.addN(terms);
  });
  return interleave(phases, axis);
}
function upsample(x, factor, options = {}) {
  if (!Number.isInteger(factor) || factor < 1) {
    throw new RangeError(`upsample: factor must be a positive integer, got ${factor}`);
  }
  if (factor === 1) return tf7.clone(x);
  if (options.method === "nearest") {
    return tf7.tidy(() => repeatAxis(repeatAxis(x, 1, factor), 2, factor));
  }
  const weights = phaseWeights(factor, options.method ?? "bicubic", options.cubicA ?? -0.5);
  return tf7.tidy(() => upsampleAxis(upsampleAxis(x, 1, weights), 2, weights));
}
var Upsample = class extends tfl7.layers.Layer {
  /** The name this layer serializes under. */
  static className = "PerceptualUpsample";
  /** The upscale factor. */
  factor;
  /** The interpolation. */
  method;
  /** The bicubic coefficient. */
  cubicA;
  /** Build the layer. */
  constructor(args) {
    super(args);
    this.factor = args.factor;
    this.method = args.method ?? "bicubic";
    this.cubicA = args.cubicA ?? -0.5;
  }
  /** `[b, h, w, c]` → `[b, h·s, w·s, c]`. */
  computeOutputShape(inputShape) {
    const s = firstShape(inputShape);
    const times = (n) => n === null ? null : n * this.factor;
    return [
      s[0],
      times(s[1]),
      times(s[2]),
      s[3]
    ];
  }
  /** Upsample the input. */
  call(inputs, _kwargs) {
    const x = firstInput(inputs);
    return upsample(x, this.factor, {
      method: this.method,
      cubicA: this.cubicA
    });
  }
  /** Factor, method and coefficient, plus the base layer's fields. */
  getConfig() {
    return {
      ...super.getConfig(),
      factor: this.factor,
      method: this.method,
      cubicA: this.cubicA
    };
  }
};

// src/unet/size_check.ts
import * as tf8 from "@tensorflow/tfjs-core";
import * as tfl8 from "@tensorflow/tfjs-layers";

// src/errors/perceptual_error.ts
var PerceptualError = class extends Error {
  /** Build the error with a message that names the problem and its fix. */
  constructor(message, options) {
    super(message, options);
    this.name = new.target.name;
  }
};

// src/unet/errors.ts
var UNetInputSizeError = class extends PerceptualError {
  /** The input height that was given. */
  height;
  /** The input width that was given. */
  width;
  /** What both must be a multiple of: 2^depth. */
  divisor;
  /** Build the error from the offending size and the divisor. */
  constructor(height, width, divisor) {
    const up = (n) => Math.ceil(n / divisor) * divisor;
    const down = (n) => Math.max(divisor, Math.floor(n / divisor) * divisor);
    super(`U-Net input size ${height}\xD7${width} (height\xD7width) is not divisible by ${divisor}: the network halves the size ${Math.log2(divisor)} time(s) (depth ${Math.log2(divisor)}), so height and width must be multiples of ${divisor}; crop to ${down(height)}\xD7${down(width)} or pad to ${up(height)}\xD7${up(width)}, or build with a smaller depth`);
    this.height = height;
    this.width = width;
    this.divisor = divisor;
  }
};
var PredictImageInputError = class extends PerceptualError {
  /** Build the error from what is wrong with the image and its fix. */
  constructor(why) {
    super(`predictImage: ${why}`);
  }
};
var ModelDisposedError = class extends PerceptualError {
  /** The model's name. */
  model;
  /** Build the error: `where` names the function that was called. */
  constructor(where, model) {
    super(`${where}: the model '${model}' was already disposed; its weights are freed, so it cannot run: dispose it only after its last use, or load it again (loadModel)`);
    this.model = model;
  }
};

// src/unet/size_check.ts
function checkInputSize(height, width, divisor) {
  if (height % divisor !== 0 || width % divisor !== 0 || height === 0 || width === 0) {
    throw new UNetInputSizeError(height, width, divisor);
  }
}
var SizeCheck = class extends tfl8.layers.Layer {
  /** The name this layer serializes under. */
  static className = "PerceptualSizeCheck";
  /** What height and width must be multiples of. */
  divisor;
  /** Build the layer. */
  constructor(args) {
    super(args);
    this.divisor = args.divisor;
  }
  /** Same shape; a known size is checked already here. */
  computeOutputShape(inputShape) {
    const s = firstShape(inputShape);
    const [, h, w] = s;
    if (h !== null && h !== void 0 && w !== null && w !== void 0) {
      checkInputSize(h, w, this.divisor);
    }
    return s;
  }
  /** Check, then pass the input through (as a new tensor handle, so ownership stays simple). */
  call(inputs, _kwargs) {
    const x = firstInput(inputs);
    checkInputSize(x.shape[1], x.shape[2], this.divisor);
    return tf8.clone(x);
  }
  /** The divisor, plus the base layer's fields. */
  getConfig() {
    return {
      ...super.getConfig(),
      divisor: this.divisor
    };
  }
};

// src/unet/register.ts
var CUSTOM_CLASS_NAMES = [
  PixelShuffle.className,
  Upsample.className,
  OutputMap.className,
  SizeCheck.className,
  MaxPool2x2.className,
  ICNR.className,
  ChromaToRgb.className,
  InstanceNorm.className
];
function registerLayers() {
  tf9.serialization.registerClass(PixelShuffle);
  tf9.serialization.registerClass(Upsample);
  tf9.serialization.registerClass(OutputMap);
  tf9.serialization.registerClass(SizeCheck);
  tf9.serialization.registerClass(MaxPool2x2);
  tf9.serialization.registerClass(ICNR);
  tf9.serialization.registerClass(ChromaToRgb);
  tf9.serialization.registerClass(InstanceNorm);
}

// src/unet/tfjs_copy_error.ts
var TfjsCopyError = class extends PerceptualError {
  /** Build the error; `what` names the part of `tf` that differs. */
  constructor(what) {
    super(`registerLayers(tf) was given a TensorFlow.js copy whose ${what} is not the one this library's layers are bound to, so a model loaded with it would fail with "Unknown layer". There must be ONE tfjs in the page: with a bundler, install @tensorflow/tfjs-core and @tensorflow/tfjs-layers 4.22.0 once and let the bundler dedupe them (do not bundle a second copy); without one, map both names in the import map to the page's tfjs (see examples/web/index.html and tfjs_global.js).`);
  }
};

// src/unet/predict_image.ts
import * as tf10 from "@tensorflow/tfjs-core";

// src/unet/_receptive_field.ts
var GLOBAL = /* @__PURE__ */ new Set([
  "PerceptualInstanceNorm"
]);
var POINTWISE = /* @__PURE__ */ new Set([
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
  "PerceptualChromaToRgb"
]);
function pair(v, fallback) {
  if (Array.isArray(v)) return Math.max(...v.map(Number));
  return typeof v === "number" ? v : fallback;
}
function channelsOf(shape) {
  const first = Array.isArray(shape?.[0]) ? shape[0] : shape;
  const c = first?.[first.length - 1];
  return typeof c === "number" ? c : 1;
}
function unknownLayer(layer) {
  return new TypeError(`predictImage cannot bound how far layer '${layer.name}' (${layer.getClassName()}) sees, so it cannot pick an exact tile overlap; pass { overlap } (input pixels) and { multiple } explicitly, or { tileSize: Infinity } to predict the image in one piece`);
}
function modelGeometry(model) {
  const reach = /* @__PURE__ */ new Map();
  let multiple = 1;
  let radius = 0;
  let elementsPerPixel = 0;
  let global = false;
  for (const layer of model.layers) {
    const inbound = layer.inboundNodes[0]?.inboundLayers ?? [];
    const ins = inbound.map((l) => reach.get(l) ?? {
      stride: 1,
      radius: 0
    });
    const stride = ins.length === 0 ? 1 : Math.min(...ins.map((r) => r.stride));
    const seen = ins.length === 0 ? 0 : Math.max(...ins.map((r) => r.radius));
    const cls = layer.getClassName();
    const cfg = layer.getConfig();
    const inChannels = channelsOf(layer.inboundNodes[0]?.inputShapes);
    let out;
    let patch = 0;
    if (POINTWISE.has(cls)) {
      out = {
        stride,
        radius: seen
      };
    } else if (GLOBAL.has(cls)) {
      global = true;
      out = {
        stride,
        radius: seen
      };
    } else if (cls === "Conv2D" || cls === "DepthwiseConv2D" || cls === "SeparableConv2D") {
      const k = pair(cfg.kernelSize, 1);
      const d = pair(cfg.dilationRate, 1);
      const st = pair(cfg.strides, 1);
      out = {
        stride: stride * st,
        radius: seen + Math.ceil((k - 1) / 2) * d * stride
      };
      patch = k * k * inChannels / (stride * st) ** 2;
    } else if (cls === "Conv2DTranspose") {
      const k = pair(cfg.kernelSize, 1);
      const st = pair(cfg.strides, 1);
      out = {
        stride: stride / st,
        radius: seen + Math.ceil((k - 1) / st) * stride
      };
    } else if (cls === "PerceptualMaxPool2x2") {
      out = {
        stride: stride * 2,
        radius: seen + stride
      };
    } else if (cls === "MaxPooling2D" || cls === "AveragePooling2D") {
      const p = pair(cfg.poolSize, 2);
      const st = pair(cfg.strides, p);
      out = {
        stride: stride * st,
        radius: seen + (p - 1) * stride
      };
    } else if (cls === "PerceptualPixelShuffle") {
      out = {
        stride: stride / Number(cfg.factor),
        radius: seen
      };
    } else if (cls === "PerceptualUpsample" || cls === "UpSampling2D") {
      const f = cls === "UpSampling2D" ? pair(cfg.size, 2) : Number(cfg.factor);
      out = {
        stride: stride / f,
        radius: seen + 2 * stride
      };
    } else {
      throw unknownLayer(layer);
    }
    reach.set(layer, out);
    multiple = Math.max(multiple, out.stride);
    radius = Math.max(radius, out.radius);
    const outElements = channelsOf(layer.outputShape) / out.stride ** 2;
    elementsPerPixel = Math.max(elementsPerPixel, outElements, patch);
  }
  return {
    radius: Math.ceil(radius),
    multiple: Math.round(multiple),
    elementsPerPixel,
    global
  };
}

// src/errors/empty_input_error.ts
var EmptyInputError = class extends PerceptualError {
  /** The shape that was empty. */
  shape;
  /** Build the error: `where` names the function and the argument. */
  constructor(where, shape) {
    const what = shape.length === 1 ? "no images" : shape.length === 4 && shape[0] === 0 ? "a batch of 0 images" : "an image without pixels";
    super(`${where} is empty (shape [${shape.join(",")}]: ${what}); pass at least one image of at least 1\xD71 pixels with 1 or more channels (an empty folder, a crop of 0, or a filter that dropped every image upstream?)`);
    this.shape = [
      ...shape
    ];
  }
};
function checkNotEmpty(where, shape) {
  if (shape.some((d) => d === 0)) throw new EmptyInputError(where, shape);
}

// src/unet/_tile_budget.ts
var budget;
function tileBudget() {
  return budget?.();
}

// src/unet/predict_image.ts
var DEFAULT_MAX_ELEMENTS = 2 ** 25;
function defaultMaxElements() {
  return tileBudget() ?? DEFAULT_MAX_ELEMENTS;
}
function positiveInteger(name, v) {
  if (!Number.isInteger(v) || v < 1) {
    throw new RangeError(`predictImage: ${name} must be a positive integer, got ${v}`);
  }
  return v;
}
function sizeCheckDivisor(model) {
  let d = 1;
  for (const layer of model.layers) {
    if (layer.getClassName() === "PerceptualSizeCheck") {
      d = Math.max(d, Number(layer.getConfig().divisor));
    }
  }
  return d;
}
function replicatePad(x, padH, padW) {
  return tf10.tidy(() => {
    let y = x;
    if (padH > 0) {
      const [b, h, w, c] = y.shape;
      const last = tf10.slice(y, [
        0,
        h - 1,
        0,
        0
      ], [
        b,
        1,
        w,
        c
      ]);
      y = tf10.concat([
        y,
        tf10.broadcastTo(last, [
          b,
          padH,
          w,
          c
        ])
      ], 1);
    }
    if (padW > 0) {
      const [b, h, w, c] = y.shape;
      const last = tf10.slice(y, [
        0,
        0,
        w - 1,
        0
      ], [
        b,
        h,
        1,
        c
      ]);
      y = tf10.concat([
        y,
        tf10.broadcastTo(last, [
          b,
          h,
          padW,
          c
        ])
      ], 2);
    }
    return y === x ? tf10.clone(x) : y;
  });
}
function spans(length, tile2, margin) {
  if (length <= tile2) return [
    {
      core: 0,
      size: length,
      from: 0,
      to: length
    }
  ];
  const step = tile2 - 2 * margin;
  const out = [];
  for (let core = 0; core < length; core += step) {
    const size = Math.min(step, length - core);
    out.push({
      core,
      size,
      from: Math.max(0, core - margin),
      to: Math.min(length, core + size + margin)
    });
  }
  return out;
}
function predict4d(model, x) {
  const y = model.predict(x);
  if (Array.isArray(y) || y.rank !== 4) {
    tf10.dispose(y);
    throw new TypeError("predictImage needs a model with one image output [batch, height, width, channels]");
  }
  return y;
}
function scaleOf(input, output, multiple) {
  const r = output.shape[1] / input.shape[1];
  if (output.shape[2] / input.shape[2] !== r || !Number.isInteger(r * multiple)) {
    throw new TypeError(`predictImage: the model maps ${input.shape[1]}\xD7${input.shape[2]} to ${output.shape[1]}\xD7${output.shape[2]}; it needs one integer scale on both axes`);
  }
  return r;
}
function describe(u) {
  if (u === null || u === void 0) return String(u);
  if (ArrayBuffer.isView(u)) {
    return `a ${u.constructor.name} of ${u.length} values`;
  }
  if (Array.isArray(u)) return `an array of ${u.length} values`;
  return typeof u === "object" ? `an object (${u.constructor?.name ?? "Object"})` : typeof u;
}
function checkImage(model, image) {
  const refCount = (l) => l._refCount;
  if (refCount(model) === 0 || model.layers.some((l) => refCount(l) === 0)) {
    throw new ModelDisposedError("predictImage", model.name);
  }
  const t = image;
  if (typeof t?.rank !== "number" || !Array.isArray(t.shape)) {
    throw new PredictImageInputError(`the image must be a Tensor3D [height, width, channels] or a Tensor4D, got ${describe(image)}; make one with tensor3d(data, [height, width, channels]) from tfjs`);
  }
  if (t.isDisposed === true) {
    throw new PredictImageInputError(`the image tensor [${image.shape.join(",")}] was already disposed; keep it until predictImage returns (dispose it after, or pass a tf.clone of it)`);
  }
  checkNotEmpty("predictImage: image", image.shape);
  const wanted = model.inputs.length === 1 ? model.inputs[0].shape.at(-1) : void 0;
  const got = image.shape.at(-1);
  if ((image.rank === 3 || image.rank === 4) && typeof wanted === "number" && got !== wanted) {
    const fix = got === 1 && wanted === 3 ? "for a grey image, repeat it: tf.tile(image, [1, 1, 3]) (rank 4: [1, 1, 1, 3])" : wanted === 1 && got >= 3 ? "convert it to grey first (toGrayscale from the data module)" : `give it ${wanted} channels`;
    throw new PredictImageInputError(`the image has ${got} channel${got === 1 ? "" : "s"} but the model takes ${wanted} (its input is [${model.inputs[0].shape.map((d) => d ?? "null").join(",")}]); ${fix}`);
  }
}
function predictImage(model, image, options = {}) {
  checkImage(model, image);
  if (image.rank !== 3 && image.rank !== 4) {
    throw new RangeError(`predictImage takes [height, width, channels] or [batch, height, width, channels]; got shape [${image.shape.join(", ")}]`);
  }
  const { multiple, margin, tile: tile2 } = tilingOf(model, options);
  const roundUp = (n) => Math.ceil(n / multiple) * multiple;
  const batched = image.rank === 3 ? tf10.expandDims(image, 0) : image;
  const [, h, w] = batched.shape;
  const padded = replicatePad(batched, roundUp(h) - h, roundUp(w) - w);
  if (batched !== image) batched.dispose();
  try {
    return predictTiles(model, padded, {
      multiple,
      margin,
      tile: tile2
    }, [
      h,
      w
    ], image.rank);
  } finally {
    padded.dispose();
  }
}
function tilingOf(model, options) {
  const tileOption = options.tileSize ?? NaN;
  if (options.tileSize !== void 0 && tileOption !== Infinity) {
    positiveInteger("tileSize", tileOption);
  }
  if (options.overlap !== void 0 && options.overlap !== 0) {
    positiveInteger("overlap", options.overlap);
  }
  if (options.multiple !== void 0) positiveInteger("multiple", options.multiple);
  const maxElements = options.maxElements ?? defaultMaxElements();
  if (!(maxElements > 0)) {
    throw new RangeError(`predictImage: maxElements must be positive, got ${maxElements}`);
  }
  const needsGeometry = options.multiple === void 0 || tileOption !== Infinity && (options.overlap === void 0 || options.tileSize === void 0);
  const geometry = needsGeometry ? modelGeometry(model) : void 0;
  if (geometry?.global && options.tileSize !== void 0 && tileOption !== Infinity && options.overlap === void 0) {
    throw new RangeError(`predictImage: this model normalises with per-image statistics (instance norm), so tiles of ${options.tileSize} pixels would each be normalised differently and no overlap makes them match the whole image; leave tileSize out to predict in one piece, or pass { overlap } as well to accept approximate tiles`);
  }
  const whole = tileOption === Infinity || geometry?.global === true && options.tileSize === void 0;
  const multiple = options.multiple ?? Math.max(geometry.multiple, sizeCheckDivisor(model));
  const roundUp = (n) => Math.ceil(n / multiple) * multiple;
  const margin = whole ? 0 : roundUp(options.overlap ?? geometry.radius);
  const budgetSide = geometry === void 0 ? 0 : Math.floor(Math.sqrt(maxElements / geometry.elementsPerPixel) / multiple) * multiple;
  const tile2 = whole ? Infinity : options.tileSize === void 0 ? Math.max(budgetSide, roundUp(4 * margin), multiple) : Math.floor(tileOption / multiple) * multiple;
  if (tile2 !== Infinity && tile2 - 2 * margin < multiple) {
    throw new RangeError(`predictImage: tileSize ${options.tileSize ?? tile2} leaves no room inside an overlap of ${margin} pixels on each side (tiles start at multiples of ${multiple}); use a tileSize of at least ${2 * margin + multiple} or a smaller overlap`);
  }
  return {
    multiple,
    margin,
    tile: tile2
  };
}
function predictTiles(model, padded, { multiple, margin, tile: tile2 }, [h, w], rank) {
  const pieces = [];
  let scale = 0;
  try {
    for (const row of spans(padded.shape[1], tile2, margin)) {
      const line = [];
      pieces.push(line);
      for (const col of spans(padded.shape[2], tile2, margin)) {
        line.push(tf10.tidy(() => {
          const input = tf10.slice(padded, [
            0,
            row.from,
            col.from,
            0
          ], [
            -1,
            row.to - row.from,
            col.to - col.from,
            -1
          ]);
          const out = predict4d(model, input);
          if (scale === 0) scale = scaleOf(input, out, multiple);
          const keepH = Math.min(row.core + row.size, h) - row.core;
          const keepW = Math.min(col.core + col.size, w) - col.core;
          return tf10.slice(out, [
            0,
            (row.core - row.from) * scale,
            (col.core - col.from) * scale,
            0
          ], [
            -1,
            Math.max(0, keepH) * scale,
            Math.max(0, keepW) * scale,
            -1
          ]);
        }));
      }
    }
    return tf10.tidy(() => {
      const rows = pieces.map((line) => line.length === 1 ? line[0] : tf10.concat(line, 2));
      const whole = rows.length === 1 ? tf10.clone(rows[0]) : tf10.concat(rows, 1);
      return rank === 3 ? tf10.squeeze(whole, [
        0
      ]) : whole;
    });
  } finally {
    for (const line of pieces) tf10.dispose(line);
  }
}

// src/browser.ts
function registerLayers2(tf11) {
  const registerClass = tf11?.serialization?.registerClass;
  if (typeof registerClass !== "function") {
    throw new TypeError(`registerLayers(tf) needs the page's TensorFlow.js namespace (with tf.serialization); got ${tf11 === null ? "null" : typeof tf11}`);
  }
  if (registerClass !== tfc.serialization.registerClass) throw new TfjsCopyError("serialization");
  if (tf11.layers?.Layer !== void 0 && tf11.layers.Layer !== tfl9.layers.Layer) {
    throw new TfjsCopyError("layers.Layer");
  }
  registerLayers();
}
export {
  CUSTOM_CLASS_NAMES,
  ChromaToRgb,
  DEFAULT_MAX_ELEMENTS,
  EmptyInputError,
  ICNR,
  InstanceNorm,
  MaxPool2x2,
  ModelDisposedError,
  OutputMap,
  PerceptualError,
  PixelShuffle,
  PredictImageInputError,
  SizeCheck,
  TfjsCopyError,
  UNetInputSizeError,
  Upsample,
  chromaToRgb,
  predictImage,
  registerLayers2 as registerLayers
};

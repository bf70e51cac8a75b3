/**
 * The config checks of a model.json's layers: this library's custom layers (a `divisor` of -7
 * used to load and fail only at predict time) and the sizes of stock layers (a `filters` of 1e9
 * failed inside tfjs with "Array buffer allocation failed"), and nested classes (initializers,
 * constraints, regularizers) that must be registered. Keys are as saved (snake_case). Internal.
 *
 * @module
 */
import { isObject, isPositiveInt, type Json, MAX_SIZE, show, sizes } from "./_model_json_values.ts";

/** Why a layer's config is out of range, or undefined. Keys are as saved (snake_case). */
export function configProblem(cls: string, c: Json): string | undefined {
  const positiveInt = (key: string, max = MAX_SIZE) =>
    isPositiveInt(c[key]) && (c[key] as number) <= max
      ? undefined
      : `${key} is ${show(c[key])}; it must be an integer from 1 to ${max}`;
  const optionalSizes = (...keys: string[]) => {
    for (const k of keys) {
      if (c[k] != null && sizes(c[k]) === undefined) {
        return `${k} is ${
          show(c[k])
        }; it must be a positive integer (or a list of them) up to ${MAX_SIZE}`;
      }
    }
    return undefined;
  };
  switch (cls) {
    case "PerceptualSizeCheck": {
      const d = c.divisor;
      return isPositiveInt(d) && d <= 1 << 12 && (d & (d - 1)) === 0
        ? undefined
        : `divisor is ${show(d)}; it must be a power of two from 1 to 4096 (2^depth)`;
    }
    case "PerceptualPixelShuffle":
      return positiveInt("factor", 64);
    case "PerceptualUpsample":
      return positiveInt("factor", 64) ??
        // "nearest": the resizeConv upsampling (nearest ×2 then a 3×3 conv).
        (c.method === undefined || ["nearest", "bilinear", "bicubic"].includes(c.method as string)
          ? undefined
          : `method is ${show(c.method)}; it must be "nearest", "bilinear" or "bicubic"`) ??
        (c.cubic_a === undefined || Number.isFinite(c.cubic_a)
          ? undefined
          : `cubic_a is ${show(c.cubic_a)}; it must be a finite number (-0.5 as MATLAB)`);
    case "PerceptualOutputMap": {
      const r = c.range;
      if (
        r != null &&
        !(Array.isArray(r) && r.length === 2 && r.every(Number.isFinite) && r[0] < r[1])
      ) {
        return `range is ${show(r)}; it must be null or [low, high] with low < high`;
      }
      return typeof c.residual === "boolean"
        ? undefined
        : `residual is ${show(c.residual)}; it must be true or false`;
    }
    case "PerceptualInstanceNorm":
      return c.epsilon === undefined || (Number.isFinite(c.epsilon) && (c.epsilon as number) > 0)
        ? undefined
        : `epsilon is ${show(c.epsilon)}; it must be a finite number > 0`;
    case "PerceptualChromaToRgb":
      return c.luma_relative === undefined || typeof c.luma_relative === "boolean"
        ? undefined
        : `luma_relative is ${show(c.luma_relative)}; it must be true or false`;
    case "Conv2D":
    case "Conv2DTranspose":
    case "SeparableConv2D":
      return positiveInt("filters") ??
        optionalSizes("kernel_size", "strides", "dilation_rate");
    case "DepthwiseConv2D":
      return optionalSizes("kernel_size", "strides", "dilation_rate", "depth_multiplier");
    case "Dense":
      return positiveInt("units");
    case "UpSampling2D":
    case "MaxPooling2D":
    case "AveragePooling2D":
      return optionalSizes("size", "pool_size", "strides");
    default:
      return undefined;
  }
}

/** Classes nested in a config (initializers, constraints, regularizers) must be known too. */
export function nestedClassProblem(u: unknown, known: Set<string>, depth = 0): string | undefined {
  if (depth > 8 || u === null || typeof u !== "object") return undefined;
  if (isObject(u) && typeof u.class_name === "string" && depth > 0 && !known.has(u.class_name)) {
    return `uses the unknown class ${show(u.class_name)} (an initializer, constraint or ` +
      "regularizer); register it before loading";
  }
  for (const v of Object.values(u)) {
    const p = nestedClassProblem(v, known, depth + 1);
    if (p !== undefined) return p;
  }
  return undefined;
}

/**
 * The built-in term kinds, one file each, written with the public `defineTermKind`. Importing
 * this module registers them.
 *
 * @module
 */
export { feature, featureKind } from "./feature.ts";
export { style, styleKind } from "./style.ts";
export { pixel, pixelKind } from "./pixel.ts";
export { totalVariation, tvKind } from "./tv.ts";
export { colourDistribution, colourKind, type ColourTerm } from "./colour.ts";

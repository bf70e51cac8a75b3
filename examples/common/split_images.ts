/** The style example's photo split, now in the library (this file goes once style imports it). @module */
export { heldOutCrops, type SplitImage, splitPixels } from "../../src/data/mod.ts";

/** The style example's image helpers, now in the library (this file goes once style imports them). @module */
export { centreCrop, resizeShorterSide } from "../../src/data/mod.ts";
export { readResized, WHOLE_PHOTO_MAX_ELEMENTS } from "../../src/experiment/mod.ts";

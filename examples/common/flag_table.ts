/** The command-line layer now lives in the library: re-exported for the style example. @module */
export * from "../../src/experiment/mod.ts";

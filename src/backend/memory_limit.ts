/**
 * How many bytes of tensors the active backend can hold, so that a training step too large for
 * it is refused before it runs (see `StepMemoryError` in `./train`), and a limit that tests and
 * users can set lower.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { backendMemoryLimit, initBackend, setMemoryLimit } from "@perceptual/loss/backend";
 * await initBackend("cpu");
 * setMemoryLimit(256 * 2 ** 20);
 * assert.equal(backendMemoryLimit().bytes, 268435456);
 * setMemoryLimit(undefined);
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { readEnv } from "../_internal/env.ts";

/** The most a wasm32 heap can grow to: 4 GiB, the wasm and native backends' ceiling today. */
export const WASM32_HEAP_BYTES: number = 2 ** 32;

/** The environment variable that sets {@linkcode setMemoryLimit}'s limit: bytes, or `3GiB`, `512MiB`. */
export const MEMORY_LIMIT_ENV_VAR: string = "PERCEPTUAL_MEMORY_LIMIT";

/** What the active backend can hold, and where that figure comes from. */
export interface MemoryLimit {
  /** Bytes of tensors the backend can hold at most; `undefined` when no ceiling is known. */
  readonly bytes: number | undefined;
  /** Where the figure comes from, for messages: `wasm32 heap (4 GiB)`, `set by setMemoryLimit`. */
  readonly source: string;
  /** The backend's name. */
  readonly backend: string;
}

let override: number | undefined;

/**
 * Set a lower limit than the backend's own (for tests, or to keep room for other work), or
 * `undefined` to use the backend's again.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { backendMemoryLimit, initBackend, setMemoryLimit } from "@perceptual/loss/backend";
 * await initBackend("cpu");
 * setMemoryLimit(2 ** 30); // act as if the backend held 1 GiB
 * assert.equal(backendMemoryLimit().bytes, 2 ** 30);
 * setMemoryLimit(undefined);
 * ```
 */
export function setMemoryLimit(bytes: number | undefined): void {
  if (bytes !== undefined && !(Number.isFinite(bytes) && bytes > 0)) {
    throw new RangeError(`setMemoryLimit: ${bytes} is not a positive number of bytes`);
  }
  override = bytes;
}

const UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
};

/**
 * `"3GiB"`, `"512MiB"`, `"1e9"` as bytes; `undefined` for text that is none of these.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseBytes } from "@perceptual/loss/backend";
 * assert.equal(parseBytes("1.5GiB"), 1610612736);
 * assert.equal(parseBytes("x"), undefined);
 * ```
 */
export function parseBytes(text: string): number | undefined {
  const m = /^\s*([0-9.e+]+)\s*([a-z]*)\s*$/i.exec(text);
  if (m === null) return undefined;
  const unit = UNITS[m[2]!.toLowerCase()];
  const n = Number(m[1]);
  if (unit === undefined || !Number.isFinite(n) || n <= 0) return undefined;
  return Math.floor(n * unit);
}

/**
 * `n` bytes as text: `1.50 GiB`, `12.0 MiB`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatBytes } from "@perceptual/loss/backend";
 * assert.equal(formatBytes(3 * 2 ** 29), "1.50 GiB");
 * ```
 */
export function formatBytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  return `${(n / 2 ** 10).toFixed(1)} KiB`;
}

/**
 * The limit in force: {@linkcode setMemoryLimit}'s, else `PERCEPTUAL_MEMORY_LIMIT`'s, else the
 * backend's own (4 GiB for `wasm` and `native`, whose tensors live in one wasm32 heap; the
 * machine's physical memory for `native-host`, whose tensors are host arrays; none known for
 * `cpu`, `webgpu` and `tensorflow`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { backendMemoryLimit, initBackend } from "@perceptual/loss/backend";
 * await initBackend("wasm");
 * assert.equal(backendMemoryLimit().bytes, 4294967296);
 * ```
 */
export function backendMemoryLimit(): MemoryLimit {
  const backend = tf.getBackend() ?? "none";
  if (override !== undefined) {
    return { bytes: override, source: "the limit set by setMemoryLimit", backend };
  }
  const fromEnv = readEnv(MEMORY_LIMIT_ENV_VAR);
  if (fromEnv !== undefined) {
    const bytes = parseBytes(fromEnv);
    if (bytes === undefined) {
      throw new RangeError(
        `${MEMORY_LIMIT_ENV_VAR}='${fromEnv}' is not a size; write bytes or e.g. 3GiB, 512MiB`,
      );
    }
    return { bytes, source: `${MEMORY_LIMIT_ENV_VAR}=${fromEnv}`, backend };
  }
  if (backend === "wasm" || backend === "native") {
    return { bytes: WASM32_HEAP_BYTES, source: `the ${backend} backend's wasm32 heap`, backend };
  }
  if (backend === "native-host") {
    // Tensors are host arrays: the ceiling is the machine's memory (shared with everything else).
    return { bytes: hostMemoryBytes(), source: "the machine's physical memory", backend };
  }
  return { bytes: undefined, source: `no known ceiling on ${backend}`, backend };
}

/** Physical memory (`Deno.systemMemoryInfo().total`); undefined where it cannot be read. */
function hostMemoryBytes(): number | undefined {
  try {
    return Deno.systemMemoryInfo().total;
  } catch {
    return undefined;
  }
}

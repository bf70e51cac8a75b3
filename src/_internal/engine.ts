/**
 * Every use of TensorFlow.js engine internals (fields and methods outside its public API) in one
 * place, behind a version check made once. The library relies on three: the tape's
 * `state.kernelDepth` (tape-free target passes), `trackTensor` (scopes that leak nothing when
 * they throw) and the backend `registry` (started backends, without starting one).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { PerceptualError } from "../errors/perceptual_error.ts";

/** The tfjs-core major.minor these internals were read from. */
export const SUPPORTED_TFJS = "4.22";

/**
 * tfjs-core is a version whose engine internals this library was not checked against.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { UnsupportedTfjsError } from "./engine.ts";
 * assert.match(new UnsupportedTfjsError("5.0.0").message, /5\.0\.0/);
 * ```
 */
export class UnsupportedTfjsError extends PerceptualError {
  /** Build the error for the version found. */
  constructor(found: string) {
    super(
      `@tensorflow/tfjs-core ${found} is loaded, but this library uses engine internals checked ` +
        `against ${SUPPORTED_TFJS}.x; pin "@tensorflow/tfjs-core" to ${SUPPORTED_TFJS} in your ` +
        "import map (deno.json imports) or package.json",
    );
  }
}

interface Internals {
  readonly state?: { kernelDepth?: unknown };
  trackTensor(tensor: tf.Tensor, backend: unknown): void;
  readonly registry: Record<string, unknown>;
}

let checked = false;

function internals(): Internals {
  if (!checked) {
    const v = tf.version_core;
    if (!v.startsWith(`${SUPPORTED_TFJS}.`)) throw new UnsupportedTfjsError(v);
    checked = true;
  }
  return tf.engine() as unknown as Internals;
}

/**
 * The engine's tape state: an op is recorded only while `kernelDepth` is 0; `undefined` if the
 * field is missing (then callers run recorded: results stay right, only memory is lost).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tapeState } from "./engine.ts";
 * assert.equal(typeof tapeState()?.kernelDepth, "number");
 * ```
 */
export function tapeState(): { kernelDepth: number } | undefined {
  const state = internals().state;
  return state !== undefined && typeof state.kernelDepth === "number"
    ? state as { kernelDepth: number }
    : undefined;
}

/**
 * Call `listener` for every tensor the engine creates until the returned function is called
 * (which restores the engine). Listeners nest.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/mod.ts";
 * import { onTensorCreated } from "./engine.ts";
 * await initBackend("cpu");
 * let n = 0;
 * const stop = onTensorCreated(() => n++);
 * tf.dispose(tf.scalar(1));
 * stop();
 * assert.equal(n, 1);
 * ```
 */
export function onTensorCreated(listener: (t: tf.Tensor) => void): () => void {
  const engine = internals();
  const track = engine.trackTensor;
  engine.trackTensor = function (tensor: tf.Tensor, backend: unknown): void {
    listener(tensor);
    track.call(this, tensor, backend);
  };
  return () => {
    engine.trackTensor = track;
  };
}

/**
 * The backend object registered as `name` if it has started, without starting it (as
 * `tf.findBackend` would).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { startedBackend } from "./engine.ts";
 * assert.equal(startedBackend("no-such-backend"), undefined);
 * ```
 */
export function startedBackend(name: string): unknown {
  return internals().registry[name];
}

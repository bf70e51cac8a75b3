/**
 * Owners of long-lived tensors: weights, cached targets, optimizer slots.
 *
 * @module
 */
import { PerceptualError } from "../errors/perceptual_error.ts";
import * as tf from "@tensorflow/tfjs-core";

/**
 * Something that holds tensors and releases them on `dispose()`; works with `using`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { Owner } from "@perceptual/loss/lifetime";
 * function release(o: Owner): void {
 *   o.dispose();
 * }
 * let released = 0;
 * release({ dispose: () => void released++, [Symbol.dispose]: () => void released++ });
 * assert.equal(released, 1);
 * ```
 */
export interface Owner extends Disposable {
  /** Release every tensor held. Calling it twice is harmless. */
  dispose(): void;
}

/**
 * Thrown when a disposed owner's tensors are used.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DisposedError } from "@perceptual/loss/lifetime";
 * assert.match(new DisposedError("target features").message, /target features/);
 * ```
 */
export class DisposedError extends PerceptualError {
  /** Build the error naming what was used after disposal. */
  constructor(what: string) {
    super(`${what} was already disposed; create a new one instead of reusing it`);
  }
}

/**
 * Holds a container of tensors (a tensor, an array, a record) and disposes all of it once.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { TensorOwner } from "@perceptual/loss/lifetime";
 * await initBackend("cpu");
 * {
 *   using cached = new TensorOwner({ gram: tf.eye(3) }, "gram cache");
 *   assert.deepEqual(cached.value.gram.shape, [3, 3]);
 * } // disposed here
 * ```
 */
export class TensorOwner<T extends tf.TensorContainer> implements Owner {
  #value: T;
  #disposed = false;
  /** What the tensors are, for error messages. */
  readonly label: string;

  /** Take ownership of `value`; `label` names it in errors. */
  constructor(value: T, label = "tensors") {
    this.#value = value;
    this.label = label;
  }

  /** The owned tensors; throws {@linkcode DisposedError} once disposed. */
  get value(): T {
    if (this.#disposed) throw new DisposedError(this.label);
    return this.#value;
  }

  /** Whether `dispose()` has run. */
  get disposed(): boolean {
    return this.#disposed;
  }

  /** Dispose every owned tensor. Idempotent. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    tf.dispose(this.#value);
  }

  /** Same as {@linkcode TensorOwner.dispose}, for `using`. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}

/**
 * Take ownership of a container of tensors.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { own } from "@perceptual/loss/lifetime";
 * await initBackend("cpu");
 * using w = own([tf.ones([2]), tf.zeros([2])], "weights");
 * assert.equal(w.value.length, 2);
 * ```
 */
export function own<T extends tf.TensorContainer>(value: T, label?: string): TensorOwner<T> {
  return new TensorOwner(value, label);
}

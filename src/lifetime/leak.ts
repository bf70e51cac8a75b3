/**
 * Leak detection for tests and training loops.
 *
 * @module
 */
import { PerceptualError } from "../errors/perceptual_error.ts";
import * as tf from "@tensorflow/tfjs-core";

/**
 * Live tensors and bytes, as TensorFlow.js counts them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { memorySnapshot, type MemorySnapshot } from "@perceptual/loss/lifetime";
 * await initBackend("cpu");
 * const before: MemorySnapshot = memorySnapshot();
 * const x = tf.zeros([256]); // 256 float32 values
 * const after = memorySnapshot();
 * assert.equal(after.tensors - before.tensors, 1);
 * assert.equal(after.bytes - before.bytes, 1024);
 * x.dispose();
 * ```
 */
export interface MemorySnapshot {
  /** Live tensors, variables included. */
  readonly tensors: number;
  /** Bytes held by them. */
  readonly bytes: number;
}

/**
 * The live tensor count and bytes now.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { memorySnapshot } from "@perceptual/loss/lifetime";
 * await initBackend("cpu");
 * assert.ok(memorySnapshot().tensors >= 0);
 * ```
 */
export function memorySnapshot(): MemorySnapshot {
  const m = tf.memory();
  return { tensors: m.numTensors, bytes: m.numBytes };
}

/**
 * Thrown when code left tensors behind.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TensorLeakError } from "@perceptual/loss/lifetime";
 * assert.match(new TensorLeakError("step 3", 2, 64).message, /step 3/);
 * ```
 */
export class TensorLeakError extends PerceptualError {
  /** How many tensors were left behind. */
  readonly tensors: number;
  /** How many bytes they hold. */
  readonly bytes: number;
  /** Build the error; `where` names the step or function. */
  constructor(where: string, tensors: number, bytes: number) {
    super(
      `${where} left ${tensors} tensor(s) (${bytes} bytes) behind; dispose them, return them to ` +
        "the caller, or compute them inside scope()",
    );
    this.tensors = tensors;
    this.bytes = bytes;
  }
}

/**
 * Options of {@linkcode assertNoLeak}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { assertNoLeak, type AssertNoLeakOptions } from "@perceptual/loss/lifetime";
 * await initBackend("cpu");
 * let cache: tf.Tensor | undefined; // made on the first call, kept afterwards
 * const cached = () => tf.add(cache ??= tf.ones([2]), 1);
 * const options: AssertNoLeakOptions = { warmup: 1, label: "cached" }; // warm-up makes the cache
 * await assertNoLeak(cached, options); // without `warmup`: "cached left 1 tensor(s) (8 bytes) …"
 * assert.ok(cache !== undefined); // made during warm-up, so not counted
 * cache?.dispose();
 * ```
 */
export interface AssertNoLeakOptions {
  /** Runs of `fn` before counting, for lazy weight creation and caches (default 0). */
  readonly warmup?: number;
  /** Names `fn` in the error. */
  readonly label?: string;
}

function release(value: unknown): void {
  if (value instanceof tf.Tensor) {
    value.dispose();
  } else if (value !== null && typeof value === "object" && Symbol.dispose in value) {
    (value as Disposable)[Symbol.dispose]();
  } else if (value !== null && typeof value === "object") {
    tf.dispose(value as tf.TensorContainer);
  }
}

/**
 * Run `fn` (sync or async) and throw {@linkcode TensorLeakError} if the live tensor count grew.
 *
 * What `fn` returns is released first (tensors and tensor containers are disposed, `Disposable`s
 * are disposed), so `assertNoLeak(() => lossFn(pred, target))` checks the function, not its result.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { assertNoLeak } from "@perceptual/loss/lifetime";
 * await initBackend("cpu");
 * const x = tf.ones([4]);
 * await assertNoLeak(() => tf.tidy(() => tf.sum(tf.square(x))));
 * ```
 */
export async function assertNoLeak(
  fn: () => unknown,
  options: AssertNoLeakOptions = {},
): Promise<void> {
  for (let i = 0; i < (options.warmup ?? 0); i++) release(await fn());
  const before = memorySnapshot();
  release(await fn());
  const after = memorySnapshot();
  if (after.tensors > before.tensors) {
    throw new TensorLeakError(
      options.label ?? "the function",
      after.tensors - before.tensors,
      after.bytes - before.bytes,
    );
  }
}

/**
 * A per-step leak guard: see {@linkcode leakGuard}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { type LeakGuard, leakGuard } from "@perceptual/loss/lifetime";
 * await initBackend("cpu");
 * const guard: LeakGuard = leakGuard();
 * const slot = tf.zeros([4]); // made on step 1, like an optimizer slot: allowed
 * guard.check(1);
 * const stray = tf.ones([4]); // forgotten on step 2
 * assert.throws(() => guard.check(2), /step 2 left 1 tensor\(s\) \(16 bytes\) behind/);
 * tf.dispose([slot, stray]);
 * ```
 */
export interface LeakGuard {
  /** Call after step `step` (1-based) has finished; throws {@linkcode TensorLeakError} on growth. */
  check(step: number): void;
  /** The tensor count the guard holds steps to, once warm-up is over. */
  readonly baseline: MemorySnapshot | undefined;
}

/**
 * Options of {@linkcode leakGuard}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { leakGuard, type LeakGuardOptions } from "@perceptual/loss/lifetime";
 * await initBackend("cpu");
 * const options: LeakGuardOptions = { warmupSteps: 2 }; // this loop makes slots on steps 1 and 2
 * const guard = leakGuard(options);
 * const slots = [tf.zeros([2])];
 * guard.check(1);
 * slots.push(tf.zeros([2]));
 * guard.check(2); // still warm-up: no error
 * assert.ok(guard.baseline?.tensors === tf.memory().numTensors);
 * tf.dispose(slots);
 * ```
 */
export interface LeakGuardOptions {
  /** Steps allowed to create long-lived tensors (optimizer slots appear on step 1). Default 1. */
  readonly warmupSteps?: number;
}

/**
 * A guard for training loops: after the warm-up steps, the live tensor count must not grow.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { leakGuard } from "@perceptual/loss/lifetime";
 * await initBackend("cpu");
 * const guard = leakGuard();
 * for (let step = 1; step <= 3; step++) {
 *   tf.tidy(() => {
 *     tf.add(tf.ones([2]), 1);
 *   });
 *   assert.doesNotThrow(() => guard.check(step)); // tidy left nothing behind
 * }
 * ```
 */
export function leakGuard(options: LeakGuardOptions = {}): LeakGuard {
  const warmup = options.warmupSteps ?? 1;
  let baseline: MemorySnapshot | undefined;
  return {
    get baseline() {
      return baseline;
    },
    check(step: number): void {
      const now = memorySnapshot();
      if (step <= warmup || baseline === undefined) {
        baseline = now;
        return;
      }
      if (now.tensors > baseline.tensors) {
        throw new TensorLeakError(
          `step ${step}`,
          now.tensors - baseline.tensors,
          now.bytes - baseline.bytes,
        );
      }
    },
  };
}

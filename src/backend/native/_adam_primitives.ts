/**
 * tfjs's Adam update of one weight tensor as five oneDNN binary primitives with post-ops, over
 * plain 1-D runs of floats in the wasm heap. Internal to the native backend (./_adam.ts drives it).
 *
 * Each primitive repeats tfjs's own sequence of float32 operations (`mul`, `add`, `div`, `sqrt`
 * in the same order, every intermediate rounded to float32: oneDNN's binary post-ops are separate
 * AVX instructions, not fused multiply-adds), so the result is the stock optimizer's bit for bit
 * (tests/native_adam_test.ts compares with the cpu backend's):
 *
 * ```
 * scale        t  = m · β1                (the same primitive again: t = v · β2)
 * moment1      m' = g · (1−β1) + t
 * moment2      v' = (g · g) · (1−β2) + t
 * denominator  d  = sqrt(v' / (1−β2ᵗ)) + ε
 * update       w' = ((m' / (1−β1ᵗ)) / d) · (−lr) + w
 * ```
 *
 * The step's scalars (β1 changes under momentum cycling, the bias corrections every step) are
 * one-element tensors read at run time, so a primitive is built once per tensor size and never
 * again.
 *
 * @module
 */
import type { Dnnl } from "./_dnnl.ts";
import { HostBuffer, type Primitive } from "./_primitive.ts";
import { binaryPrimitive, elementwiseThreads, md1d } from "./_binary.ts";
import { record, tune } from "./_tune.ts";
import { withThreads } from "./_threads.ts";
import { NativeBackendError } from "./errors.ts";

/** Where the step's scalars sit in {@linkcode AdamScalars.values}. */
const SCALAR = { beta1: 0, oneMinusBeta1: 1, beta2: 2, oneMinusBeta2: 3 } as const;
const CORR1 = 4, CORR2 = 5, EPS = 6, NEG_LR = 7;

/** The step's float32 scalars, in a host buffer the primitives read at run time. */
export class AdamScalars {
  readonly #buf = new HostBuffer(64);
  /** The eight floats (β1, 1−β1, β2, 1−β2, 1−β1ᵗ, 1−β2ᵗ, ε, −lr). */
  readonly values: Float32Array = new Float32Array(
    Deno.UnsafePointerView.getArrayBuffer(this.#buf.p!, 32),
  );

  /** Set them as tfjs's Adam rounds them: each JS number to float32 once. */
  set(s: {
    beta1: number;
    beta2: number;
    accBeta1: number;
    accBeta2: number;
    epsilon: number;
    learningRate: number;
  }): void {
    const v = this.values;
    v[SCALAR.beta1] = s.beta1;
    v[SCALAR.oneMinusBeta1] = 1 - s.beta1;
    v[SCALAR.beta2] = s.beta2;
    v[SCALAR.oneMinusBeta2] = 1 - s.beta2;
    // tfjs: sub(1, accBeta) on float32 tensors (accBeta already float32).
    v[CORR1] = 1 - Math.fround(s.accBeta1);
    v[CORR2] = 1 - Math.fround(s.accBeta2);
    v[EPS] = s.epsilon;
    v[NEG_LR] = -s.learningRate;
  }

  /** The address of scalar `i`. */
  at(i: number): Deno.PointerValue {
    return Deno.UnsafePointer.offset(this.#buf.p as Deno.PointerObject, 4 * i);
  }
}

/** The five primitives of one tensor size. */
export interface AdamPlan {
  /** `dst = src · scalar` (the moments times β). */
  readonly scale: Primitive;
  /** `m' = g · (1−β1) + t`. */
  readonly moment1: Primitive;
  /** `v' = (g · g) · (1−β2) + t`. */
  readonly moment2: Primitive;
  /** `d = sqrt(v' / (1−β2ᵗ)) + ε`. */
  readonly denominator: Primitive;
  /** `w' = ((m' / (1−β1ᵗ)) / d) · (−lr) + w`. */
  readonly update: Primitive;
  /** Destroy the five primitives. */
  destroy(): void;
  /** Their implementations, for reports. */
  toString(): string;
}

function build(dnnl: Dnnl, n: number): AdamPlan | undefined {
  const N = md1d(dnnl, n), one = md1d(dnnl, 1);
  const made: Primitive[] = [];
  const add = (p: Primitive | undefined): Primitive | undefined => {
    if (p !== undefined) made.push(p);
    return p;
  };
  const scale = add(binaryPrimitive(dnnl, "mul", N, one, N));
  const moment1 = add(binaryPrimitive(dnnl, "mul", N, one, N, [{ alg: "add", md: N }]));
  const moment2 = add(
    binaryPrimitive(dnnl, "mul", N, N, N, [{ alg: "mul", md: one }, { alg: "add", md: N }]),
  );
  const denominator = add(
    binaryPrimitive(dnnl, "div", N, one, N, ["sqrt", { alg: "add", md: one }]),
  );
  const update = add(
    binaryPrimitive(dnnl, "div", N, one, N, [
      { alg: "div", md: N },
      { alg: "mul", md: one },
      { alg: "add", md: N },
    ]),
  );
  const destroy = () => made.forEach((p) => p.destroy());
  // A reference implementation (`ref:any`) would be slower than wasm's kernels: keep those.
  if (made.length < 5 || made.some((p) => p.impl.startsWith("ref"))) {
    destroy();
    return undefined;
  }
  return {
    scale: scale!,
    moment1: moment1!,
    moment2: moment2!,
    denominator: denominator!,
    update: update!,
    destroy,
    toString: () => [...new Set(made.map((p) => p.impl))].join("+"),
  };
}

/**
 * The plan for `n` floats, built (and its primitives checked) now: undefined where oneDNN has no
 * implementation, so the caller can fall back before touching any weight.
 */
export function adamPlan(dnnl: Dnnl, n: number): AdamPlan | undefined {
  const t = elementwiseThreads(dnnl, n);
  return withThreads(
    dnnl.omp,
    t,
    () => tune(`adam x[${n}] t${t}`, [() => build(dnnl, n)], () => {}),
  );
}

/** Where one tensor's update reads and writes (all runs of `n` floats). */
export interface AdamPointers {
  /** The weight. */
  readonly w: Deno.PointerValue;
  /** Its gradient. */
  readonly g: Deno.PointerValue;
  /** Adam's first moment. */
  readonly m: Deno.PointerValue;
  /** Adam's second moment. */
  readonly v: Deno.PointerValue;
  /** Where the new weight goes. */
  readonly wOut: Deno.PointerValue;
  /** Where the new first moment goes. */
  readonly mOut: Deno.PointerValue;
  /** Where the new second moment goes. */
  readonly vOut: Deno.PointerValue;
  /** Scratch of at least `n` floats. */
  readonly tmp: Deno.PointerValue;
}

/** Run tfjs's Adam update over `n` floats with the step's `scalars` (see the module doc). */
export function adamUpdate(dnnl: Dnnl, n: number, s: AdamScalars, p: AdamPointers): void {
  const t = elementwiseThreads(dnnl, n);
  const key = `adam x[${n}] t${t}`;
  withThreads(dnnl.omp, t, () => {
    const plan = tune(key, [() => build(dnnl, n)], () => {});
    if (plan === undefined) {
      throw new NativeBackendError(
        `no oneDNN Adam plan for ${n} floats (adamPlan must be asked first; a bug)`,
      );
    }
    record(key, () => {
      plan.scale.run([p.m, s.at(SCALAR.beta1), p.tmp]);
      plan.moment1.run([p.g, s.at(SCALAR.oneMinusBeta1), p.mOut, p.tmp]);
      plan.scale.run([p.v, s.at(SCALAR.beta2), p.tmp]);
      plan.moment2.run([p.g, p.g, p.vOut, s.at(SCALAR.oneMinusBeta2), p.tmp]);
      plan.denominator.run([p.vOut, s.at(CORR2), p.tmp, s.at(EPS)]);
      plan.update.run([p.mOut, s.at(CORR1), p.wOut, p.tmp, s.at(NEG_LR), p.w]);
    });
  });
}

/** A reusable scratch buffer of at least `floats` floats. */
export class Scratch {
  #buf: HostBuffer | undefined;
  /** Its start, grown to hold `floats` floats. */
  of(floats: number): Deno.PointerValue {
    if (this.#buf === undefined || this.#buf.size < 4 * floats) {
      this.#buf = new HostBuffer(4 * floats);
    }
    return this.#buf.p;
  }
}

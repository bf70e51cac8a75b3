/**
 * The oneDNN 2.x C API through `Deno.dlopen`: finding the system library, checking its version,
 * and the few calls the native kernels make. Internal to the native backend.
 *
 * Enum values and struct sizes below are those of `oneapi/dnnl/dnnl_types.h` in oneDNN 2.x
 * (checked against 2.6.3 with a C program printing them); they are stable across 2.x.
 *
 * @module
 */

import { DnnlCallError } from "./errors.ts";
import { loadOpenMp, type OpenMp } from "./_threads.ts";

/** oneDNN constants the kernels use (dnnl_types.h, oneDNN 2.x). */
export const DNNL = {
  success: 0,
  f32: 3,
  // Format tags.
  any: 1,
  a: 2,
  abc: 4,
  /** oihw for weights. */
  abcd: 5,
  acb: 17,
  nhwc: 20,
  hwio: 30,
  // Propagation kinds.
  forwardTraining: 64,
  forwardInference: 96,
  backwardData: 160,
  backwardWeights: 192,
  // Algorithms.
  convolutionDirect: 1,
  convolutionWinograd: 2,
  eltwiseRelu: 31,
  poolingMax: 511,
  // Execution argument ids.
  argSrc: 1,
  argDst: 17,
  argWeights: 33,
  argBias: 41,
  argWorkspace: 64,
  argDiffSrc: 129,
  argDiffDst: 145,
  argDiffWeights: 161,
  // Queries.
  queryImplInfoStr: 8,
  querySrcMd: 129,
  queryDiffSrcMd: 130,
  queryWeightsMd: 131,
  queryDiffWeightsMd: 132,
  queryDstMd: 133,
  queryDiffDstMd: 134,
  queryWorkspaceMd: 135,
  cpuEngine: 1,
  streamDefaultFlags: 1,
} as const;

/** Bytes of `dnnl_memory_desc_t` in 2.6.3 is 696; buffers are rounded up for safety across 2.x. */
export const MD_BYTES = 1024;
/** Bytes of the largest op descriptor used (`dnnl_convolution_desc_t`, 5976 in 2.6.3). */
export const OP_DESC_BYTES = 8192;

const P = "pointer" as const;
const B = "buffer" as const;
const I = "i32" as const;

const SYMBOLS = {
  dnnl_engine_create: { parameters: [B, I, "usize"], result: I },
  dnnl_stream_create: { parameters: [B, P, "u32"], result: I },
  dnnl_stream_wait: { parameters: [P], result: I },
  dnnl_memory_desc_init_by_tag: { parameters: [B, I, B, I, I], result: I },
  dnnl_memory_desc_init_by_strides: { parameters: [B, I, B, I, B], result: I },
  dnnl_memory_desc_equal: { parameters: [P, P], result: I },
  dnnl_memory_desc_get_size: { parameters: [P], result: "usize" },
  dnnl_convolution_forward_desc_init: {
    parameters: [B, I, I, P, P, P, P, B, B, B],
    result: I,
  },
  dnnl_convolution_backward_data_desc_init: {
    parameters: [B, I, P, P, P, B, B, B],
    result: I,
  },
  dnnl_convolution_backward_weights_desc_init: {
    parameters: [B, I, P, P, P, P, B, B, B],
    result: I,
  },
  dnnl_matmul_desc_init: { parameters: [B, P, P, P, P], result: I },
  dnnl_reduction_desc_init: { parameters: [B, I, P, P, "f32", "f32"], result: I },
  dnnl_pooling_v2_forward_desc_init: {
    parameters: [B, I, I, P, P, B, B, B, B, B],
    result: I,
  },
  dnnl_pooling_v2_backward_desc_init: {
    parameters: [B, I, P, P, B, B, B, B, B],
    result: I,
  },
  dnnl_primitive_desc_create: { parameters: [B, B, P, P, P], result: I },
  dnnl_primitive_desc_destroy: { parameters: [P], result: I },
  dnnl_primitive_desc_query_md: { parameters: [P, I, I], result: P },
  dnnl_primitive_desc_query: { parameters: [P, I, I, B], result: I },
  dnnl_reorder_primitive_desc_create: { parameters: [B, P, P, P, P, P], result: I },
  dnnl_primitive_create: { parameters: [B, P], result: I },
  dnnl_primitive_destroy: { parameters: [P], result: I },
  dnnl_primitive_execute: { parameters: [P, P, I, B], result: I },
  dnnl_memory_create: { parameters: [B, P, P, P], result: I },
  dnnl_memory_set_data_handle: { parameters: [P, P], result: I },
  dnnl_memory_destroy: { parameters: [P], result: I },
  dnnl_primitive_attr_create: { parameters: [B], result: I },
  dnnl_primitive_attr_destroy: { parameters: [P], result: I },
  dnnl_primitive_attr_set_post_ops: { parameters: [P, P], result: I },
  dnnl_post_ops_create: { parameters: [B], result: I },
  dnnl_post_ops_destroy: { parameters: [P], result: I },
  dnnl_post_ops_append_eltwise: { parameters: [P, "f32", I, "f32", "f32"], result: I },
} as const;

/** The bound oneDNN functions. */
export type DnnlSymbols = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/** A loaded oneDNN: its functions, a CPU engine and stream, and where it came from. */
export interface Dnnl {
  /** The bound C functions. */
  readonly fn: DnnlSymbols;
  /** The CPU engine every primitive is created on. */
  readonly engine: Deno.PointerValue;
  /** The in-order stream every primitive runs on. */
  readonly stream: Deno.PointerValue;
  /** e.g. `2.6.3`. */
  readonly version: string;
  /** The OpenMP runtime's thread controls, where found (see ./_threads.ts). */
  readonly omp: OpenMp | undefined;
  /** The file that was opened. */
  readonly path: string;
}

/** The environment variable naming the oneDNN library file to use instead of the system one. */
export const DNNL_ENV_VAR = "PERCEPTUAL_DNNL";

/** How to install oneDNN 2.x here, for skip messages. */
export function installHint(): string {
  return Deno.build.os === "darwin"
    ? "`brew install onednn` (a 2.x release)"
    : "`apt-get install libdnnl2` (Debian/Ubuntu)";
}

function candidates(): string[] {
  let override: string | undefined;
  try {
    override = Deno.env.get(DNNL_ENV_VAR);
  } catch {
    override = undefined;
  }
  if (override !== undefined && override.trim() !== "") return [override.trim()];
  switch (Deno.build.os) {
    case "darwin":
      return [
        "libdnnl.2.dylib",
        "/opt/homebrew/lib/libdnnl.2.dylib",
        "/usr/local/lib/libdnnl.2.dylib",
        "libdnnl.3.dylib",
        "/opt/homebrew/lib/libdnnl.3.dylib",
        "/usr/local/lib/libdnnl.3.dylib",
      ];
    case "windows":
      return ["dnnl.dll"];
    default:
      return ["libdnnl.so.2", "libdnnl.so.3", "libdnnl.so"];
  }
}

/** Throw {@linkcode DnnlCallError} unless `status` is success. */
export function check(call: string, status: number): void {
  if (status !== DNNL.success) throw new DnnlCallError(call, status);
}

const out64 = new BigUint64Array(1);

/** Run a `(dnnl_x_t *out, ...)` creator and return the created handle. */
export function create(call: string, f: (out: BigUint64Array) => number): Deno.PointerValue {
  out64[0] = 0n;
  check(call, f(out64));
  return Deno.UnsafePointer.create(out64[0]);
}

function readVersion(path: string): { version: string; major: number } {
  const lib = Deno.dlopen(path, { dnnl_version: { parameters: [], result: "pointer" } });
  try {
    const p = lib.symbols.dnnl_version();
    if (p === null) throw new Error("dnnl_version() returned NULL");
    const v = new Deno.UnsafePointerView(p);
    const [major, minor, patch] = [v.getInt32(0), v.getInt32(4), v.getInt32(8)];
    return { version: `${major}.${minor}.${patch}`, major };
  } finally {
    lib.close();
  }
}

let loaded: Dnnl | undefined;

/**
 * With libgomp's defaults a 1×8×8×8 conv took 8 ms (median) in about half the processes and
 * 0.02 ms in the others: unbound, the OpenMP worker often landed on the JS thread's core, and the
 * master then spun a whole scheduler tick at the barrier waiting for it. Binding the pool
 * (`OMP_PROC_BIND=true`: one thread per core, the JS thread being the master) gave 0.02–0.03 ms in
 * every run. libgomp reads its environment when it is loaded, so this runs before the first
 * dlopen; a user's own OMP_PROC_BIND / OMP_NUM_THREADS wins.
 */
function tuneOpenMp(): void {
  try {
    if (Deno.env.get("OMP_PROC_BIND") === undefined) Deno.env.set("OMP_PROC_BIND", "true");
  } catch {
    // Without --allow-env the default stays: correct, slower on small shapes.
  }
}

/**
 * Open oneDNN 2.x, create its CPU engine and stream. Memoised.
 *
 * @returns the library, or a string saying why none could be used (with the install command).
 */
export function loadDnnl(): Dnnl | string {
  if (loaded !== undefined) return loaded;
  tuneOpenMp();
  const reasons: string[] = [];
  for (const path of candidates()) {
    let version: { version: string; major: number };
    try {
      version = readVersion(path);
    } catch (e) {
      const text = e instanceof Error ? e.message : String(e);
      // Deno repeats "Could not open library:"; the dlerror text after it is what matters.
      const why = text.split("\n")[0]!.replace(/^(Could not open library: )+/, "");
      reasons.push(`${why.includes(path) ? why : `${path}: ${why}`}`.slice(0, 200));
      continue;
    }
    if (version.major !== 2) {
      reasons.push(
        `${path} is oneDNN ${version.version}; the native backend speaks the 2.x C API ` +
          `(3.x removed dnnl_*_desc_init) and does not support ${version.major}.x yet`,
      );
      continue;
    }
    try {
      const lib = Deno.dlopen(path, SYMBOLS);
      const fn = lib.symbols;
      const engine = create(
        "dnnl_engine_create",
        (o) => fn.dnnl_engine_create(o, DNNL.cpuEngine, 0n),
      );
      const stream = create(
        "dnnl_stream_create",
        (o) => fn.dnnl_stream_create(o, engine, DNNL.streamDefaultFlags),
      );
      // libdnnl has loaded its OpenMP runtime by now: this finds the same one.
      loaded = { fn, engine, stream, version: version.version, path, omp: loadOpenMp() };
      return loaded;
    } catch (e) {
      const text = e instanceof Error ? e.message : String(e);
      reasons.push(`${path} (oneDNN ${version.version}): ${text.split("\n")[0]!.slice(0, 160)}`);
    }
  }
  return `no usable oneDNN 2.x library (${reasons.join("; ")}); install it with ${installHint()}` +
    ` or point ${DNNL_ENV_VAR} at libdnnl`;
}

/** A pointer to the start of `view`'s bytes (stable: ArrayBuffer backing stores do not move). */
export function ptr(view: ArrayBufferView): Deno.PointerValue {
  return Deno.UnsafePointer.of(view as Uint8Array<ArrayBuffer>);
}

/** A `dnnl_dims_t` (12 × int64) holding `dims`. */
export function dims(values: readonly number[]): BigInt64Array<ArrayBuffer> {
  const d = new BigInt64Array(12);
  values.forEach((v, i) => d[i] = BigInt(v));
  return d;
}

/** The name of the implementation oneDNN chose for a primitive descriptor (e.g. `brgconv:avx512_core`). */
export function implName(dnnl: Dnnl, pd: Deno.PointerValue): string {
  const out = new BigUint64Array(1);
  if (dnnl.fn.dnnl_primitive_desc_query(pd, DNNL.queryImplInfoStr, 0, out) !== DNNL.success) {
    return "?";
  }
  const p = Deno.UnsafePointer.create(out[0]);
  return p === null ? "?" : Deno.UnsafePointerView.getCString(p);
}

// oneDNN's OpenMP threads land on different cores when the backend is picked the default way,
// after the WebGPU probe (src/backend/init_backend.ts `probesWebgpuBeforeNative`): checked in a
// fresh process, as a user's script runs. Skipped, saying why, without libdnnl or on one core.
import assert from "node:assert/strict";

const FIXTURE = new URL("./fixtures/native_thread_binding.ts", import.meta.url).pathname;
const CONFIG = new URL("../deno.json", import.meta.url).pathname;

/** Online CPUs (not navigator.hardwareConcurrency: it counts this thread's affinity, and a test
 * file run earlier in this process may have loaded oneDNN, which binds it to one core). */
function onlineCpus(): number {
  const online = Deno.readTextFileSync("/sys/devices/system/cpu/online").trim();
  return online.split(",").reduce((n, range) => {
    const [a, b = a] = range.split("-").map(Number);
    return n + b! - a! + 1;
  }, 0);
}

// Not nativeInfo(): loading oneDNN here would bind this process's thread to one core.
const why = Deno.build.os !== "linux"
  ? "reads /proc (Linux only)"
  : onlineCpus() < 2
  ? "one CPU online"
  : undefined;
if (why !== undefined) console.log(`native_thread_binding_test: skipped, ${why}`);

Deno.test({
  name: "initBackend(): after the WebGPU probe, oneDNN's threads are bound to different cores",
  ignore: why !== undefined,
}, async () => {
  const env: Record<string, string> = { PERCEPTUAL_BACKEND: "" };
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", CONFIG, FIXTURE],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
  const out = JSON.parse(new TextDecoder().decode(r.stdout).trim().split("\n").at(-1)!) as {
    backend: string;
    inner: number;
    cpus: string[];
  };
  if (out.backend !== "native") {
    // Without libdnnl (or with a GPU) the default order picks another backend.
    console.log(`native_thread_binding_test: the default order picked ${out.backend}; not checked`);
    return;
  }
  assert.equal(out.inner, 9 * 64); // an inner pixel sums 3×3×64 ones
  // libgomp binds each thread of its pool to one CPU (OMP_PROC_BIND=true): the pool must be
  // spread over different CPUs, not stacked on the JS thread's one.
  const bound = new Set(out.cpus.filter((l) => /^\d+$/.test(l)));
  assert.ok(bound.size >= 2, `threads bound to CPU ${[...bound]} only (all: ${out.cpus})`);
});

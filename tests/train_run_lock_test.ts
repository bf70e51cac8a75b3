// One writer per run directory (run.lock), the run's state in run.json and report.html when it
// is interrupted or fails, typed file-system errors, and one metrics backup per run.
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../src/backend/mod.ts";
import {
  acquireRunLock,
  type DataFactory,
  RUN_LOCK,
  runDirectory,
  RunDirError,
  RunFileError,
  RunLockedError,
  trainer,
} from "../src/train/mod.ts";
import { listDir } from "../src/_internal/fs.ts";
import { tempDir } from "./_runs.ts";

await initBackend("cpu");

/** One trainable 4×4 image learning grey 0.5; `data` yields 4 batches an epoch. */
function tiny() {
  const image = tf.variable(tf.zeros([1, 4, 4, 3]));
  const loss = (p: tf.Tensor4D, y: tf.Tensor4D) => {
    const pixel = tf.mean(tf.abs(tf.sub(p, y))) as tf.Scalar;
    return { total: tf.clone(pixel), terms: { pixel } };
  };
  const t = trainer({ params: [image], forward: () => tf.add(image, 0), loss, seed: 1 });
  const data: DataFactory = function* (p) {
    for (let i = p.batch; i < 4; i++) {
      yield {
        input: tf.zeros([1, 4, 4, 3]) as tf.Tensor4D,
        target: tf.fill([1, 4, 4, 3], 0.5) as tf.Tensor4D,
      };
    }
  };
  return {
    t,
    data,
    [Symbol.dispose]() {
      t[Symbol.dispose]();
      image.dispose();
    },
  };
}

/** A process of this machine that is alive until killed. */
function liveProcess(): Deno.ChildProcess {
  return new Deno.Command("sleep", { args: ["60"], stdout: "null", stderr: "null" }).spawn();
}

async function writeLock(dir: string, pid: number, host = Deno.hostname()): Promise<void> {
  await Deno.writeTextFile(
    `${dir}/${RUN_LOCK}`,
    JSON.stringify({ format: "perceptual-loss/run-lock", pid, host, startedAt: "then" }),
  );
}

Deno.test("run lock: pid, host and start time; a second writer is refused; release removes it", async () => {
  await using tmp = await tempDir("run_lock_test_");
  const dir = `${tmp.path}/run`;
  const lock = await acquireRunLock(dir);
  const text = JSON.parse(await Deno.readTextFile(`${dir}/${RUN_LOCK}`));
  assert.equal(text.pid, Deno.pid);
  assert.equal(text.host, Deno.hostname());
  assert.ok(!Number.isNaN(Date.parse(text.startedAt)));
  await assert.rejects(
    () => acquireRunLock(dir),
    (e: unknown) =>
      e instanceof RunLockedError && e.holder?.pid === Deno.pid &&
      e.message.includes(`process ${Deno.pid}`) && e.message.includes("one writer"),
  );
  lock.release();
  assert.deepEqual(await listDir(tmp.path), [], "the folder the lock made is gone with it");
});

Deno.test("run lock: a live process's lock is refused, a dead one's is taken over", async () => {
  await using tmp = await tempDir("run_lock_test_");
  const dir = tmp.path;
  const sleeper = liveProcess();
  try {
    await writeLock(dir, sleeper.pid);
    await assert.rejects(
      () => acquireRunLock(dir),
      (e: unknown) => e instanceof RunLockedError && e.message.includes(`kill ${sleeper.pid}`),
    );
  } finally {
    sleeper.kill("SIGKILL");
    await sleeper.status;
  }
  // Now dead (kill -9 never released it): taken over, and said so.
  const lock = await acquireRunLock(dir);
  assert.equal(lock.tookOver?.pid, sleeper.pid);
  assert.equal(JSON.parse(await Deno.readTextFile(`${dir}/${RUN_LOCK}`)).pid, Deno.pid);
  lock.release();
  // A lock from another machine cannot be checked: refused, saying how to clear it.
  await writeLock(dir, 1, "some-other-host");
  await assert.rejects(
    () => acquireRunLock(dir),
    (e: unknown) => e instanceof RunLockedError && e.message.includes(`delete ${dir}/${RUN_LOCK}`),
  );
});

Deno.test("run lock: never written into a folder that is not a run; file-system errors are typed", async () => {
  await using tmp = await tempDir("run_lock_test_");
  await Deno.writeTextFile(`${tmp.path}/mine.txt`, "x");
  await assert.rejects(() => acquireRunLock(tmp.path), RunDirError);
  assert.deepEqual(await listDir(tmp.path), ["mine.txt"]);
  // A file where a folder should be: the path and what to do, not a raw os error.
  await assert.rejects(
    () => acquireRunLock(`${tmp.path}/mine.txt/run`),
    (e: unknown) =>
      e instanceof RunFileError && e.path === `${tmp.path}/mine.txt/run` &&
      /^cannot use the run directory at .*: Not a directory.*; check that/.test(e.message),
  );
});

Deno.test("fit: two fits on one run directory at once, one is refused; the lock goes with fit", async () => {
  await using tmp = await tempDir("run_lock_test_");
  const runDir = `${tmp.path}/run`;
  using a = tiny();
  using b = tiny();
  const results = await Promise.allSettled([
    a.t.fit(a.data, { steps: 6, runDir, quiet: true, checkpointEvery: 1 }),
    b.t.fit(b.data, { steps: 6, runDir, quiet: true, checkpointEvery: 1 }),
  ]);
  const refused = results.filter((r) => r.status === "rejected");
  assert.equal(refused.length, 1, JSON.stringify(results.map((r) => r.status)));
  assert.ok((refused[0] as PromiseRejectedResult).reason instanceof RunLockedError);
  const names = await listDir(runDir);
  assert.ok(!names.includes(RUN_LOCK), "released when fit returned");
  const rows = (await Deno.readTextFile(`${runDir}/metrics.csv`)).trim().split("\n").slice(1);
  assert.deepEqual(rows.map((r) => Number(r.split(",")[0])), [1, 2, 3, 4, 5, 6]);
  const marker = JSON.parse(await Deno.readTextFile(`${runDir}/run.json`));
  assert.deepEqual([marker.state, marker.step], ["done", 6]);
});

Deno.test("fit: an interrupted run says so in run.json and report.html, which stops reloading", async () => {
  await using tmp = await tempDir("run_lock_test_");
  const runDir = `${tmp.path}/run`;
  using a = tiny();
  const stop = new AbortController();
  const r = await a.t.fit(a.data, {
    steps: 10,
    runDir,
    quiet: true,
    signal: stop.signal,
    resumeHint: "resume with: my-tool --resume",
    callbacks: [{ onStepEnd: (e) => e.metrics.step === 3 ? stop.abort() : undefined }],
  });
  assert.deepEqual([r.reason, r.step], ["stopped", 3]);
  assert.match(r.checkpoint ?? "", /step-00000003$/);
  const marker = JSON.parse(await Deno.readTextFile(`${runDir}/run.json`));
  assert.deepEqual(
    [marker.state, marker.step, marker.resume],
    ["interrupted", 3, "resume with: my-tool --resume"],
  );
  const html = await Deno.readTextFile(`${runDir}/report.html`);
  assert.doesNotMatch(html, /http-equiv="refresh"/);
  assert.doesNotMatch(html, /reloads itself/);
  assert.match(html, /interrupted after step 3; checkpoint checkpoints\/step-00000003 written; /);
  assert.ok(!(await listDir(runDir)).includes(RUN_LOCK));
  // A failing run: marked failed with the error, lock released too.
  using b = tiny();
  await assert.rejects(() =>
    b.t.fit(b.data, {
      steps: 10,
      runDir,
      resume: true,
      quiet: true,
      callbacks: [{
        onStepEnd: (e) => {
          if (e.metrics.step === 5) throw new Error("boom");
        },
      }],
    }), /boom/);
  const failed = JSON.parse(await Deno.readTextFile(`${runDir}/run.json`));
  assert.deepEqual([failed.state, failed.step, failed.error], ["failed", 5, "boom"]);
  assert.match(
    await Deno.readTextFile(`${runDir}/report.html`),
    /stopped by an error after step 5: boom/,
  );
  assert.ok(!(await listDir(runDir)).includes(RUN_LOCK));
});

Deno.test("fit: each resume that repairs metrics.csv keeps one backup, not one more", async () => {
  await using tmp = await tempDir("run_lock_test_");
  const runDir = `${tmp.path}/run`;
  {
    using a = tiny();
    await a.t.fit(a.data, { steps: 4, runDir, quiet: true, checkpointEvery: 2 });
  }
  for (let i = 0; i < 3; i++) {
    // A stray partial line each time: the next resume repairs (and backs up) the file.
    await Deno.writeTextFile(`${runDir}/metrics.csv`, "99,0,", { append: true });
    using a = tiny();
    await a.t.fit(a.data, { steps: 4 + i, runDir, resume: true, quiet: true });
  }
  const backups = (await listDir(runDir)).filter((n) => n.includes("before-resume"));
  assert.deepEqual(backups, ["metrics.csv.before-resume"]);
  assert.match(await Deno.readTextFile(`${runDir}/metrics.csv.before-resume`), /99,0,$/);
});

Deno.test("runDirectory: a lock passed in is the caller's, kept after fit", async () => {
  await using tmp = await tempDir("run_lock_test_");
  const path = `${tmp.path}/run`;
  using lock = await acquireRunLock(path);
  using a = tiny();
  await a.t.fit(a.data, { steps: 2, runDir: runDirectory(path, { lock }), quiet: true });
  assert.ok(lock.held);
  assert.ok((await listDir(path)).includes(RUN_LOCK));
  lock.release();
  assert.ok(!(await listDir(path)).includes(RUN_LOCK));
});

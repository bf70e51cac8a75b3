import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../src/backend/mod.ts";
import {
  assertNoLeak,
  DisposedError,
  leakGuard,
  memorySnapshot,
  own,
  scope,
  TensorLeakError,
  type TensorOwner,
} from "../src/lifetime/mod.ts";

await initBackend("cpu");

Deno.test("scope keeps what it returns and disposes the rest", () => {
  const before = tf.memory().numTensors;
  const out = scope(() => {
    const a = tf.ones([2, 2]);
    const b = tf.add(a, 1);
    return { kept: tf.mul(b, 2), also: [tf.sum(b)] };
  });
  assert.equal(tf.memory().numTensors - before, 2);
  assert.deepEqual(Array.from(out.kept.dataSync()), [4, 4, 4, 4]);
  assert.equal(out.also[0]!.dataSync()[0], 8);
  tf.dispose(out);
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("scope leaks nothing when tf.grad throws inside it (tf.tidy alone leaks here)", () => {
  const x = tf.tensor1d([1, 2, 3]);
  const failingGrad = () => tf.grad((a: tf.Tensor) => tf.reshape(tf.mul(tf.mul(a, 2), a), [7]))(x);
  // The engine's own behaviour, which is why scope() exists: tidy leaves the saved tensors.
  const base = tf.memory().numTensors;
  assert.throws(() => tf.tidy(failingGrad));
  const tidyLeak = tf.memory().numTensors - base;
  assert.ok(tidyLeak > 0, "tf.tidy is expected to leak the kept tensors of a failing grad");
  const before = tf.memory().numTensors;
  assert.throws(() => scope(failingGrad), /Size\(3\) must match/);
  assert.equal(tf.memory().numTensors, before);
  x.dispose();
});

Deno.test("scope never disposes variables created or used inside a failing body", () => {
  let v: tf.Variable | undefined;
  const before = tf.memory().numTensors;
  assert.throws(() =>
    scope(() => {
      v = tf.variable(tf.zeros([3]));
      tf.add(v, 1);
      throw new Error("fails after making a variable");
    })
  );
  assert.ok(v !== undefined && !v.isDisposed);
  assert.equal(tf.memory().numTensors, before + 1);
  v.dispose();
});

Deno.test("nested scopes: inner results survive into the outer scope, all freed on outer throw", () => {
  const before = tf.memory().numTensors;
  assert.throws(() =>
    scope(() => {
      const inner = scope(() => tf.keep(tf.ones([4])));
      assert.equal(inner.isDisposed, false);
      throw new Error("outer fails");
    })
  );
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("TensorOwner disposes once, works with `using`, and refuses use after dispose", () => {
  const before = tf.memory().numTensors;
  let escaped: TensorOwner<{ a: tf.Tensor; b: tf.Tensor[] }> | undefined;
  {
    using owner = own({ a: tf.ones([2]), b: [tf.zeros([3]), tf.eye(2)] }, "cached features");
    escaped = owner;
    assert.equal(tf.memory().numTensors, before + 3);
    assert.equal(owner.value.a.size, 2);
  }
  assert.equal(tf.memory().numTensors, before);
  assert.equal(escaped.disposed, true);
  assert.throws(() => escaped!.value, (e: unknown) => {
    assert.ok(e instanceof DisposedError);
    assert.match(e.message, /cached features/);
    return true;
  });
  escaped.dispose(); // idempotent
});

Deno.test("assertNoLeak passes clean code, disposes results, and names a leak's size", async () => {
  const x = tf.ones([4, 4]);
  await assertNoLeak(() => tf.tidy(() => tf.sum(tf.square(x))));
  await assertNoLeak(async () => {
    await Promise.resolve();
    return { r: tf.add(x, 1) };
  });
  let leaked: tf.Tensor | undefined;
  await assert.rejects(
    () =>
      assertNoLeak(() => {
        leaked = tf.zeros([10]); // float32: 40 bytes
        return 1;
      }, { label: "leaky()" }),
    (e: unknown) => {
      assert.ok(e instanceof TensorLeakError);
      assert.equal(e.tensors, 1);
      assert.equal(e.bytes, 40);
      assert.match(e.message, /^leaky\(\) left 1 tensor\(s\) \(40 bytes\) behind/);
      return true;
    },
  );
  leaked?.dispose();
  // warm-up runs allow lazily created state (like optimizer slots) before counting
  const cache: tf.Tensor[] = [];
  await assertNoLeak(() => {
    if (cache.length === 0) cache.push(tf.keep(tf.ones([1])));
  }, { warmup: 1 });
  tf.dispose(cache);
  x.dispose();
});

Deno.test("leakGuard allows growth during warm-up, then names the step that leaked", () => {
  const guard = leakGuard({ warmupSteps: 1 });
  const slots: tf.Tensor[] = [];
  slots.push(tf.zeros([2])); // step 1 creates "optimizer slots": allowed
  guard.check(1);
  assert.equal(guard.baseline?.tensors, memorySnapshot().tensors);
  tf.tidy(() => {
    tf.add(tf.ones([2]), 1); // a step that cleans up after itself
  });
  guard.check(2);
  const leak = tf.ones([5]);
  assert.throws(() => guard.check(3), (e: unknown) => {
    assert.ok(e instanceof TensorLeakError);
    assert.equal(e.tensors, 1);
    assert.equal(e.bytes, 20);
    assert.match(e.message, /^step 3 left 1 tensor/);
    return true;
  });
  tf.dispose([leak, ...slots]);
});

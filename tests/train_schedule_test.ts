// Learning-rate schedules against hand-computed values (fastai's formulas worked out by hand).
import assert from "node:assert/strict";
import { constant, cosine, oneCycle } from "../src/train/mod.ts";
import { cosineAnneal } from "../src/train/schedule.ts";

function close(actual: number | undefined, expected: number, tol = 1e-12): void {
  assert.ok(actual !== undefined, "value missing");
  assert.ok(
    Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)),
    `got ${actual}, expected ${expected}`,
  );
}

Deno.test("constant: same rate everywhere, no run length needed", () => {
  const s = constant(3e-4);
  close(s(0, 10), 3e-4);
  close(s(9, 10), 3e-4);
  close(s(5, Number.NaN), 3e-4);
  assert.equal(s.usesTotal, false);
  assert.throws(() => constant(0), RangeError);
  assert.throws(() => constant(Number.NaN), RangeError);
});

Deno.test("cosineAnneal is fastai's SchedCos", () => {
  // start + (1 + cos(pi (1 - pos))) (end - start) / 2
  close(cosineAnneal(2, 10, 0), 2);
  close(cosineAnneal(2, 10, 1), 10);
  close(cosineAnneal(2, 10, 0.5), 6);
  close(cosineAnneal(2, 10, 0.25), 2 + (1 - Math.SQRT1_2) * 4);
});

Deno.test("oneCycle: fastai defaults (div 25, div_final 1e5, pct_start 0.25, moms .95/.85/.95)", () => {
  const s = oneCycle({ lrMax: 1e-2 });
  const n = 8; // step i sits at pos i/8; warm-up covers pos < 0.25, i.e. steps 0 and 1
  close(s(0, n), 1e-2 / 25); // 4e-4
  close(s(1, n), (4e-4 + 1e-2) / 2); // pos 0.125 = half the warm-up: cos midpoint
  close(s(2, n), 1e-2); // pos 0.25: the peak
  close(s(5, n), (1e-2 + 1e-7) / 2); // pos 0.625 = half the annealing
  close(s(8, n), 1e-7); // pos 1: lrMax / 1e5
  // pos 0.25 + 0.75/4 = 0.4375: a quarter into annealing, cos(pi*0.75) = -sqrt(1/2)
  close(s(7, 16), 1e-7 + (1e-2 - 1e-7) * (1 + Math.SQRT1_2) / 2);
  close(s.momentum?.(0, n), 0.95);
  close(s.momentum?.(1, n), 0.9);
  close(s.momentum?.(2, n), 0.85);
  close(s.momentum?.(5, n), 0.9);
  close(s.momentum?.(8, n), 0.95);
  assert.match(s.description ?? "", /oneCycle\(lrMax=0.01, div=25, divFinal=100000, pctStart=0.25/);
});

Deno.test("oneCycle: options, no momentum, and the run length is required", () => {
  const s = oneCycle({ lrMax: 1, div: 10, divFinal: 100, pctStart: 0.5, moms: null });
  close(s(0, 4), 0.1);
  close(s(1, 4), 0.55);
  close(s(2, 4), 1);
  close(s(3, 4), 0.505);
  assert.equal(s.momentum, undefined);
  assert.throws(() => s(1, Number.NaN), /needs the run length/);
  assert.throws(() => oneCycle({ lrMax: 1, pctStart: 1.5 }), RangeError);
  // pctStart 0: no warm-up, straight cosine from the peak
  close(oneCycle({ lrMax: 1, pctStart: 0 })(0, 4), 1);
});

Deno.test("cosine: annealing to lrMin, with optional warm-up", () => {
  const s = cosine({ lr: 0.1 });
  close(s(0, 4), 0.1);
  close(s(1, 4), 0.1 * (1 + Math.SQRT1_2) / 2);
  close(s(2, 4), 0.05);
  close(s(4, 4), 0);
  const m = cosine({ lr: 1, lrMin: 0.2 });
  close(m(5, 10), 0.6);
  const w = cosine({ lr: 1, warmupSteps: 4 });
  close(w(0, 12), 0.25);
  close(w(3, 12), 1);
  close(w(4, 12), 1); // annealing starts at the peak
  close(w(8, 12), 0.5); // halfway through the 8 annealing steps
  assert.throws(() => cosine({ lr: 1, lrMin: 2 }), RangeError);
});

Deno.test("oneCycle takes its peak as lr (as cosine does) or lrMax; misspelt options are errors", async () => {
  const { UnknownOptionError } = await import("../src/errors/mod.ts");
  const root = await import("../mod.ts");
  assert.equal(root.constant, constant, "constant is exported from the root");
  const a = oneCycle({ lr: 1e-2 });
  const b = oneCycle({ lrMax: 1e-2 });
  for (const i of [0, 10, 25, 60, 99]) assert.equal(a(i, 100), b(i, 100));
  assert.equal(a(25, 100), 1e-2);
  assert.throws(() => oneCycle({ lr: 1e-2, lrMax: 1e-3 }), /both name the peak rate/);
  assert.throws(() => oneCycle({}), /oneCycle\(\{ lr: 1e-3 \}\)/);
  assert.throws(
    () => oneCycle({ lr: 1e-3, pctStrat: 0.3 } as never),
    (e) => e instanceof UnknownOptionError && /did you mean "pctStart"\?/.test(e.message),
  );
  assert.throws(() => cosine({ lr: 1e-3, lrMax: 1 } as never), /unknown option "lrMax"/);
});

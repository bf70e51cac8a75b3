/**
 * The loss algebra against PyTorch (float64) on the real ImageNet VGG-19 weights, blocks 1-3.
 * References: tests/fixtures/loss_pytorch_reference.py (run with Debian's /usr/bin/python3).
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { pipe } from "fp-ts/lib/function.js";
import { initBackend } from "../src/backend/mod.ts";
import { nativeInfo } from "../src/backend/native/mod.ts";
import { assertNoLeak } from "../src/lifetime/mod.ts";
import {
  type Distance,
  evaluate,
  fastaiFeatureLoss,
  feature,
  type GramNormalisation,
  type Loss,
  pixel,
  plus,
  precomputeTarget,
  style,
  totalVariation,
} from "../src/loss/mod.ts";
import { gramMatrix } from "../src/loss/_kernels.ts";
import { UnknownLayerError } from "../src/network/mod.ts";
import { vgg19 } from "../src/vgg/mod.ts";
import { exists, relErr } from "./loss_support.ts";

const WEIGHTS = "../shared/data/vgg19_imagenet_blocks1-3";
const FIXTURES = new URL("./fixtures/", import.meta.url);
const ignore = !exists(WEIGHTS);
if (ignore) console.log(`loss_pytorch_test: skipped, ${WEIGHTS} is absent (real VGG-19 weights)`);

const LAYERS = ["block1_conv2", "block2_conv2", "block3_conv4"] as const;

interface Reference {
  feature: Record<string, Record<Distance | "mean_activation_target", number>>;
  style: Record<string, Record<GramNormalisation, Record<string, number>>>;
  pixel: Record<Distance, number>;
  tv: { l1_mean: number; l2_sum: number };
  fastai: { total: number; terms: Record<string, number>; grad_norm: number };
}

// native (oneDNN) runs the convs, Grams and their gradients: held to the same PyTorch figures.
const native = nativeInfo();
if (typeof native === "string") console.log(`loss_pytorch_test: native skipped, ${native}`);
const BACKENDS = typeof native === "string" ? (["cpu"] as const) : (["cpu", "native"] as const);

async function setup(backend: "cpu" | "native") {
  await initBackend(backend);
  const ref: Reference = JSON.parse(
    await Deno.readTextFile(new URL("loss_pytorch_reference.json", FIXTURES)),
  );
  const bin = await Deno.readFile(new URL("loss_inputs.bin", FIXTURES));
  const f = new Float32Array(bin.buffer, bin.byteOffset, bin.byteLength / 4);
  const n = 2 * 24 * 32 * 3;
  const pred = tf.tensor4d(f.slice(0, n), [2, 24, 32, 3]);
  const target = tf.tensor4d(f.slice(n, 2 * n), [2, 24, 32, 3]);
  const styleImg = tf.tensor4d(f.slice(2 * n), [1, 20, 28, 3]);
  const g = await Deno.readFile(new URL("loss_fastai_grad.bin", FIXTURES));
  const grad = new Float32Array(g.buffer, g.byteOffset, g.byteLength / 4);
  const net = await vgg19({ weights: WEIGHTS, upTo: "block3_conv4", inputRange: "[0,1]" });
  return { ref, pred, target, styleImg, grad, net };
}

function rel(actual: number, expected: number): number {
  return Math.abs(actual - expected) / Math.abs(expected);
}

let worst = { rel: 0, what: "" };

function check(actual: tf.Tensor, expected: number, what: string, tol = 1e-4): void {
  const a = actual.dataSync()[0]!;
  if (rel(a, expected) > worst.rel) worst = { rel: rel(a, expected), what };
  assert.ok(
    rel(a, expected) <= tol,
    `${what}: ${a} vs PyTorch ${expected} (rel ${rel(a, expected).toExponential(2)})`,
  );
}

for (const backend of BACKENDS) {
  Deno.test({
    name:
      `feature, style (3 Gram normalisations), pixel and TV terms match PyTorch within 1e-4 (${backend})`,
    ignore,
    fn: async () => {
      const { ref, pred, target, styleImg, grad: _grad, net } = await setup(backend);
      const dists: Distance[] = ["l1", "l2", "huber", "charbonnier"];
      const norms: GramNormalisation[] = ["chw", "hw", "none"];
      type Layer = typeof LAYERS[number];
      let loss: Loss<Layer> = pipe(
        pixel({ distance: "l1", name: "pixel:l1" }),
        plus(pixel({ distance: "l2", name: "pixel:l2" })),
        plus(pixel({ distance: "huber", name: "pixel:huber" })),
        plus(pixel({ distance: "charbonnier", name: "pixel:charbonnier" })),
        plus(totalVariation({ distance: "l1", reduction: "mean", name: "tv:l1_mean" })),
        plus(totalVariation({ distance: "l2", reduction: "sum", name: "tv:l2_sum" })),
      );
      for (const l of LAYERS) {
        for (const d of dists) {
          loss = pipe(loss, plus(feature(l, { distance: d, name: `feature:${l}:${d}` })));
        }
        for (const n of norms) {
          for (const d of ["l1", "l2"] as const) {
            loss = pipe(
              loss,
              plus(style(l, { distance: d, normalisation: n, name: `style:${l}:${n}:${d}` })),
            );
          }
        }
      }
      const r = evaluate(loss, net)(pred, target);
      for (const d of dists) check(r.terms[`pixel:${d}`]!, ref.pixel[d], `pixel ${d}`);
      check(r.terms["tv:l1_mean"]!, ref.tv.l1_mean, "tv l1 mean");
      check(r.terms["tv:l2_sum"]!, ref.tv.l2_sum, "tv l2 sum");
      for (const l of LAYERS) {
        for (const d of dists) {
          check(r.terms[`feature:${l}:${d}`]!, ref.feature[l]![d], `feature ${l} ${d}`);
        }
        for (const n of norms) {
          for (const d of ["l1", "l2"]) {
            check(r.terms[`style:${l}:${n}:${d}`]!, ref.style[l]![n]![d]!, `style ${l} ${n} ${d}`);
          }
        }
      }
      tf.dispose(r as unknown as tf.TensorContainer);
      // the Gram matrices themselves
      const acts = net.extract(pred, [...LAYERS]);
      for (const l of LAYERS) {
        for (const n of norms) {
          const g = gramMatrix(acts[l], n);
          check(tf.norm(g), ref.style[l]![n]!.gram_fro_pred!, `Gram ${l} ${n} Frobenius norm`);
          check(
            tf.slice(g, [0, 0, 0], [1, 1, 1]),
            ref.style[l]![n]!.gram_00_pred!,
            `Gram ${l} ${n} [0,0,0]`,
          );
          g.dispose();
        }
      }
      tf.dispose(acts);
      console.log(
        `largest relative error vs PyTorch: ${worst.rel.toExponential(2)} (${worst.what})`,
      );
      tf.dispose([pred, target, styleImg]);
      net.dispose();
    },
  });

  Deno.test({
    name:
      `a precomputed style image (batch 1) against a batch of predictions matches PyTorch (${backend})`,
    ignore,
    fn: async () => {
      const { ref, pred, target, styleImg, net } = await setup(backend);
      let loss: Loss<typeof LAYERS[number]> = feature("block2_conv2", { name: "content" });
      for (const l of LAYERS) {
        for (const d of ["l1", "l2"] as const) {
          loss = pipe(loss, plus(style(l, { distance: d, name: `style:${l}:${d}` })));
        }
      }
      using fixed = precomputeTarget(loss, net, styleImg, { kinds: ["style"] });
      const fn = evaluate(loss, net, { target: fixed });
      const r = fn(pred, target);
      check(r.terms["content"]!, ref.feature["block2_conv2"]!.l2, "content");
      for (const l of LAYERS) {
        check(r.terms[`style:${l}:l2`]!, ref.style[l]!.chw!.l2_fixed_style!, `fixed style ${l} l2`);
        check(r.terms[`style:${l}:l1`]!, ref.style[l]!.chw!.l1_fixed_style!, `fixed style ${l} l1`);
      }
      tf.dispose(r as unknown as tf.TensorContainer);
      await assertNoLeak(() => fn(pred, target), { label: "evaluateWithTarget on VGG-19" });
      tf.dispose([pred, target, styleImg]);
      net.dispose();
    },
  });

  Deno.test({
    name:
      `the fastai combination and its gradient w.r.t. the prediction match PyTorch (${backend})`,
    ignore,
    fn: async () => {
      const { ref, pred, target, styleImg, grad, net } = await setup(backend);
      // fastai's FeatureLoss with the blocks 1-3 layers these weights have
      const loss = fastaiFeatureLoss(net, { layers: [...LAYERS] });
      const fn = evaluate(loss, net);
      const r = fn(pred, target);
      for (const [k, v] of Object.entries(ref.fastai.terms)) check(r.terms[k]!, v, `fastai ${k}`);
      check(r.total, ref.fastai.total, "fastai total");
      tf.dispose(r as unknown as tf.TensorContainer);
      const g = tf.grad((p: tf.Tensor) => fn(p as tf.Tensor4D, target).total)(pred);
      const e = relErr(g.dataSync(), grad);
      assert.ok(e <= 1e-4, `gradient: ‖g − g_torch‖/‖g_torch‖ = ${e.toExponential(2)}`);
      console.log(`fastai gradient relative error vs PyTorch: ${e.toExponential(2)}`);
      g.dispose();
      // a layer the truncated network was not built with is a named error, before any pass
      assert.throws(
        () => evaluate(feature("block4_conv1"), net),
        (e: Error) => e instanceof UnknownLayerError && /block4_conv1/.test(e.message),
      );
      await assertNoLeak(() => fn(pred, target), { label: "evaluate on VGG-19" });
      await assertNoLeak(
        () => tf.grad((p: tf.Tensor) => fn(p as tf.Tensor4D, target).total)(pred),
        {
          label: "gradient on VGG-19",
        },
      );
      tf.dispose([pred, target, styleImg]);
      net.dispose();
    },
  });
}

#!/usr/bin/python3
"""PyTorch CPU baseline for bench/run.ts: the same cases, shapes, architectures and loss.

    /usr/bin/python3 bench/torch_baseline.py <case> <threads> <reps> <warmup>

prints one JSON line {"case", "threads", "ms": [...], "torch"} on stdout. Cases mirror
bench/cases.ts: `extract` (VGG-16 conv stack to block5_conv3 on 1x3x224x224), `backward` (plus
the gradient of the features' sum w.r.t. the input), `train` (one Adam step of the x2 U-Net of
src/unet with the fastai feature loss on VGG-16, batch 4, 32x32 -> 64x64), `perceptual` (feature +
Gram L1 at relu1_2, relu2_2, relu3_3, relu4_3 of VGG-16 on 4x3x64x64 and its gradient w.r.t. the
prediction); `perceptual-bf16` the same under `torch.autocast("cpu", dtype=torch.bfloat16)`
(PyTorch's own bf16: convolutions and matrix products in bf16). `blas` prints which BLAS the matrix products really run on.

Debian's torch is built against the generic `libblas.so.3` interface (BLAS_INFO=generic); the
library behind it is whatever the alternatives system picks. With only the reference BLAS
installed the Gram-heavy cases run 3-4x slower than any pip PyTorch, so this refuses to time
them on the reference BLAS: `apt-get install libopenblas0-pthread`. Weights are He-random:
only the cost is compared, never the values. A reference only: never a runtime dependency.
"""
import json
import resource
import os
import re
import sys
import time

# "N threads" means every pool torch uses: its OpenMP pool and OpenBLAS's own pthreads.
if len(sys.argv) > 2 and sys.argv[2].isdigit():
    os.environ.setdefault("OPENBLAS_NUM_THREADS", sys.argv[2])

import torch
import torch.nn as nn
import torch.nn.functional as F

VGG16 = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512]
# indices (in conv order, 0-based) of block3_conv3, block4_conv3, block5_conv3
FASTAI_TAPS = [6, 9, 12]
FASTAI_WEIGHTS = [5, 15, 2]
CAFFE_MEAN_BGR = torch.tensor([103.939, 116.779, 123.68]).view(1, 3, 1, 1)


class Vgg16(nn.Module):
    """VGG-16 conv stack (as Keras' notop up to block5_conv3), frozen."""

    def __init__(self):
        super().__init__()
        self.convs = nn.ModuleList()
        self.pool_after = []
        cin = 3
        for v in VGG16:
            if v == "M":
                self.pool_after.append(len(self.convs) - 1)
                continue
            conv = nn.Conv2d(cin, v, 3, padding=1)
            nn.init.kaiming_normal_(conv.weight)
            nn.init.zeros_(conv.bias)
            self.convs.append(conv)
            cin = v
        for p in self.parameters():
            p.requires_grad_(False)

    def forward(self, x, taps):
        # caffe preprocessing: RGB -> BGR, 0..255, mean subtracted
        h = torch.flip(x, [1]) * 255 - CAFFE_MEAN_BGR
        out = {}
        deepest = max(taps)
        for i, conv in enumerate(self.convs[: deepest + 1]):
            h = F.relu(conv(h))
            if i in taps:
                out[i] = h
            if i in self.pool_after and i < deepest:
                h = F.max_pool2d(h, 2, 2)
        return [out[t] for t in taps]


def gram(f):
    b, c, h, w = f.shape
    x = f.view(b, c, h * w)
    return x @ x.transpose(1, 2) / (c * h * w)


def fastai_loss(vgg, pred, target, t_feats, t_grams):
    feats = vgg(pred, FASTAI_TAPS)
    loss = F.l1_loss(pred, target)
    for f, tf_, tg, w in zip(feats, t_feats, t_grams, FASTAI_WEIGHTS):
        loss = loss + F.l1_loss(f, tf_) * w + F.l1_loss(gram(f), tg) * (5e3 * w * w)
    return loss


class ConvBlock(nn.Module):
    """src/unet convBlock: two (3x3 conv without bias -> batch norm (momentum 0.9) -> ReLU)."""

    def __init__(self, cin, cout):
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        self.b1 = nn.BatchNorm2d(cout, momentum=0.1, eps=1e-3)
        self.c2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.b2 = nn.BatchNorm2d(cout, momentum=0.1, eps=1e-3)

    def forward(self, x):
        return F.relu(self.b2(self.c2(F.relu(self.b1(self.c1(x))))))


class UpBlock(nn.Module):
    """src/unet pixelShuffle upBlock: 3x3 conv to r^2*filters (with bias), shuffle, ReLU."""

    def __init__(self, cin, cout, r=2):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout * r * r, 3, padding=1)
        self.r = r

    def forward(self, x):
        return F.relu(F.pixel_shuffle(self.conv(x), self.r))


class UNet(nn.Module):
    """src/unet's unet({depth, baseFilters, scale: 2, norm: batch, upsample: pixelShuffle,
    activation: relu, residual: true, residualUpsample: bicubic, outputRange: null})."""

    def __init__(self, depth=3, base=32, cin=3, cout=3, scale=2):
        super().__init__()
        self.enc = nn.ModuleList()
        c = cin
        for level in range(1, depth + 1):
            f = base * 2 ** (level - 1)
            self.enc.append(ConvBlock(c, f))
            c = f
        self.bottom = ConvBlock(c, base * 2 ** depth)
        c = base * 2 ** depth
        self.ups = nn.ModuleList()
        self.decs = nn.ModuleList()
        for level in range(depth, 0, -1):
            f = base * 2 ** (level - 1)
            self.ups.append(UpBlock(c, f))
            self.decs.append(ConvBlock(2 * f, f))
            c = f
        self.tail = UpBlock(c, base, scale)
        self.head = nn.Conv2d(base, cout, 3, padding=1)
        self.scale = scale

    def forward(self, x):
        skips = []
        h = x
        for blk in self.enc:
            h = blk(h)
            skips.append(h)
            h = F.max_pool2d(h, 2, 2)
        h = self.bottom(h)
        for up, dec in zip(self.ups, self.decs):
            h = dec(torch.cat([up(h), skips.pop()], 1))
        y = self.head(self.tail(h))
        base = F.interpolate(x, scale_factor=self.scale, mode="bicubic", align_corners=False)
        return y + base


PERCEPTUAL_TAPS = [1, 3, 6, 9]  # relu1_2, relu2_2, relu3_3, relu4_3


def blas_line():
    """BLAS_INFO from torch's build, and the libblas file the process has really mapped."""
    found = re.search(r"BLAS_INFO=[^,]*", torch.__config__.show())
    info = found.group(0) if found else "BLAS_INFO=?"
    torch.ones(64, 64) @ torch.ones(64, 64)
    with open("/proc/self/maps") as maps:
        libs = sorted({line.split()[-1] for line in maps if "blas" in line.lower() and "/" in line})
    return f"{info}; runtime: {', '.join(libs) or 'no libblas mapped'}"


def prepare(case):
    torch.manual_seed(0)
    vgg = Vgg16()
    if case == "extract":
        x = torch.rand(1, 3, 224, 224)

        def run():
            with torch.no_grad():
                vgg(x, [12])[0].sum().item()

        return run
    if case == "backward":
        x = torch.rand(1, 3, 224, 224, requires_grad=True)

        def run():
            x.grad = None
            vgg(x, [12])[0].sum().backward()
            x.grad.sum().item()

        return run
    if case == "train":
        gen = UNet()
        gen.train()
        opt = torch.optim.Adam(gen.parameters(), lr=1e-3)
        low = torch.rand(4, 3, 32, 32)
        target = torch.rand(4, 3, 64, 64)

        def run():
            with torch.no_grad():
                t_feats = vgg(target, FASTAI_TAPS)
                t_grams = [gram(f) for f in t_feats]
            opt.zero_grad(set_to_none=True)
            pred = gen(low)
            loss = fastai_loss(vgg, pred, target, t_feats, t_grams)
            loss.backward()
            opt.step()
            loss.item()

        return run
    if case == "perceptual-bf16":
        f32 = prepare("perceptual")

        def run():
            with torch.autocast("cpu", dtype=torch.bfloat16):
                f32()

        return run
    if case == "perceptual":
        # BENCH_SHAPE=NxS (e.g. 16x256): batch and crop, as bench/cases.ts reads it.
        n, size = (int(v) for v in os.environ.get("BENCH_SHAPE", "4x64").split("x"))
        pred = torch.rand(n, 3, size, size, requires_grad=True)
        target = torch.rand(n, 3, size, size)

        def run():
            pred.grad = None
            with torch.no_grad():
                t_feats = vgg(target, PERCEPTUAL_TAPS)
                t_grams = [gram(f) for f in t_feats]
            feats = vgg(pred, PERCEPTUAL_TAPS)
            loss = 0
            for f, tf_, tg in zip(feats, t_feats, t_grams):
                loss = loss + F.l1_loss(f, tf_) + F.l1_loss(gram(f), tg)
            loss.backward()
            pred.grad.sum().item()

        return run
    raise SystemExit(f"unknown case {case!r}: use extract, backward, train, perceptual or "
                     "perceptual-bf16")


def bf16_error():
    """Case (d)'s loss and gradient under bf16 autocast against f32: the error PyTorch's own bf16
    makes, to set beside bench/bf16_error.ts's figures for the native backend."""
    torch.manual_seed(0)
    vgg = Vgg16()
    pred = torch.rand(4, 3, 64, 64)
    target = torch.rand(4, 3, 64, 64)

    def run(bf16):
        p = pred.clone().requires_grad_(True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            with torch.no_grad():
                t_feats = vgg(target, PERCEPTUAL_TAPS)
                t_grams = [gram(f) for f in t_feats]
            feats = vgg(p, PERCEPTUAL_TAPS)
            loss = 0
            for f, tf_, tg in zip(feats, t_feats, t_grams):
                loss = loss + F.l1_loss(f.float(), tf_.float()) + F.l1_loss(gram(f).float(), tg.float())
        loss.backward()
        return loss.item(), p.grad.double()

    l32, g32 = run(False)
    l16, g16 = run(True)
    rel = (g16 - g32).norm() / g32.norm()
    cos = (g16 * g32).sum() / (g16.norm() * g32.norm())
    print(json.dumps({"ms": [0], "loss_rel": abs(l16 - l32) / abs(l32), "grad_rel_l2": rel.item(),
                      "grad_cos": cos.item()}))


def main():
    case = sys.argv[1] if len(sys.argv) > 1 else "extract"
    if case == "bf16-error":
        bf16_error()
        return
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    reps = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    warmup = int(sys.argv[4]) if len(sys.argv) > 4 else 2
    torch.set_num_threads(threads)
    blas = blas_line()
    if case == "blas":
        print(json.dumps({"ms": [0], "blas": blas}))
        return
    if "openblas" not in blas and "mkl" not in blas:
        raise SystemExit(f"refusing to time on the reference BLAS ({blas}): "
                         "apt-get install libopenblas0-pthread")
    run = prepare(case)
    for _ in range(warmup):
        run()
    ms = []
    for _ in range(reps):
        t0 = time.perf_counter()
        run()
        ms.append((time.perf_counter() - t0) * 1000)
    # Peak resident set size of this process in bytes (ru_maxrss is in KiB on Linux).
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"case": case, "threads": threads, "ms": ms, "torch": torch.__version__,
                      "blas": blas, "rss": rss}))


if __name__ == "__main__":
    main()

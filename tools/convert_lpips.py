#!/usr/bin/python3
"""Convert the LPIPS v0.1 weights (AlexNet and SqueezeNet 1.1 trunks + learned lin layers) from the
Keras 3 `.keras` files in ../shared/data/lpips/ into the library's embedded format under
src/lpips/weights/<net>/: a TensorFlow.js weights manifest (`weights_manifest.json`, the
`weightsManifest` array of a tfjs model.json), one float32 little-endian shard
(`group1-shard1of1`) and `SHA256SUMS` (sha256sum's format, checked on load).

Run once from the repository root (Debian's Python, which has h5py):
  /usr/bin/python3 tools/convert_lpips.py [SOURCE_DIR] [OUT_DIR]
defaults: ../shared/data/lpips src/lpips/weights

Layout decisions (see ../shared/data/README.md, section lpips/):
- The trunk kernels are stored (kW, kH, Cin, Cout) in the .keras files; they are written here as
  TensorFlow's (kH, kW, Cin, Cout) (swap of the first two axes).
- The lin layers (1x1 conv, no bias, (1, 1, C, 1)) are written as a vector [C] named lin/<tap>.
- Names follow torchvision: alex conv1..conv5; squeeze conv1, fire2..fire9 with
  squeeze/expand1x1/expand3x3 (the SqueezeNet paper's numbering).
"""
import hashlib
import io
import json
import os
import sys
import zipfile

import h5py
import numpy as np

SRC = sys.argv[1] if len(sys.argv) > 1 else "../shared/data/lpips"
OUT = sys.argv[2] if len(sys.argv) > 2 else "src/lpips/weights"


def h5_of(path):
    with zipfile.ZipFile(path) as z:
        return h5py.File(io.BytesIO(z.read("model.weights.h5")), "r")


def hwio(stored):
    """(kW, kH, Cin, Cout) as stored -> (kH, kW, Cin, Cout)."""
    return np.ascontiguousarray(np.transpose(np.asarray(stored, dtype=np.float32), (1, 0, 2, 3)))


def conv(h, prefix):
    return hwio(h[prefix + "/vars/0"]), np.asarray(h[prefix + "/vars/1"], dtype=np.float32)


def alex(src):
    out = []
    for i in range(1, 6):
        k, b = conv(h5_of(f"{src}/alex/slice_{i}_base.keras"), "layers/sequential/layers/conv2d")
        out += [(f"conv{i}/kernel", k), (f"conv{i}/bias", b)]
    for i in range(5):
        lin = np.asarray(h5_of(f"{src}/alex/lin{i}.keras")["conv_layer/layers/conv2d/vars/0"])
        out.append((f"lin/relu{i + 1}", lin.reshape(-1).astype(np.float32)))
    return out


# SqueezeNet 1.1 slices: which fire modules (paper numbering) each .keras slice holds.
SQUEEZE_FIRES = {2: [2, 3], 3: [4, 5], 4: [6], 5: [7], 6: [8], 7: [9]}


def squeeze(src):
    out = []
    k, b = conv(h5_of(f"{src}/squeeze/slice_1_base.keras"), "layers/sequential/layers/conv2d")
    out += [("conv1/kernel", k), ("conv1/bias", b)]
    for s, fires in SQUEEZE_FIRES.items():
        h = h5_of(f"{src}/squeeze/slice_{s}_base.keras")
        for j, f in enumerate(fires):
            base = "layers/__fire" + ("" if j == 0 else f"_{j}")
            for part, path in [
                ("squeeze", base + "/layers/sequential/layers/conv2d"),
                ("expand1x1", base + "/expand1x1/layers/conv2d"),
                ("expand3x3", base + "/expand3x3/layers/conv2d"),
            ]:
                k, b = conv(h, path)
                out += [(f"fire{f}/{part}/kernel", k), (f"fire{f}/{part}/bias", b)]
    for i in range(7):
        lin = np.asarray(h5_of(f"{src}/squeeze/lin{i}.keras")["conv_layer/layers/conv2d/vars/0"])
        out.append((f"lin/relu{i + 1}", lin.reshape(-1).astype(np.float32)))
    return out


def write(net, weights):
    d = f"{OUT}/{net}"
    os.makedirs(d, exist_ok=True)
    shard = b"".join(w.astype("<f4").tobytes() for _, w in weights)
    manifest = [{
        "paths": ["group1-shard1of1"],
        "weights": [{"name": n, "shape": list(w.shape), "dtype": "float32"} for n, w in weights],
    }]
    files = {
        "weights_manifest.json": (json.dumps(manifest, indent=1) + "\n").encode(),
        "group1-shard1of1": shard,
    }
    for name, data in files.items():
        with open(f"{d}/{name}", "wb") as f:
            f.write(data)
    with open(f"{d}/SHA256SUMS", "w") as f:
        for name in sorted(files):
            f.write(f"{hashlib.sha256(files[name]).hexdigest()}  {name}\n")
    lins = [w for n, w in weights if n.startswith("lin/")]
    print(f"{net}: {len(weights)} arrays, {len(shard)} bytes, lin min {min(l.min() for l in lins)}")


write("alex", alex(SRC))
write("squeeze", squeeze(SRC))

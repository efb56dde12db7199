"""Overhead of the Python call against the Rust API on the same image, model and labels.

    python bindings/python/benches/overhead.py WEIGHTS [--size 480] [--iters 10]

Runs `cargo run --release --example time_segment` (the Rust API: segment + label map) and
the same call through `lseg.Model.segment(...).label_map`, in one run on one machine, and
prints the CPU, both medians and the ratio. Needs the wheel installed and cargo on PATH.
"""

import argparse
import pathlib
import platform
import re
import subprocess
import tempfile
import time

import numpy as np

import lseg

ROOT = pathlib.Path(__file__).resolve().parents[3]
LABELS = ["floor", "wall", "person", "chair", "other"]  # as examples/time_segment.rs


def cpu():
    try:
        info = pathlib.Path("/proc/cpuinfo").read_text()
        name = re.search(r"model name\s*:\s*(.*)", info).group(1)
        flags = set(re.search(r"flags\s*:\s*(.*)", info).group(1).split())
        simd = [f for f in ("avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16") if f in flags]
        return f"{name} ({', '.join(simd)})"
    except (OSError, AttributeError):
        return platform.processor()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("weights")
    ap.add_argument("--size", type=int, default=480)
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--height", type=int, default=480)
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (a.height, a.width, 3), dtype=np.uint8)
    with tempfile.TemporaryDirectory() as tmp:
        raw = pathlib.Path(tmp) / "image.rgb"
        img.tofile(raw)
        out = subprocess.run(
            ["cargo", "run", "--release", "-q", "--example", "time_segment", "--",
             a.weights, str(raw), str(a.width), str(a.height), str(a.size), str(a.iters)],
            cwd=ROOT, check=True, capture_output=True, text=True,
        ).stdout
    rust = float(re.search(r"median ([0-9.]+)", out).group(1))
    model = lseg.Model(a.weights)
    labels = model.encode_labels(LABELS)
    times = []
    for i in range(a.iters + 1):
        t = time.perf_counter()
        model.segment(img, labels, size=a.size).label_map
        if i > 0:
            times.append(time.perf_counter() - t)
    py = float(np.median(times))
    print(f"cpu: {cpu()}")
    print(f"weights: {a.weights}, image {a.width}x{a.height}, size {a.size}, {a.iters} calls")
    print(f"rust median {rust * 1e3:.2f} ms, python median {py * 1e3:.2f} ms, "
          f"overhead {100 * (py / rust - 1):+.2f} %")


if __name__ == "__main__":
    main()

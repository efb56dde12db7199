"""Overhead of the Python call against the Rust API on the same image, model and labels.

    python bindings/python/benches/overhead.py WEIGHTS [--size 480] [--iters 10]

Runs `cargo run --release --example time_segment` (the Rust API: segment + label map) and
the same call through `lseg.Model.segment(...).label_map`, alternating in `--rounds` rounds
(so that drift of the machine hits both), in one run on one machine, and prints the CPU, the
medians and minima of both and their ratios. Needs the wheel installed and cargo on PATH.
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
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (a.height, a.width, 3), dtype=np.uint8)
    model = lseg.Model(a.weights)
    labels = model.encode_labels(LABELS)
    rust, py = [], []
    with tempfile.TemporaryDirectory() as tmp:
        raw = pathlib.Path(tmp) / "image.rgb"
        img.tofile(raw)
        for _ in range(a.rounds):
            out = subprocess.run(
                ["cargo", "run", "--release", "-q", "--example", "time_segment", "--",
                 a.weights, str(raw), str(a.width), str(a.height), str(a.size), str(a.iters)],
                cwd=ROOT, check=True, capture_output=True, text=True,
            ).stdout
            m = re.search(r"median ([0-9.]+) min ([0-9.]+)", out)
            rust.append((float(m.group(1)), float(m.group(2))))
            times = []
            for i in range(a.iters + 1):
                t = time.perf_counter()
                model.segment(img, labels, size=a.size).label_map
                if i > 0:
                    times.append(time.perf_counter() - t)  # the first call warms up
            py.append((float(np.median(times)), min(times)))
    r_med, p_med = np.median([r[0] for r in rust]), np.median([p[0] for p in py])
    r_min, p_min = min(r[1] for r in rust), min(p[1] for p in py)
    print(f"cpu: {cpu()}")
    print(f"weights: {a.weights}, image {a.width}x{a.height}, size {a.size}, "
          f"{a.rounds} rounds x {a.iters} calls each")
    print(f"rust   median {r_med * 1e3:.2f} ms, min {r_min * 1e3:.2f} ms")
    print(f"python median {p_med * 1e3:.2f} ms, min {p_min * 1e3:.2f} ms")
    print(f"overhead: median {100 * (p_med / r_med - 1):+.2f} %, min {100 * (p_min / r_min - 1):+.2f} %")


if __name__ == "__main__":
    main()

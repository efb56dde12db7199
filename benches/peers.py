#!/usr/bin/env python3
"""ONNX Runtime and OpenVINO (CPU) as peers of the lseg benchmarks, next to PyTorch eager, on the
PyTorch twin of benches/pytorch_baseline.py (whose model classes this script imports).

The exported function is the twin's `LSeg.image`, the image path of `segment` minus text encoding:
image [1, 3, S, S] float32 -> raw (not yet L2-normalised) per-pixel 512-d embeddings
[1, 512, S/2, S/2] float32, i.e. the head1 output: patch embedding + interpolated position
embedding, the ViT blocks, the 4 hooked tokens through act_postprocess1-4, layer1-4_rn,
refinenet4..1, head1. Not in it: the text tower, the L2 normalisation, the dot product with the
text features, the 2x upsampling of the logits and the argmax (all cheap next to the image path).
The final ViT norm that the twin computes and discards (as `forward_flex` does) is dead code the
exporter drops; eager PyTorch still computes it (one LayerNorm, negligible).

  python benches/peers.py [--models vitl16,vitb32] [--size 480] [--threads 2] [--reps 3] [--seed 0]
      per model: builds the twin with random weights (default initialisation, as --bench does,
      after torch.manual_seed(seed)), exports `LSeg.image` at a static SxS shape with
      torch.onnx.export (TorchScript exporter, opset 17) to ~/.cache/lseg/onnx/ (reused when newer
      than pytorch_baseline.py and this script), then runs it with
        onnxruntime       CPUExecutionProvider, intra_op_num_threads=threads, inter_op_num_threads=1,
                          graph optimisation level ALL;
        openvino          CPU, INFERENCE_NUM_THREADS=threads, PERFORMANCE_HINT=LATENCY,
                          INFERENCE_PRECISION_HINT=f32;
        openvino-default  the same without the precision hint (bf16 on CPUs with AVX512-BF16 / AMX);
      checks each output against the twin's on the same random input (max abs error / max abs of the
      reference; fails, after printing every line, when above 1e-3 at f32 or 5e-2 at bf16 / f16),
      and times 1 warm-up + reps runs (median and min seconds) next to eager PyTorch of the same
      function in the same run (the torch model is freed before the peers load the file).
      Prints one JSON line per (model, peer), with versions and the CPU model and flags.
"""
import argparse, gc, json, os, sys, time

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pytorch_baseline import LSeg, PRESETS  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
F32_TOL = 1e-3  # relative max abs error allowed at f32
HALF_TOL = 5e-2  # a gross-breakage bound for bf16 / f16 (OpenVINO's default on this kind of CPU: ~1e-2)


def cpu_info():
    """CPU model name and the SIMD flags that decide the kernels (and OpenVINO's default precision)."""
    info, flags = {}, set()
    try:
        for line in open("/proc/cpuinfo"):
            k, _, v = line.partition(":")
            k = k.strip()
            if k in ("model name", "cpu family", "model") and k not in info:
                info[k] = v.strip()
            elif k == "flags" and not flags:
                flags = set(v.split())
    except OSError:
        pass
    # a VM's model name can be generic ("Intel(R) Xeon(R) Processor"): family/model identify the generation
    return {"model": info.get("model name", "unknown"), "family_model": f"{info.get('cpu family')}/{info.get('model')}",
            "cores": os.cpu_count(),
            **{f: f in flags for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16")}}


def steady(fn, reps):
    """(output of the warm-up run, sorted times of `reps` further runs)."""
    out = fn()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter(); fn(); ts.append(time.perf_counter() - t0)
    return out, sorted(ts)


def stats(ts):
    return {"median_s": ts[len(ts) // 2], "min_s": ts[0], "times_s": ts}


class Image(nn.Module):
    """`LSeg.image` as a module's forward, for the exporter."""

    def __init__(s, m):
        super().__init__(); s.m = m

    def forward(s, x):
        return s.m.image(x)


def export(m, x, path):
    """torch.onnx.export of `m.image` at x's static shape to path (written to a temporary name first)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    torch.onnx.export(Image(m).eval(), (x,), tmp, input_names=["image"], output_names=["embeddings"],
                      opset_version=17, do_constant_folding=True, dynamo=False)
    os.replace(tmp, path)


def fresh(path):
    src = max(os.path.getmtime(os.path.join(HERE, f)) for f in ("pytorch_baseline.py", "peers.py"))
    return os.path.exists(path) and os.path.getmtime(path) > src


def run_ort(path, x, threads, reps):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    t0 = time.perf_counter()
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    load = time.perf_counter() - t0
    name = sess.get_inputs()[0].name
    out, ts = steady(lambda: sess.run(None, {name: x})[0], reps)
    del sess
    return out, ts, load, {"provider": "CPUExecutionProvider", "precision": "f32"}


def run_ov(path, x, threads, reps, precision):
    import openvino as ov
    core = ov.Core()
    cfg = {"INFERENCE_NUM_THREADS": str(threads), "PERFORMANCE_HINT": "LATENCY"}
    if precision:
        cfg["INFERENCE_PRECISION_HINT"] = precision
    t0 = time.perf_counter()
    cm = core.compile_model(path, "CPU", cfg)
    load = time.perf_counter() - t0
    req = cm.create_infer_request()

    def infer():
        req.infer({0: x}, share_inputs=True)
        return req.get_output_tensor(0).data

    out, ts = steady(lambda: infer().copy(), reps)
    picked = cm.get_property("INFERENCE_PRECISION_HINT").get_type_name()  # "f32", "bf16", "f16"
    extra = {"device": "CPU", "precision": picked, "precision_requested": precision or "default",
             "num_streams": str(cm.get_property("NUM_STREAMS")),
             "inference_num_threads": int(cm.get_property("INFERENCE_NUM_THREADS"))}
    del req, cm, core
    return out, ts, load, extra


def versions():
    v = {"torch": torch.__version__}
    for mod in ("onnxruntime", "openvino", "onnx"):
        try:
            v[mod] = __import__(mod).__version__
        except ImportError:
            v[mod] = None
    return v


def main(models, size, threads, reps, seed, cache):
    torch.set_num_threads(threads)
    cpu, ver, failures = cpu_info(), versions(), []
    for name in models:
        c = PRESETS[name]
        p = c["vit"]["patch_size"]
        assert size % p == 0, f"--size {size} is not a multiple of {name}'s patch size {p}"
        path = os.path.join(cache, f"{name}_image_{size}x{size}_seed{seed}_torch{torch.__version__}_opset17.onnx")
        torch.manual_seed(seed)
        m = LSeg(c).eval()
        m.clip_pretrained = None  # built first (same weights as the full twin's), not part of the export
        x = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(seed))
        with torch.no_grad():
            ref, tts = steady(lambda: m.image(x), reps)
        ref = ref.numpy()
        torch_stats = stats(tts)
        cached = fresh(path)
        export_s = None
        if not cached:
            t0 = time.perf_counter(); export(m, x, path); export_s = time.perf_counter() - t0
        del m; gc.collect()  # one copy of the weights at a time: the peers load theirs from the file
        xn = np.ascontiguousarray(x.numpy())
        ref_max = float(np.abs(ref).max())
        for peer, run in (("onnxruntime", lambda: run_ort(path, xn, threads, reps)),
                          ("openvino", lambda: run_ov(path, xn, threads, reps, "f32")),
                          ("openvino-default", lambda: run_ov(path, xn, threads, reps, None))):
            out, ts, load, extra = run()
            assert out.shape == ref.shape, (peer, out.shape, ref.shape)
            abs_err = float(np.abs(out.astype(np.float32) - ref).max())
            rel = abs_err / ref_max
            f32 = extra["precision"] == "f32"
            tol = F32_TOL if f32 else HALF_TOL
            ok = bool(rel <= tol)  # False for NaN too
            s = stats(ts)
            print(json.dumps({
                "mode": "peer", "model": name, "peer": peer, "exported": "LSeg.image", "size": size,
                "output_shape": list(out.shape), "threads": threads, "reps": reps, "seed": seed,
                **extra, "rel_max_abs_err": rel, "max_abs_err": abs_err, "ref_max_abs": ref_max,
                "tolerance": tol, "ok": ok, **s, "load_s": load,
                "torch_eager_median_s": torch_stats["median_s"], "torch_eager_min_s": torch_stats["min_s"],
                "speedup_vs_torch_eager": torch_stats["median_s"] / s["median_s"],
                "onnx": path, "onnx_bytes": os.path.getsize(path), "onnx_cached": cached, "export_s": export_s,
                "versions": ver, "cpu": cpu}), flush=True)
            if not ok:
                failures.append(f"{name}/{peer}: relative max abs error {rel:.3g} > {tol:g} at {extra['precision']}")
            del out; gc.collect()
        del ref
    if failures:
        sys.exit("peers.py: output check FAILED:\n  " + "\n  ".join(failures))


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="vitl16,vitb32")
    ap.add_argument("--size", type=int, default=480, help="square input side (a multiple of the patch size)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=3, help="timed runs after 1 warm-up")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cache", help="where the .onnx files go; default: $LSEG_CACHE/onnx, LSEG_CACHE=~/.cache/lseg",
                    default=os.path.join(os.environ.get("LSEG_CACHE", os.path.expanduser("~/.cache/lseg")), "onnx"))
    a = ap.parse_args()
    main(a.models.split(","), a.size, a.threads, a.reps, a.seed, a.cache)

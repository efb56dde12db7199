#!/usr/bin/env bash
# Lays out a CPU-only libtorch 2.9.0 (what burn-tch 0.22.1 / torch-sys 0.22.0 need) from the
# PyPI wheels, cached outside the checkout, and prints its path. Idempotent and fast on reruns.
#   LIBTORCH=$(bash .ci/install-libtorch.sh)
# For CUDA, point LIBTORCH at a full libtorch 2.9.0 instead (or a torch==2.9.0 install with
# LIBTORCH_USE_PYTORCH=1): torch-sys enables CUDA when libtorch_cuda.so is present.
set -euo pipefail
cache="${LSEG_CACHE:-$HOME/.cache/lseg}"
dest="$cache/libtorch-2.9.0-cpu"
if [ -f "$dest/.complete" ]; then echo "$dest"; exit 0; fi
mkdir -p "$cache/wheels"
python3 -m pip download -q --no-deps --only-binary=:all: -d "$cache/wheels" \
  torch==2.9.0 nvidia-cuda-runtime-cu12==12.8.90 nvidia-cuda-cupti-cu12==12.8.90 >&2
tmp="$(mktemp -d "$cache/unpack.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
python3 - "$cache/wheels" "$tmp" >&2 <<'PY'
import sys, zipfile, glob, os, shutil
wheels, out = sys.argv[1], sys.argv[2]
os.makedirs(f"{out}/lib"); os.makedirs(f"{out}/include")
keep = {"libtorch_cpu.so", "libtorch.so", "libc10.so", "libgomp.so.1", "libshm.so",
        "libcudart.so.12", "libcupti.so.12"}
for whl in glob.glob(f"{wheels}/*.whl"):
    with zipfile.ZipFile(whl) as z:
        for info in z.infolist():
            name = info.filename
            base = os.path.basename(name)
            if base in keep and "/lib/" in name:
                with z.open(info) as src, open(f"{out}/lib/{base}", "wb") as dst:
                    shutil.copyfileobj(src, dst)
            elif name.startswith("torch/include/") and not name.endswith("/"):
                target = f"{out}/include/{name[len('torch/include/'):]}"
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with z.open(info) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst)
missing = keep - set(os.listdir(f"{out}/lib"))
if missing:
    sys.exit(f"missing from the wheels: {sorted(missing)}")
open(f"{out}/build-version", "w").write("2.9.0+cpu\n")
PY
rm -rf "$dest"
mv "$tmp" "$dest"
trap - EXIT
touch "$dest/.complete"
echo "$dest"

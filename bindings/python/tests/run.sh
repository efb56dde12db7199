#!/usr/bin/env bash
# Python binding checks: builds the abi3 wheel from the checkout with pip (maturin, the shared
# cargo target directory), checks it (abi3 tag, no libtorch or libpython linked, stubs
# inside), installs it into a fresh venv with numpy, pytest and Pillow (and Ray, when it
# installs, for the Ray Data example), checks the stubs against the module (mypy stubtest) and
# runs pytest from outside the source tree; then the README's literal `pip install
# ./bindings/python` into a second venv, and a smoke test of it. The parity tests read the
# Rust-API references of bindings/c/tests/run.sh ($CARGO_TARGET_DIR/c-tests/fixtures, or
# LSEG_REFS).
set -euo pipefail
cd "$(dirname "$0")/../../.."
root="$PWD"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
work="$CARGO_TARGET_DIR/python-tests"
python="${PYTHON:-python3}"
t0=$(date +%s)
step() { echo "== [$(( $(date +%s) - t0 ))s] $*"; }

"$python" -c 'import venv, ensurepip' 2>/dev/null || {
  step "installing python3-venv"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
}
rm -rf "$work"
mkdir -p "$work/dist"

step "pip wheel ./bindings/python (maturin, release)"
"$python" -m pip wheel -q --no-deps ./bindings/python -w "$work/dist"
wheel="$(ls "$work/dist"/lseg-*.whl)"
echo "$wheel"
case "$wheel" in *-abi3-*) ;; *) echo "not an abi3 wheel: $wheel" >&2; exit 1 ;; esac
(cd "$work" && "$python" -m zipfile -e "$wheel" unpacked)
so="$(ls "$work"/unpacked/lseg/_lseg*.so)"
if readelf -d "$so" | grep -E 'NEEDED.*(torch|c10|libpython)'; then
  echo "$so links libtorch or libpython" >&2; exit 1
fi
for f in __init__.py _errors.py _lseg.pyi py.typed; do
  [ -f "$work/unpacked/lseg/$f" ] || { echo "the wheel lacks lseg/$f" >&2; exit 1; }
done

step "fresh venv: the wheel, pytest, Pillow"
"$python" -m venv "$work/venv"
py="$work/venv/bin/python"
"$py" -m pip install -q --upgrade pip
"$py" -m pip install -q "$wheel" pytest pillow mypy
if [ "${LSEG_SKIP_RAY:-0}" != 1 ]; then
  step "Ray Data for the Ray example (optional)"
  "$py" -m pip install -q "ray[data]" ||
    echo "Ray could not be installed here: the Ray example test will be skipped"
fi

export LSEG_REFS="${LSEG_REFS:-$CARGO_TARGET_DIR/c-tests/fixtures}"
cd "$work"  # import the installed package, not bindings/python/python
step "stubs (_lseg.pyi) against the module: mypy stubtest"
"$py" -m mypy.stubtest lseg
step "pytest"
"$py" -m pytest -q -p no:cacheprovider -rs -W ignore::DeprecationWarning "$root/bindings/python/tests"

step "the README's command in a second fresh venv: pip install ./bindings/python"
cd "$root"
"$python" -m venv "$work/venv-readme"
"$work/venv-readme/bin/python" -m pip install -q ./bindings/python
"$work/venv-readme/bin/python" - <<'PY'
import numpy as np, lseg
m = lseg.Model("examples/data/tiny-random-vit16.safetensors")
seg = m.segment(np.zeros((40, 60, 3), np.uint8), ["grass", "sky"], size=64)
assert seg.label_map.shape == (40, 60), seg
print("pip install ./bindings/python: lseg", lseg.__version__, "works")
PY
step "done in $(( $(date +%s) - t0 ))s"

#!/usr/bin/env bash
# Runs every benchmark of the README's performance section on this machine, in one go:
#   bash benches/run.sh            (about 40 minutes on 2 cores)
# 1. criterion benches (benches/lseg.rs): load, text encoding, pixel embeddings, single-scale
#    segment, per backend and precision, full-size models with random weights;
# 2. the PyTorch eager baseline (benches/pytorch_baseline.py, torch==2.9.0, 2 threads) in a venv
#    under ~/.cache/lseg;
# 3. peers: the twin's image path (LSeg.image) exported to ONNX and run with ONNX Runtime and
#    OpenVINO CPU (f32, and OpenVINO's default precision), checked against and timed next to
#    PyTorch eager (benches/peers.py, onnxruntime / openvino / onnx added to the same venv);
# 4. multi-scale segment of a 360x480 image and peak RSS of load + one segment
#    (/usr/bin/time -v on examples/segment.rs);
# 5. label agreement of half-precision compute with float32 (examples/precision_agreement.rs);
# 6. batch throughput of segment_batch, 1 / 4 / 8 images (examples/time_batch.rs);
# 7. a training step (vitb32, 384x384, batch 2, 150 labels): lseg::train on flex and tch
#    (examples/time_train_step.rs) next to PyTorch eager (pytorch_baseline.py --bench-train).
# Results go to $CARGO_TARGET_DIR (or target)/bench-results/. Environment knobs: see benches/lseg.rs.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
out="$target/bench-results"
mkdir -p "$out"
LIBTORCH="$(bash .ci/install-libtorch.sh)"; export LIBTORCH
cache="${LSEG_CACHE:-$HOME/.cache/lseg}"
# The pure-Rust backends are measured with a binary that does not link libtorch (whose
# libraries alone add ~110 MB of resident memory at start-up); tch with a tch build.
cargo build --release -p lseg --features ndarray --example segment
cp "$target/release/examples/segment" "$out/segment-rust"
cargo build --release -p lseg --features ndarray,tch,train --examples
w="$cache/bench-weights"; mkdir -p "$w"
for p in f32 f16 bf16; do
  [ -f "$w/vitl16.$p.safetensors" ] || "$target/release/examples/random_weights" vitl16 $p "$w/vitl16.$p.safetensors"
done

echo "== criterion"
LSEG_BENCH_BACKENDS="${LSEG_BENCH_BACKENDS:-flex,ndarray,tch}" LSEG_BENCH_PRECISIONS="${LSEG_BENCH_PRECISIONS:-f32,bf16}" \
  cargo bench -p lseg --features ndarray,tch --bench lseg -- --noplot 2>&1 | tee "$out/criterion.txt" | grep -E "^vit|time:"

echo "== PyTorch baseline"
py="$cache/torchenv/bin/python"
if [ ! -x "$py" ]; then
  python3 -m venv "$cache/torchenv"
  "$cache/torchenv/bin/pip" install -q torch==2.9.0 numpy safetensors
fi
"$py" benches/pytorch_baseline.py --check tests/fixtures/tiny_vit16.safetensors
"$py" benches/pytorch_baseline.py --bench --models vitl16,vitb32 --multiscale | tee "$out/pytorch_f32.json"
"$py" benches/pytorch_baseline.py --bench --models vitl16 --dtype bf16 --reps 3 | tee "$out/pytorch_bf16.json"

echo "== peers: ONNX Runtime and OpenVINO CPU (image path exported from the PyTorch twin)"
"$cache/torchenv/bin/pip" install -q onnxruntime==1.32.0 openvino==2026.4.1 onnx==1.23.2
"$py" benches/peers.py --models vitl16,vitb32 --cache "$cache/onnx" | tee "$out/peers.jsonl"

echo "== multi-scale and peak memory (load + one segment)"
{
for cfg in "flex f32 f32" "tch f32 f32" "tch bf16 bf16" "ndarray f32 f32" "flex f16 f16" "flex bf16 bf16" "flex f32 f16"; do
  set -- $cfg
  for mode in single multiscale; do
    extra=""; [ $mode = multiscale ] && extra="--multiscale --width 480 --height 360"
    # multi-scale (36 passes) only where a pass is fast
    [ $mode = multiscale ] && { [ $1 = ndarray ] || [ $2 != $3 ] || { [ $1 = flex ] && [ $2 != f32 ]; }; } && continue
    bin="$target/release/examples/segment"; [ $1 = tch ] || bin="$out/segment-rust"
    /usr/bin/time -v $bin "$w/vitl16.$3.safetensors" --backend $1 --dtype $2 $extra \
      2> "$out/time.$1.$2.$3.$mode.txt" >/dev/null
    printf '%-8s compute=%-5s file=%-5s %-11s %s %s peak_rss_kb=%s\n' $1 $2 $3 $mode \
      "$(grep -o 'loaded.*in [0-9.]*[a-z]*' "$out/time.$1.$2.$3.$mode.txt" | sed 's/.* in /load=/')" \
      "$(grep -o 'segmented.*in [0-9.]*[a-z]*' "$out/time.$1.$2.$3.$mode.txt" | sed 's/.* in /segment=/')" \
      "$(grep 'Maximum resident' "$out/time.$1.$2.$3.$mode.txt" | awk '{print $NF}')"
  done
done
} | tee "$out/memory.txt"

echo "== half-precision compute: label agreement with float32 (full-size random weights)"
{
"$target/release/examples/precision_agreement" "$w/vitl16.f32.safetensors" tch bf16
"$target/release/examples/precision_agreement" "$w/vitl16.f32.safetensors" flex f16
} | tee "$out/agreement.txt"

echo "== segment_batch throughput: vitb32 480x480, batches of 1, 4, 8"
{
for b in flex tch; do "$target/release/examples/time_batch" vitb32 480 3 $b; done
} | tee "$out/batch.txt"

echo "== training step: vitb32 384x384, batch 2, 150 labels, 2 threads"
{
for b in flex tch; do
  LSEG_TRAIN_BACKEND=$b "$target/release/examples/time_train_step" vitb32 384 2 150 3
done
"$py" benches/pytorch_baseline.py --bench-train --models vitb32 --size 384 --batch 2 --labels 150 --threads 2
} | tee "$out/train_step.txt"

#!/usr/bin/env bash
# Fuzzing (cargo-fuzz, libFuzzer, AddressSanitizer on nightly): builds the targets of
# fuzz/fuzz_targets, replays fuzz/regressions/<target>/* (inputs that once crashed), then runs
# each target for SECONDS (default 60) from seed corpora made from the fixtures. Fails on a
# crash, an lseg internal error, a hang over 10 s or an allocation over 2 GB; prints the
# executions per target.
#   bash fuzz/run.sh [SECONDS] [TARGET...]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
secs="${1:-60}"; shift || true
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/lseg/target}"
target_dir="$CARGO_TARGET_DIR/fuzz"
work="$CARGO_TARGET_DIR/fuzz-work"
step() { echo "--- $*"; }

rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null || { step "cargo install cargo-fuzz"; cargo install -q cargo-fuzz --locked; }

cd "$root/fuzz"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo +nightly fuzz list)
step "cargo +nightly fuzz build -O -a (${targets[*]})"
cargo +nightly fuzz build -O -a --target-dir "$target_dir"
bin="$target_dir/x86_64-unknown-linux-gnu/release"

step "seed corpora from the fixtures"
rm -rf "$work/seeds" && mkdir -p "$work/seeds" "$work/corpus"
python3 - "$root" "$work/seeds" <<'PY'
import io, json, os, pickle, random, struct, sys, zipfile
root, out = sys.argv[1], sys.argv[2]
def put(target, name, data):
    os.makedirs(os.path.join(out, target), exist_ok=True)
    open(os.path.join(out, target, name), "wb").write(data)
tiny = open(os.path.join(root, "examples/data/tiny-random-vit16.safetensors"), "rb").read()
n = struct.unpack("<Q", tiny[:8])[0]
header = json.loads(tiny[8:8 + n])
for f in sorted(os.listdir(os.path.join(root, "tests/fixtures"))):
    if f.endswith(".safetensors"):
        put("weights", f, open(os.path.join(root, "tests/fixtures", f), "rb").read()[:8192])
put("weights", "tiny-head", tiny[:8 + n + 64])
small = {"a": {"dtype": "F16", "shape": [2, 2], "data_offsets": [0, 8]}, "__metadata__": {"k": "v"}}
h = json.dumps(small).encode()
put("weights", "small", struct.pack("<Q", len(h)) + h + bytes(8))
put("config_json", "tiny", header.get("__metadata__", {}).get("lseg_config", "{}").encode())
cases = json.load(open(os.path.join(root, "tests/fixtures/clip_tokenizer_cases.json")))
texts = [c["text"] for c in (cases if isinstance(cases, list) else cases.get("cases", [])) if isinstance(c, dict) and "text" in c]
for i in range(0, min(len(texts), 64), 4):
    put("labels", "cases%d" % i, b"\x00" + b"\x00".join(t.encode() for t in texts[i:i + 4]))
put("labels", "plain", b"\x00dog\x00a red car\x00sky")
rng = random.Random(1)
for i in range(8):
    put("segment", "s%d" % i, bytes(rng.randrange(256) for _ in range(12 + 48 * 48)))
for f in ["examples/data/sample.png"]:
    put("image_load", "sample", b"\x00" + open(os.path.join(root, f), "rb").read())
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w") as z:
    z.writestr("archive/data.pkl", pickle.dumps({"state_dict": {"w": 1.0}}, protocol=2))
    z.writestr("archive/byteorder", "little")
put("checkpoint", "zip", buf.getvalue())
PY

failed=0
for t in "${targets[@]}"; do
  mkdir -p "$work/corpus/$t"
  if compgen -G "$root/fuzz/regressions/$t/*" >/dev/null; then
    step "$t: replaying fuzz/regressions/$t"
    "$bin/$t" -runs=1 "$root"/fuzz/regressions/"$t"/* >"$work/$t.replay.log" 2>&1 \
      || { tail -30 "$work/$t.replay.log"; failed=1; continue; }
  fi
  step "$t: ${secs}s"
  if "$bin/$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048 \
       -max_len=65536 -print_final_stats=1 -artifact_prefix="$work/$t-" \
       "$work/corpus/$t" "$work/seeds/$t" >"$work/$t.log" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/$t.log" | grep -o '[0-9]*$' || echo '?')
    echo "$t: $runs executions in ${secs}s, no crash"
  else
    tail -40 "$work/$t.log"
    echo "$t: FAILED (artifacts: $work/$t-*)"
    failed=1
  fi
done
exit $failed

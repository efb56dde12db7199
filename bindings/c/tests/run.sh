#!/usr/bin/env bash
# C API checks: builds the release library (flex + ndarray), checks that include/lseg.h is
# what cbindgen generates from bindings/c/src, installs the library into a prefix,
# compiles include/lseg.h as C99/C11 and C++11/17 (-Wall -Wextra -Werror -pedantic), builds
# the C tests against the shared and the static library (pkg-config) and runs them, runs
# them under valgrind (zero errors, zero definite/indirect leaks), builds the example as an
# out-of-tree CMake consumer of the installed package (shared and static) and runs it.
# Prints a final "N passed, 0 failed" counting the C test cases of every run.
set -euo pipefail
cd "$(dirname "$0")/../../.."
root="$PWD"
target="${CARGO_TARGET_DIR:-$root/target}"
work="$target/c-tests"
prefix="$target/c-install"
fixtures="$work/fixtures"
t0=$(date +%s)
step() { echo "== [$(( $(date +%s) - t0 ))s] $*"; }

need=()
for tool in cmake pkg-config valgrind cc c++; do
  command -v "$tool" >/dev/null || need+=("$tool")
done
if [ ${#need[@]} -gt 0 ]; then
  step "installing ${need[*]}"
  pkgs=()
  for tool in "${need[@]}"; do
    case "$tool" in cc) pkgs+=(gcc) ;; c++) pkgs+=(g++) ;; *) pkgs+=("$tool") ;; esac
  done
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >/dev/null
fi

# The C library's configuration: both pure-Rust backends (the tests cover ndarray's errors),
# built with the whole workspace and its test targets, so that cargo resolves the same
# dependency features as for `cargo test` and builds this configuration once.
config=(--release --workspace --features lseg/ndarray)
step "cargo build ${config[*]} --all-targets"
cargo build "${config[@]}" --all-targets
step "include/lseg.h is what cbindgen generates (bindings/c/header-check)"
cargo run -q --release --manifest-path bindings/c/header-check/Cargo.toml -- --check
step "Rust-side ABI tests and C fixtures (bindings/c/src/tests.rs)"
rm -rf "$fixtures"
LSEG_C_FIXTURES="$fixtures" cargo test "${config[@]}" --lib -q
step "install into $prefix"
rm -rf "$prefix" "$work/bin"
mkdir -p "$work/bin"
bash bindings/c/install-c.sh "$prefix" "$target/release"
# pkg-config of the installed package. Not exported: build scripts of -sys crates rerun when
# PKG_CONFIG_PATH changes, and would rebuild the whole dependency graph for the cargo builds
# below.
pc() { PKG_CONFIG_PATH="$prefix/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}" pkg-config "$@"; }

strict=(-Wall -Wextra -Werror -pedantic)
step "header: C99, C11, C++11, C++17 with ${strict[*]}"
for std in c99 c11; do
  echo '#include <lseg.h>
int main(void) { return lseg_abi_version() == LSEG_ABI_VERSION ? 0 : 1; }' |
    cc -std=$std "${strict[@]}" -I"$prefix/include" -x c -fsyntax-only -
done
for std in c++11 c++17; do
  echo '#include <lseg.h>
int main() { lseg_model *m = nullptr; lseg_free(m); return LSEG_OK; }' |
    c++ -std=$std "${strict[@]}" -I"$prefix/include" -x c++ -fsyntax-only -
done

step "build the C tests (shared and static)"
cflags=(-std=c99 "${strict[@]}" -O1 -g $(pc --cflags lseg))
shared_libs=($(pc --libs lseg) -Wl,-rpath,"$prefix/lib")
static_libs=("$prefix/lib/liblseg.a" $(pc --static --libs-only-l lseg | sed 's/-llseg//'))
for t in test_api test_threads; do
  cc "${cflags[@]}" -pthread bindings/c/tests/c/$t.c "${shared_libs[@]}" -lm -o "$work/bin/${t}_shared"
  cc "${cflags[@]}" -pthread bindings/c/tests/c/$t.c "${static_libs[@]}" -lm -o "$work/bin/${t}_static"
done
readelf -d "$work/bin/test_api_shared" | grep -q 'NEEDED.*liblseg.so.1' ||
  { echo "test_api_shared does not link liblseg.so.1" >&2; exit 1; }

passed=0; failed=0
run() { # run NAME CMD...: runs a C test binary, adds its "N passed, M failed" to the totals
  local name="$1"; shift
  step "run $name"
  local log="$work/$name.log" rc=0
  "$@" "$fixtures" "$root/tests/fixtures" >"$log" 2>&1 || rc=$?
  cat "$log"
  local line; line="$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -1 || true)"
  if [ -z "$line" ]; then
    echo "$name: no summary line (exit $rc)" >&2; failed=$((failed + 1)); return
  fi
  passed=$((passed + ${line%% passed*}))
  local f="${line#*, }"; failed=$((failed + ${f%% failed}))
  if [ "$rc" -ne 0 ] && [ "${f%% failed}" = 0 ]; then
    echo "$name: exit status $rc" >&2; failed=$((failed + 1))
  fi
}
for t in test_api test_threads; do
  run "${t}_shared" "$work/bin/${t}_shared"
  run "${t}_static" "$work/bin/${t}_static"
done

# valgrind: its CPUID hides AVX-512, so the SIMD kernels (and the float summation order)
# differ from the native run that wrote the references: compare floats with a tolerance
# there (the native runs above compare bit for bit).
# valgrind: every error is fatal; definite and indirect leaks are errors. "Possibly lost"
# and "still reachable" are not: rayon's global worker threads (their stacks and TLS) and
# lseg's process-wide tokenizer and handle tables live until exit by design, and are still
# pointed to then. With that, no suppression file is needed.
vg=(valgrind -q --error-exitcode=1 --leak-check=full --show-leak-kinds=definite,indirect
    --errors-for-leak-kinds=definite,indirect --num-callers=30)
for t in test_api test_threads; do
  LSEG_TEST_RTOL=1e-5 run "${t}_valgrind" "${vg[@]}" "$work/bin/${t}_shared"
done

step "CMake consumer (examples/c) against $prefix, shared and static"
rm -rf "$work/cmake"
cmake -S examples/c -B "$work/cmake" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/cmake" -j 2 >/dev/null
for exe in segment segment_static; do
  step "run $exe"
  "$work/cmake/$exe" --size 96 "$fixtures/tiny_vit16.safetensors" \
    "$fixtures/image_100x70.png" dog grass other "a red car" sky | tee "$work/$exe.out"
  grep -q "100x70 image, 5 labels" "$work/$exe.out"
done
cmp "$work/segment.out" "$work/segment_static.out"
readelf -d "$work/cmake/segment_static" | grep -q 'NEEDED.*liblseg' &&
  { echo "segment_static links liblseg dynamically" >&2; exit 1; }

if [ -n "${LIBTORCH:-}" ]; then
  # A tch build of the C library: its pkg-config/CMake static link line must bring libtorch.
  step "tch build of the C library: CMake consumer, static, --backend tch"
  # The configuration of `cargo test --workspace --all-features` (.ci/run): built once.
  cargo build --release --workspace --all-features --all-targets
  bash bindings/c/install-c.sh "$prefix-tch" >/dev/null
  rm -rf "$work/cmake-tch"
  cmake -S examples/c -B "$work/cmake-tch" -DCMAKE_PREFIX_PATH="$prefix-tch" \
    -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$work/cmake-tch" -j 2 >/dev/null
  "$work/cmake-tch/segment_static" --backend tch --size 96 "$fixtures/tiny_vit16.safetensors" \
    "$fixtures/image_100x70.png" dog grass other "a red car" sky | tee "$work/segment_tch.out"
  grep -q "100x70 image, 5 labels" "$work/segment_tch.out"
  cargo build "${config[@]}" --all-targets  # leave the tested library in place
fi

step "done in $(( $(date +%s) - t0 ))s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

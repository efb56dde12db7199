#!/usr/bin/env bash
# C++ interface checks (bindings/cpp/lseg.hpp) against an installed prefix (bindings/c/install-c.sh;
# bindings/c/tests/run.sh makes one and the C fixtures): compiles tests/test_cpp.cpp with
# {g++ + libstdc++, clang++ + libc++} x {C++17, C++20} x {exceptions, -fno-exceptions} under
# -Wall -Wextra -Werror -pedantic and runs the 8 binaries, then one ASan+UBSan build (leak
# checking on), builds examples/cpp as a CMake consumer of the installed package (shared and
# static) and with pkg-config, and checks that its output (and error output) is the C example's.
# Installs clang and libc++ with apt when missing. Prints a final "N passed, M failed" counting
# the test cases of every run.
# Usage: bash bindings/cpp/tests/run.sh PREFIX C-FIXTURES-DIR
#   e.g. bash bindings/cpp/tests/run.sh "$CARGO_TARGET_DIR/c-install" "$CARGO_TARGET_DIR/c-tests/fixtures"
# LSEG_CPP_JOBS: parallel compiles (default 2).
set -euo pipefail
cd "$(dirname "$0")/../../.."
root="$PWD"
usage="usage: run.sh PREFIX C-FIXTURES-DIR"
prefix="$(cd "${1:?$usage}" && pwd)"
fixtures="$(cd "${2:?$usage}" && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
work="$target/cpp-tests"
jobs="${LSEG_CPP_JOBS:-2}"
t0=$(date +%s)
step() { echo "== [$(( $(date +%s) - t0 ))s] $*"; }

has_libcxx() {
  command -v clang++ >/dev/null &&
    echo '#include <vector>
int main() { return std::vector<int>(1).size() == 1 ? 0 : 1; }' |
    clang++ -stdlib=libc++ -x c++ - -o /dev/null 2>/dev/null
}
need=()
for tool in cmake pkg-config g++ cc; do command -v "$tool" >/dev/null || need+=("$tool"); done
has_libcxx || need+=(clang libc++-dev libc++abi-dev)
if [ ${#need[@]} -gt 0 ]; then
  pkgs=()
  for tool in "${need[@]}"; do case "$tool" in cc) pkgs+=(gcc) ;; *) pkgs+=("$tool") ;; esac; done
  step "installing ${pkgs[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >/dev/null
  has_libcxx || { echo "clang++ -stdlib=libc++ does not work" >&2; exit 1; }
fi
[ -f "$prefix/include/lseg.h" ] && [ -f "$prefix/lib/pkgconfig/lseg.pc" ] ||
  { echo "$prefix is not an lseg prefix (bash bindings/c/install-c.sh $prefix)" >&2; exit 1; }
cmp -s "$prefix/include/lseg.hpp" bindings/cpp/lseg.hpp ||
  { echo "$prefix/include/lseg.hpp is missing or stale: bash bindings/c/install-c.sh $prefix" >&2; exit 1; }
[ -f "$fixtures/tiny_vit16.safetensors" ] ||
  { echo "no fixtures in $fixtures (bash bindings/c/tests/run.sh writes them)" >&2; exit 1; }

rm -rf "$work"
mkdir -p "$work/bin"
pc() { PKG_CONFIG_PATH="$prefix/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}" pkg-config "$@"; }
strict=(-Wall -Wextra -Werror -pedantic)
cflags=("${strict[@]}" -O1 -g -pthread $(pc --cflags lseg))
libs=($(pc --libs lseg) -Wl,-rpath,"$prefix/lib")

# Compiles run in the background, $jobs at a time; each leaves a log and, on success, its binary.
compile() { # compile NAME COMPILER-AND-FLAGS...
  local name="$1"; shift
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
  ( "$@" "${cflags[@]}" bindings/cpp/tests/test_cpp.cpp "${libs[@]}" -o "$work/bin/$name" \
      >"$work/$name.build.log" 2>&1 ) &
}
matrix=()
step "compile test_cpp.cpp: {g++, clang++ -stdlib=libc++} x {c++17, c++20} x {exceptions, -fno-exceptions}, ${strict[*]} ($jobs at a time)"
for cxx in gcc clang; do
  for std in 17 20; do
    for exc in exc noexc; do
      name="test_cpp-$cxx-c++$std-$exc"
      flags=(-std=c++$std)
      [ "$exc" = noexc ] && flags+=(-fno-exceptions)
      if [ "$cxx" = gcc ]; then compile "$name" g++ "${flags[@]}"
      else compile "$name" clang++ -stdlib=libc++ "${flags[@]}"; fi
      matrix+=("$name")
    done
  done
done
# ASan+UBSan (g++, C++20, with exceptions -- the rethrow of a callback's exception is covered --
# and clang + libc++, C++17, -fno-exceptions -- the Result-only interface). The
# Rust library is not instrumented, but its allocations go through the interposed malloc:
# leak checking is on and needs no suppression (rayon's worker threads and lseg's
# process-wide tables stay reachable until exit, which LeakSanitizer does not report).
sanitize=(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
compile test_cpp-asan-ubsan g++ -std=c++20 "${sanitize[@]}"
compile test_cpp-asan-ubsan-noexc clang++ -stdlib=libc++ -std=c++17 -fno-exceptions "${sanitize[@]}"
wait
step "header: -DLSEG_CPP_NO_EXCEPTIONS in a build with exceptions (syntax only)"
g++ -std=c++17 -DLSEG_CPP_NO_EXCEPTIONS "${cflags[@]}" -fsyntax-only bindings/cpp/tests/test_cpp.cpp
build_failed=0
for name in "${matrix[@]}" test_cpp-asan-ubsan test_cpp-asan-ubsan-noexc; do
  if [ ! -x "$work/bin/$name" ]; then
    echo "build of $name failed:" >&2; cat "$work/$name.build.log" >&2
    build_failed=$((build_failed + 1))
  fi
done
step "compiled ($build_failed failed)"

passed=0; failed=$build_failed
summary=()
run() { # run NAME CMD...: runs a test binary, adds its "N passed, M failed" to the totals
  local name="$1"; shift
  [ -x "$work/bin/$name" ] || { summary+=("$name: not built"); return; }
  step "run $name"
  local log="$work/$name.log" rc=0
  "$@" "$fixtures" "$root/tests/fixtures" >"$log" 2>&1 || rc=$?
  cat "$log"
  local line; line="$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -1 || true)"
  if [ -z "$line" ]; then
    echo "$name: no summary line (exit $rc)" >&2; failed=$((failed + 1))
    summary+=("$name: no summary line (exit $rc)"); return
  fi
  passed=$((passed + ${line%% passed*}))
  local f="${line#*, }"; failed=$((failed + ${f%% failed}))
  if [ "$rc" -ne 0 ] && [ "${f%% failed}" = 0 ]; then
    echo "$name: exit status $rc" >&2; failed=$((failed + 1))
  fi
  summary+=("$name: $line (exit $rc)")
}
for name in "${matrix[@]}"; do run "$name" "$work/bin/$name"; done
for name in test_cpp-asan-ubsan test_cpp-asan-ubsan-noexc; do
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    run "$name" "$work/bin/$name"
done

# The examples: the C++ one as a CMake consumer (shared and static) and with pkg-config, the
# C one as the reference of the output, including an error's.
step "CMake consumers examples/cpp and examples/c against $prefix"
cmake -S examples/cpp -B "$work/cmake" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/cmake" -j "$jobs" >/dev/null
cmake -S examples/c -B "$work/cmake-c" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/cmake-c" -j "$jobs" --target segment >/dev/null
step "pkg-config build of examples/cpp"
c++ -std=c++17 "${strict[@]}" -O1 examples/cpp/segment.cpp $(pc --cflags --libs lseg) \
  -Wl,-rpath,"$prefix/lib" -o "$work/bin/segment_pkgconfig"
args=(--size 96 "$fixtures/tiny_vit16.safetensors" "$fixtures/image_100x70.png" dog grass other "a red car" sky)
"$work/cmake-c/segment" "${args[@]}" >"$work/segment_c.out"
"$work/cmake-c/segment" "$fixtures/missing.safetensors" x.png dog 2>"$work/segment_c.err" && exit 1
for exe in "$work/cmake/segment" "$work/cmake/segment_static" "$work/bin/segment_pkgconfig"; do
  step "run $exe"
  "$exe" "${args[@]}" | tee "$work/$(basename "$exe").out"
  grep -q "100x70 image, 5 labels" "$work/$(basename "$exe").out"
  cmp "$work/segment_c.out" "$work/$(basename "$exe").out" ||
    { echo "$exe: output differs from examples/c's" >&2; failed=$((failed + 1)); }
  rc=0; "$exe" "$fixtures/missing.safetensors" x.png dog 2>"$work/segment_cpp.err" || rc=$?
  [ "$rc" -eq 1 ] && cmp "$work/segment_c.err" "$work/segment_cpp.err" ||
    { echo "$exe: error output differs from examples/c's (exit $rc):" >&2; cat "$work/segment_cpp.err" >&2
      failed=$((failed + 1)); }
done
readelf -d "$work/cmake/segment_static" | grep -q 'NEEDED.*liblseg' &&
  { echo "segment_static links liblseg dynamically" >&2; exit 1; }
readelf -d "$work/bin/segment_pkgconfig" | grep -q 'NEEDED.*liblseg.so.1' ||
  { echo "segment_pkgconfig does not link liblseg.so.1" >&2; exit 1; }

step "done in $(( $(date +%s) - t0 ))s"
printf '  %s\n' "${summary[@]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

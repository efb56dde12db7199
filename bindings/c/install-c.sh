#!/usr/bin/env bash
# Installs the C library of lseg (and its C++ header) into a prefix:
#   PREFIX/include/lseg.h, lseg.hpp   (lseg.hpp: the header-only C++17 interface, bindings/cpp)
#   PREFIX/lib/liblseg.so.X.Y.Z, liblseg.so.ABI -> ..., liblseg.so -> ...   (soname liblseg.so.ABI)
#   PREFIX/lib/liblseg.a
#   PREFIX/lib/pkgconfig/lseg.pc
#   PREFIX/lib/cmake/lseg/lseg-config.cmake, lseg-config-version.cmake
# Usage: cargo build --release -p lseg-capi && bash bindings/c/install-c.sh PREFIX [CARGO-RELEASE-DIR]
# Libraries built with `--features tch` need libtorch at link and run time: set LIBTORCH to its
# directory (as for the build); the static link line then names it, with an rpath.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
prefix="${1:?usage: install-c.sh PREFIX [RELEASE-DIR]}"
release="${2:-${CARGO_TARGET_DIR:-$root/target}/release}"
version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -1)"
major="${version%%.*}"; rest="${version#*.}"; minor="${rest%%.*}"
abi="$(sed -n 's/^pub const LSEG_ABI_VERSION: u32 = \([0-9]*\);/\1/p' "$here/src/lib.rs")"
soname="liblseg.so.$abi"
for f in liblseg.so liblseg.a; do
  [ -f "$release/$f" ] || { echo "missing $release/$f: run cargo build --release -p lseg-capi" >&2; exit 1; }
done

# System libraries the static library needs: what rustc reports for std (lseg's own
# dependencies are pure Rust in the default build).
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
echo '' > "$tmp/e.rs"
static_libs="$(cd "$tmp" && rustc --crate-type staticlib --crate-name e e.rs \
  --print native-static-libs 2>&1 | sed -n 's/.*native-static-libs: //p' | head -1)"
static_libs="${static_libs:--lgcc_s -lutil -lrt -lpthread -lm -ldl -lc}"
static_libs_cmake="$(echo "$static_libs" | sed 's/-l//g; s/ \+/;/g')"
# A tch build (torch-sys's C wrapper is in the archive) also needs libtorch: libtorch_cpu, c10,
# gomp and libstdc++, plus libtorch_cuda where the folder has it. (Not libtorch.so: in a
# CPU-only folder it names an absent libtorch_cuda.so, and nothing of it is used.)
if nm -g --defined-only "$release/liblseg.a" 2>/dev/null | grep ' T at_manual_seed$' >/dev/null; then
  lt="${LIBTORCH:?liblseg.a was built with --features tch: set LIBTORCH to the libtorch directory}/lib"
  [ -f "$lt/libtorch_cpu.so" ] || { echo "no libtorch_cpu.so in $lt" >&2; exit 1; }
  cuda=""; [ -f "$lt/libtorch_cuda.so" ] && cuda="-Wl,--no-as-needed -ltorch_cuda -Wl,--as-needed "
  static_libs="-L$lt -Wl,-rpath,$lt -Wl,--as-needed $cuda-lstdc++ -ltorch_cpu -lc10 -lgomp $static_libs"
  static_libs_cmake="-L$lt;-Wl,-rpath,$lt;-Wl,--as-needed;${cuda:+-Wl,--no-as-needed;torch_cuda;-Wl,--as-needed;}stdc++;torch_cpu;c10;gomp;$static_libs_cmake"
fi

mkdir -p "$prefix/include" "$prefix/lib/pkgconfig" "$prefix/lib/cmake/lseg"
install -m 644 "$root/include/lseg.h" "$prefix/include/lseg.h"
install -m 644 "$root/bindings/cpp/lseg.hpp" "$prefix/include/lseg.hpp"
install -m 755 "$release/liblseg.so" "$prefix/lib/liblseg.so.$version"
ln -sf "liblseg.so.$version" "$prefix/lib/$soname"
ln -sf "$soname" "$prefix/lib/liblseg.so"
install -m 644 "$release/liblseg.a" "$prefix/lib/liblseg.a"
subst() {
  sed -e "s|@VERSION@|$version|g" -e "s|@MAJOR@|$major|g" -e "s|@MINOR@|$minor|g" \
      -e "s|@SONAME@|$soname|g" -e "s|@SHARED_FILE@|liblseg.so.$version|g" \
      -e "s|@STATIC_LIBS@|$static_libs|g" -e "s|@STATIC_LIBS_CMAKE@|$static_libs_cmake|g" "$1" > "$2"
}
subst "$here/lseg.pc.in" "$prefix/lib/pkgconfig/lseg.pc"
subst "$here/cmake/lseg-config.cmake.in" "$prefix/lib/cmake/lseg/lseg-config.cmake"
subst "$here/cmake/lseg-config-version.cmake.in" "$prefix/lib/cmake/lseg/lseg-config-version.cmake"
echo "installed lseg $version (ABI $abi) into $prefix"

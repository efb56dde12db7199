#!/usr/bin/env bash
# Stages the Unreal plugin with the built library and the headers:
#   cargo build --release -p lseg-capi
#   bash bindings/unreal/assemble.sh OUT_DIR [LIBRARY] [PLATFORM]   # PLATFORM: Linux (default), Win64, Mac
# writes OUT_DIR/Lseg/ (copy it into <Project>/Plugins/): include/lseg.h and lseg.hpp under
# Source/ThirdParty/LsegLibrary/include, the library under Binaries/ThirdParty/Lseg/PLATFORM
# (on Windows pass lseg.dll; lseg.dll.lib next to it is copied too).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="$1"
lib="${2:-${CARGO_TARGET_DIR:-$HOME/.cache/lseg/target}/release/liblseg.so}"
platform="${3:-Linux}"
[ -f "$lib" ] || { echo "assemble.sh: no library at $lib (cargo build --release -p lseg-capi)" >&2; exit 1; }
plugin="$out/Lseg"
rm -rf "$plugin" && mkdir -p "$out"
cp -R "$root/bindings/unreal/Lseg" "$plugin"
inc="$plugin/Source/ThirdParty/LsegLibrary/include"
mkdir -p "$inc" "$plugin/Binaries/ThirdParty/Lseg/$platform"
cp "$root/include/lseg.h" "$root/bindings/cpp/lseg.hpp" "$inc/"
cp "$lib" "$plugin/Binaries/ThirdParty/Lseg/$platform/"
# Linux: the loader looks for the soname (liblseg.so.1), the linker for liblseg.so.
[ "$platform" = Linux ] && cp "$lib" "$plugin/Binaries/ThirdParty/Lseg/$platform/liblseg.so.1"
[ -f "$lib.lib" ] && cp "$lib.lib" "$plugin/Binaries/ThirdParty/Lseg/$platform/"
echo "$plugin"

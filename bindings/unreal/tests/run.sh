#!/usr/bin/env bash
# The Unreal plugin's engine-independent C++ (Source/Lseg/Private/LsegCore.*), compiled as
# Unreal's Linux toolchain compiles it (clang, -stdlib=libc++, -fno-exceptions, -fno-rtti)
# and run against the installed library and the C tests' reference files.
#   bash bindings/unreal/tests/run.sh PREFIX C_FIXTURES
set -euo pipefail
prefix="$1"; fixtures="$2"
root="$(cd "$(dirname "$0")/../../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/lseg/target}"
work="$CARGO_TARGET_DIR/unreal-tests"
mkdir -p "$work"
if ! echo '#include <vector>' | clang++ -stdlib=libc++ -x c++ -fsyntax-only - 2>/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang libc++-dev libc++abi-dev >/dev/null
fi
src="$root/bindings/unreal/Lseg/Source/Lseg/Private"
clang++ -std=c++17 -stdlib=libc++ -fno-exceptions -fno-rtti -DLSEG_CPP_NO_EXCEPTIONS=1 \
  -Wall -Wextra -Werror -pedantic -O1 -pthread -I"$prefix/include" -I"$src" \
  -o "$work/test_core" "$root/bindings/unreal/tests/test_core.cpp" "$src/LsegCore.cpp" \
  -L"$prefix/lib" -llseg -Wl,-rpath,"$prefix/lib"
"$work/test_core" "$fixtures"

echo "--- the plugin staged with the library (assemble.sh)"
bash "$root/bindings/unreal/assemble.sh" "$work/staged" "$prefix/lib/liblseg.so" >/dev/null
p="$work/staged/Lseg"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["Modules"][0]["Name"] == "Lseg"' "$p/Lseg.uplugin"
for f in Source/ThirdParty/LsegLibrary/include/lseg.h Source/ThirdParty/LsegLibrary/include/lseg.hpp \
         Binaries/ThirdParty/Lseg/Linux/liblseg.so Binaries/ThirdParty/Lseg/Linux/liblseg.so.1; do
  [ -f "$p/$f" ] || { echo "staged plugin lacks $f" >&2; exit 1; }
done
echo "unreal plugin: staged layout complete"

#!/usr/bin/env bash
# The C# binding's tests under Mono (Debian's mono-devel and NUnit 2.6, installed here when
# missing): builds Lseg.dll with mcs from src/, the layout probe (layout/layout.c) with the C
# compiler, the NUnit tests, and runs them against PREFIX/lib/liblseg.so and the C tests'
# reference files; then compiles the Unity layer (bindings/unity) against the compile-only
# UnityEngine stub in tests/unity-stub.
#   bash bindings/csharp/tests/run.sh PREFIX C_FIXTURES
set -euo pipefail
prefix="$1"; fixtures="$2"
root="$(cd "$(dirname "$0")/../../.." && pwd)"
cs="$root/bindings/csharp"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/lseg/target}"
work="$CARGO_TARGET_DIR/csharp-tests"
step() { echo "--- $*"; }

nunit=/usr/lib/cli/nunit.framework-2.6.3/nunit.framework.dll
if ! command -v mcs >/dev/null || ! command -v nunit-console >/dev/null || [ ! -f "$nunit" ]; then
  step "installing mono-devel, libnunit-cil-dev, nunit-console"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mono-devel libnunit-cil-dev nunit-console >/dev/null
fi
rm -rf "$work" && mkdir -p "$work"
mcs_flags=(-langversion:7.2 -unsafe -warnaserror)

step "Lseg.dll (mcs $(mcs --version | awk '{print $NF}'))"
mcs "${mcs_flags[@]}" -target:library -doc:"$work/Lseg.xml" -out:"$work/Lseg.dll" "$cs"/src/Lseg/*.cs

step "layout probe: sizeof/offsetof of lseg.h's structs by the C compiler"
cc -std=c11 -Wall -Wextra -Werror -I"$prefix/include" -o "$work/layout" "$cs/tests/layout/layout.c"
"$work/layout" > "$work/layout.txt"

step "NUnit tests (mono, nunit-console)"
mcs "${mcs_flags[@]}" -target:library -r:"$work/Lseg.dll" -r:"$nunit" -out:"$work/Lseg.Tests.dll" "$cs/tests/LsegTests.cs"
cp "$nunit" "$work/"
(cd "$work" && LD_LIBRARY_PATH="$prefix/lib" LSEG_C_FIXTURES="$fixtures" LSEG_CS_LAYOUT="$work/layout.txt" \
  nunit-console -nologo -nodots Lseg.Tests.dll)

step "Unity layer against the compile-only UnityEngine stub"
mcs "${mcs_flags[@]}" -define:UNITY_5_3_OR_NEWER -target:library -out:"$work/Lseg.Unity.dll" \
  "$cs"/src/Lseg/*.cs "$root"/bindings/unity/com.lseg.lseg/Runtime/Unity/*.cs \
  "$root"/bindings/unity/com.lseg.lseg/Samples~/CameraSegmentation/*.cs "$cs"/tests/unity-stub/*.cs
step "Unity package: assembled with the built library, layout checked"
bash "$root/bindings/unity/assemble.sh" "$work/unity" "$prefix/lib/liblseg.so" >/dev/null
python3 "$root/bindings/unity/check-package.py" "$work/unity/com.lseg.lseg" "$root"
tar tzf "$work"/unity/com.lseg.lseg-*.tgz > "$work/unity-files.txt"  # no `| grep -q`: under pipefail, tar's SIGPIPE fails it
grep -qx 'package/package.json' "$work/unity-files.txt"
echo "C# binding: all tests passed"

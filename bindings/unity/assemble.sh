#!/usr/bin/env bash
# Assembles the Unity package with the built library:
#   cargo build --release -p lseg-capi
#   bash bindings/unity/assemble.sh OUT_DIR [LIBRARY]   # LIBRARY: liblseg.so, lseg.dll or liblseg.dylib
# writes OUT_DIR/com.lseg.lseg/ (the C# sources copied in from bindings/csharp/src/Lseg, the
# library under Runtime/Plugins/x86_64/, a .meta file with a stable GUID for every asset) and
# OUT_DIR/com.lseg.lseg-VERSION.tgz for Unity's "Add package from tarball".
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="$1"
lib="${2:-${CARGO_TARGET_DIR:-$HOME/.cache/lseg/target}/release/liblseg.so}"
[ -f "$lib" ] || { echo "assemble.sh: no library at $lib (cargo build --release -p lseg-capi)" >&2; exit 1; }
pkg="$out/com.lseg.lseg"
rm -rf "$pkg" && mkdir -p "$out"
cp -RL "$root/bindings/unity/com.lseg.lseg" "$pkg"   # -L: the shared C# sources, copied
cp "$lib" "$pkg/Runtime/Plugins/x86_64/"
python3 - "$pkg" <<'PY'
import hashlib, os, sys
pkg = sys.argv[1]
def importer(path):
    if os.path.isdir(path):
        return "folderAsset: yes\nDefaultImporter:\n  externalObjects: {}\n  userData:\n  assetBundleName:\n  assetBundleVariant:\n"
    ext = os.path.splitext(path)[1]
    if ext == ".cs":
        return ("MonoImporter:\n  externalObjects: {}\n  serializedVersion: 2\n  defaultReferences: []\n"
                "  executionOrder: 0\n  icon: {instanceID: 0}\n  userData:\n  assetBundleName:\n  assetBundleVariant:\n")
    if ext == ".asmdef":
        return "AssemblyDefinitionImporter:\n  externalObjects: {}\n  userData:\n  assetBundleName:\n  assetBundleVariant:\n"
    if ext in (".md", ".json", ".txt"):
        return "TextScriptImporter:\n  externalObjects: {}\n  userData:\n  assetBundleName:\n  assetBundleVariant:\n"
    return "DefaultImporter:\n  externalObjects: {}\n  userData:\n  assetBundleName:\n  assetBundleVariant:\n"
for dirpath, dirs, files in os.walk(pkg):
    # Unity ignores folders ending in ~ (Samples~, Documentation~): no .meta inside or for them.
    dirs[:] = [d for d in dirs if not d.endswith("~")]
    for name in dirs + files:
        if name.endswith(".meta"):
            continue
        path = os.path.join(dirpath, name)
        rel = os.path.relpath(path, pkg)
        if os.path.exists(path + ".meta"):
            continue
        guid = hashlib.md5(("com.lseg.lseg/" + rel).encode()).hexdigest()
        with open(path + ".meta", "w") as f:
            f.write("fileFormatVersion: 2\nguid: %s\n%s" % (guid, importer(path)))
PY
version=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' "$pkg/package.json")
(cd "$out" && rm -rf package && cp -R com.lseg.lseg package && tar czf "com.lseg.lseg-$version.tgz" package && rm -rf package)
echo "$pkg"
echo "$out/com.lseg.lseg-$version.tgz"

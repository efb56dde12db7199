"""Checks an assembled Unity package (bindings/unity/assemble.sh): package.json fields, the
asmdef, the native library in place, a .meta with a unique GUID next to every asset Unity
imports, and the C# sources identical to bindings/csharp/src/Lseg (shared, not forked).
    python3 check-package.py PACKAGE_DIR REPO_ROOT"""
import filecmp
import json
import os
import re
import sys

pkg, root = sys.argv[1], sys.argv[2]
errors = []
meta = json.load(open(os.path.join(pkg, "package.json")))
for key in ("name", "version", "displayName", "unity", "samples"):
    if key not in meta:
        errors.append("package.json has no " + key)
if not re.fullmatch(r"[a-z0-9.-]+", meta.get("name", "")):
    errors.append("package name is not a reverse-domain lower-case name")
asm = json.load(open(os.path.join(pkg, "Runtime", "Lseg.asmdef")))
if not asm.get("allowUnsafeCode"):
    errors.append("the asmdef must allow unsafe code")
if not os.path.isfile(os.path.join(pkg, "Runtime", "Plugins", "x86_64", "liblseg.so")):
    errors.append("no Runtime/Plugins/x86_64/liblseg.so")
guids = {}
for dirpath, dirs, files in os.walk(pkg):
    dirs[:] = [d for d in dirs if not d.endswith("~")]
    for name in dirs + files:
        if name.endswith(".meta"):
            continue
        path = os.path.join(dirpath, name)
        if not os.path.exists(path + ".meta"):
            errors.append("no .meta for " + os.path.relpath(path, pkg))
            continue
        m = re.search(r"^guid: ([0-9a-f]{32})$", open(path + ".meta").read(), re.M)
        if not m:
            errors.append("no guid in " + os.path.relpath(path, pkg) + ".meta")
        elif m.group(1) in guids:
            errors.append("duplicate guid: %s and %s" % (guids[m.group(1)], path))
        else:
            guids[m.group(1)] = path
src = os.path.join(root, "bindings", "csharp", "src", "Lseg")
for f in sorted(os.listdir(src)):
    if f.endswith(".cs") and not filecmp.cmp(os.path.join(src, f), os.path.join(pkg, "Runtime", "Lseg", f), shallow=False):
        errors.append("Runtime/Lseg/%s differs from bindings/csharp/src/Lseg" % f)
if errors:
    print("\n".join(errors))
    sys.exit(1)
print("unity package: %d assets with unique GUIDs, sources shared" % len(guids))

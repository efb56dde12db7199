#!/usr/bin/env bash
# Regenerates vendor/burn-flex.patch: lseg's changes to the vendored burn-flex 0.22.1, against
# the commit that vendored the release unmodified (the crates.io package, upstream
# tracel-ai/burn crates/burn-flex). The patch applies with `git apply -p3` (or `patch -p3`)
# in a checkout of upstream's crates/burn-flex.
set -euo pipefail
cd "$(dirname "$0")/.."
base=$(git log --format=%H --diff-filter=A -- vendor/burn-flex/src/lib.rs | tail -1)
git add -N vendor/burn-flex
git diff "$base" -- vendor/burn-flex ':!vendor/burn-flex/PATCH.md' > vendor/burn-flex.patch
echo "vendor/burn-flex.patch: $(grep -c '^diff --git' vendor/burn-flex.patch) files changed against $base"

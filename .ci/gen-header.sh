#!/usr/bin/env bash
# Regenerates include/lseg.h from src/capi/mod.rs (cbindgen as a library, see tests/header.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
LSEG_BLESS=1 cargo test --release --test header -q
echo "include/lseg.h regenerated"

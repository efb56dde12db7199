#!/usr/bin/env bash
# Regenerates include/lseg.h from src/capi/mod.rs (cbindgen, see tools/header-check).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run -q --release --manifest-path tools/header-check/Cargo.toml -- --write

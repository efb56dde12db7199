#!/usr/bin/env bash
# Regenerates include/lseg.h from bindings/c/src (cbindgen, see bindings/c/header-check).
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo run -q --release --manifest-path bindings/c/header-check/Cargo.toml -- --write

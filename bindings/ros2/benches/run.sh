#!/usr/bin/env bash
# End-to-end frame rate and latency of the lseg ROS 2 node over DDS on loopback:
#   bash bindings/ros2/benches/run.sh WEIGHTS [RATE_HZ] [SECONDS] [SIZE]
# Starts the node (release build, flex) on its own DDS domain and examples/latency.rs, which
# publishes 640x480 rgb8 frames and matches the masks by stamp. Prints the CPU and one JSON line.
set -euo pipefail
cd "$(dirname "$0")/../../.."
weights="$1"; rate="${2:-5}"; seconds="${3:-30}"; size="${4:-480}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/lseg/target}"
cargo build -q --release -p lseg-ros2 --bin lseg_node --example latency
export ROS_DOMAIN_ID="${ROS_DOMAIN_ID:-42}"
lscpu | grep -E 'Model name|^CPU\(s\)'
grep -o -w -E 'avx2|avx512f|avx512_bf16|amx_bf16' /proc/cpuinfo | sort -u | tr '\n' ' '; echo
"$CARGO_TARGET_DIR/release/lseg_node" --ros-args -p "weights:=$weights" -p "size:=$size" \
  -p "labels:=floor, wall, person, chair, other" -r image:=/bench/image &
node=$!
trap 'kill -INT $node 2>/dev/null; wait $node 2>/dev/null || true' EXIT
"$CARGO_TARGET_DIR/release/examples/latency" "$rate" "$seconds"

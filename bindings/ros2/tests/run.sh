#!/usr/bin/env bash
# The ROS 2 node's wire-compatibility test (the loopback tests, tests/loopback.rs, run with
# the workspace's `cargo test`): installs Cyclone DDS from Debian (cyclonedds-dev,
# cyclonedds-tools), generates the ROS 2 types with its idlc, builds the peer
# (tests/cyclone/interop.c) and runs tests/cyclone.rs against it.
set -euo pipefail
root="$(cd "$(dirname "$0")/../../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/lseg/target}"
work="$CARGO_TARGET_DIR/ros2-tests"
step() { echo "--- $*"; }

if ! command -v idlc >/dev/null || ! pkg-config --exists CycloneDDS 2>/dev/null; then
  step "installing cyclonedds-dev cyclonedds-tools"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq cyclonedds-dev cyclonedds-tools pkg-config >/dev/null
fi

step "Cyclone DDS peer: idlc ros2_types.idl, cc interop.c"
rm -rf "$work" && mkdir -p "$work"
(cd "$work" && idlc "$root/bindings/ros2/tests/cyclone/ros2_types.idl" 2>&1)
cc -std=c11 -Wall -Wextra -Werror -O1 -I"$work" -o "$work/interop" \
  "$root/bindings/ros2/tests/cyclone/interop.c" "$work/ros2_types.c" \
  $(pkg-config --cflags --libs CycloneDDS)

step "the node and the Cyclone DDS peer over loopback"
cd "$root"
LSEG_CYCLONE_PEER="$work/interop" cargo test --release --workspace --all-features \
  --test cyclone -- --ignored

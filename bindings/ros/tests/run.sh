#!/usr/bin/env bash
# ROS 1 node checks: installs Debian 12's ROS 1 packages (apt, when missing), builds
# bindings/ros/lseg_ros with catkin_make against an installed lseg prefix (lseg.h, lseg.hpp,
# CMake package), and runs its rostest: a real roscore, the node, and test/check_lseg.py (in a
# venv that sees Debian's rospy and has the lseg wheel, for the expected label maps).
# Usage: bash bindings/ros/tests/run.sh PREFIX WHEEL
#   e.g. bash bindings/ros/tests/run.sh "$CARGO_TARGET_DIR/c-install" "$CARGO_TARGET_DIR"/python-tests/dist/lseg-*.whl
set -euo pipefail
cd "$(dirname "$0")/../../.."
root="$PWD"
usage="usage: run.sh PREFIX WHEEL"
prefix="$(cd "${1:?$usage}" && pwd)"
wheel="${2:?$usage}"
target="${CARGO_TARGET_DIR:-$root/target}"
work="$target/ros-tests"
t0=$(date +%s)
step() { echo "== [$(( $(date +%s) - t0 ))s] $*"; }

pkgs=(catkin libroscpp-dev libnodeletlib-dev libnodelet-dev libimage-transport-dev
      libsensor-msgs-dev libstd-msgs-dev libdiagnostic-updater-dev pluginlib-dev
      ros-message-generation ros-message-runtime python3-gencpp python3-genmsg python3-genpy
      python3-rostest python3-roslaunch python3-rosmaster python3-rospy python3-sensor-msgs
      python3-std-msgs python3-venv rosbash libnodeletlib-tools cmake g++)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  step "installing ${missing[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# Debian's ROS tools and catkin's CMake run on Debian's python3 (rospy, catkin_pkg).
export PATH="/usr/bin:$PATH"

rm -rf "$work"
mkdir -p "$work/ws/src"
ln -s "$root/bindings/ros/lseg_ros" "$work/ws/src/lseg_ros"
step "catkin_make (lseg_ros against $prefix)"
catkin_make -C "$work/ws" -DPYTHON_EXECUTABLE=/usr/bin/python3 -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_BUILD_TYPE=Release -j2 >"$work/catkin_make.log" 2>&1 ||
  { tail -40 "$work/catkin_make.log"; exit 1; }

step "checker venv: Debian's rospy + numpy + the lseg wheel"
/usr/bin/python3 -m venv --system-site-packages "$work/venv"
"$work/venv/bin/python" -m pip install -q numpy "$wheel"

step "rostest lseg_ros lseg.test (roscore, node, checker)"
set +u  # setup.bash reads unset variables
# shellcheck disable=SC1091
source "$work/ws/devel/setup.bash"
set -u
export PATH="$work/venv/bin:$PATH"
export ROS_HOME="$work/roshome"
export LSEG_TEST_WEIGHTS="$root/examples/data/tiny-random-vit16.safetensors"
rostest lseg_ros lseg.test 2>&1 | tee "$work/rostest.log"
grep -q "RESULT: SUCCESS" "$work/rostest.log" || { echo "rostest failed" >&2; exit 1; }
step "done in $(( $(date +%s) - t0 ))s"

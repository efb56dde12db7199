#!/usr/bin/env bash
# Latency and frame rate of the lseg ROS node on this machine: starts a roscore and the node
# (built by bindings/ros/tests/run.sh) with WEIGHTS, publishes frames, prints the numbers.
# Usage: bash bindings/ros/benches/run.sh WEIGHTS [latency.py options]
set -euo pipefail
cd "$(dirname "$0")/../../.."
target="${CARGO_TARGET_DIR:-$PWD/target}"
work="$target/ros-tests"
weights="$(realpath "${1:?usage: run.sh WEIGHTS [options]}")"; shift
export PATH="$work/venv/bin:/usr/bin:$PATH" ROS_HOME="$work/roshome"
set +u; source "$work/ws/devel/setup.bash"; set -u
export ROS_MASTER_URI=http://localhost:11411
roscore -p 11411 >/dev/null 2>&1 & core=$!
trap 'kill $node $core 2>/dev/null; wait 2>/dev/null' EXIT
sleep 3
"$work/ws/devel/lib/lseg_ros/lseg_node" __name:=lseg _weights:="$weights" \
  _labels:="floor, wall, person, chair, other" ~image:=/bench/image >/dev/null 2>&1 & node=$!
python3 - <<'PY'
import rospy; from std_msgs.msg import String
rospy.init_node("wait", anonymous=True); rospy.wait_for_message("/lseg/label_info", String, timeout=300)
PY
python3 bindings/ros/benches/latency.py "$@"

#!/usr/bin/env python3
"""End-to-end latency and frame rate of a running lseg node (node overhead included):
publishes WIDTHxHEIGHT rgb8 frames on /bench/image at RATE Hz for SECONDS and matches the
masks by stamp. Prints the CPU, the mean/median/max latency (publish -> mask received) and
the masks per second. Usage: latency.py [--rate 30] [--seconds 20] [--width 640 --height 480]"""

import argparse
import re
import threading
import time

import numpy as np
import rospy
from sensor_msgs.msg import Image


def cpu():
    try:
        info = open("/proc/cpuinfo").read()
        name = re.search(r"model name\s*:\s*(.*)", info).group(1)
        flags = set(re.search(r"flags\s*:\s*(.*)", info).group(1).split())
        return name + " (" + ", ".join(f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if f in flags) + ")"
    except Exception:
        return "unknown"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=float, default=30.0)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--height", type=int, default=480)
    ap.add_argument("--node", default="/lseg")
    a = ap.parse_args()
    rospy.init_node("lseg_latency")
    sent, lat = {}, []
    lock = threading.Lock()

    def on_mask(m):
        t = time.perf_counter()
        with lock:
            t0 = sent.get(m.header.stamp.nsecs)
            if t0 is not None:
                lat.append(t - t0)

    rospy.Subscriber(a.node + "/mask", Image, on_mask, queue_size=100)
    pub = rospy.Publisher("/bench/image", Image, queue_size=1)
    while pub.get_num_connections() == 0:
        time.sleep(0.05)
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (a.height, a.width, 3), dtype=np.uint8).tobytes()
    start, k = time.perf_counter(), 0
    while time.perf_counter() - start < a.seconds:
        k += 1
        m = Image(height=a.height, width=a.width, encoding="rgb8", step=a.width * 3, data=img)
        m.header.stamp = rospy.Time(1, k)
        with lock:
            sent[k] = time.perf_counter()
        pub.publish(m)
        time.sleep(max(0.0, start + k / a.rate - time.perf_counter()))
    time.sleep(3.0)
    with lock:
        ls = sorted(lat)
    n = len(ls)
    print(f"cpu: {cpu()}")
    print(f"{a.width}x{a.height} rgb8 at {a.rate:g} Hz for {a.seconds:g} s: {k} sent, {n} masks "
          f"({n / a.seconds:.2f} fps), latency mean {1e3 * sum(ls) / max(n, 1):.1f} ms, "
          f"median {1e3 * ls[n // 2] if n else 0:.1f} ms, max {1e3 * ls[-1] if n else 0:.1f} ms")


if __name__ == "__main__":
    main()

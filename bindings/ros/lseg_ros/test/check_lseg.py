#!/usr/bin/env python3
"""rostest checker of the lseg node: masks equal the library's label maps bit for bit for
every accepted encoding, bad frames are rejected without killing the node, label changes
through the parameter and the service never mix two label sets in one mask, a fast publisher
gets frames dropped (the newest wins), and the node exits cleanly on SIGINT.
The expected label maps come from the lseg Python package (the same library)."""

import json
import os
import signal
import subprocess
import threading
import time
import unittest

import numpy as np
import rospy
import rostest
from sensor_msgs.msg import Image
from std_msgs.msg import String

import lseg
from lseg_ros.srv import SetLabels

NODE = "/lseg"
SIZE = 64
WEIGHTS = os.environ["LSEG_TEST_WEIGHTS"]


def frame(k, h=48, w=64):
    """A deterministic RGB frame, different for every k."""
    y, x = np.mgrid[0:h, 0:w]
    rng = np.random.default_rng(k)
    img = np.stack([(x * 4 + 9 * k) % 256, (y * 5) % 256, (x * y + 31 * k) % 256], -1)
    return np.clip(img + rng.integers(-30, 30, img.shape), 0, 255).astype(np.uint8)


def to_msg(rgb, encoding, seq, pad=0):
    h, w = rgb.shape[:2]
    if encoding == "rgb8":
        px = rgb
    elif encoding == "bgr8":
        px = rgb[..., ::-1]
    elif encoding == "rgba8":
        px = np.concatenate([rgb, np.full((h, w, 1), 7, np.uint8)], -1)
    elif encoding == "bgra8":
        px = np.concatenate([rgb[..., ::-1], np.full((h, w, 1), 7, np.uint8)], -1)
    elif encoding == "mono8":
        px = rgb[..., 1]
    else:
        px = rgb
    rows = np.ascontiguousarray(px).reshape(h, -1)
    if pad:
        rows = np.concatenate([rows, np.zeros((h, pad), np.uint8)], 1)
    m = Image()
    m.header.stamp = rospy.Time(1000, seq)
    m.header.frame_id = "cam%d" % seq
    m.height, m.width, m.encoding = h, w, encoding
    m.step = rows.shape[1]
    m.data = rows.tobytes()
    return m


class Checker(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        rospy.init_node("check_lseg")
        cls.model = lseg.Model(WEIGHTS)
        cls.masks = {}
        cls.cond = threading.Condition()
        cls.pub = rospy.Publisher("/test/image", Image, queue_size=100)
        rospy.Subscriber(NODE + "/mask", Image, cls.on_mask, queue_size=1000)
        info = rospy.wait_for_message(NODE + "/label_info", String, timeout=120)
        cls.first_info = json.loads(info.data)
        deadline = time.time() + 30
        while cls.pub.get_num_connections() == 0 and time.time() < deadline:
            time.sleep(0.05)
        cls.seq = 0

    @classmethod
    def on_mask(cls, m):
        with cls.cond:
            cls.masks[m.header.stamp.nsecs] = m
            cls.cond.notify_all()

    def send(self, msg):
        self.pub.publish(msg)
        return msg.header.stamp.nsecs

    def next_seq(self):
        Checker.seq += 1
        return Checker.seq

    def wait_mask(self, seq, timeout=30.0):
        deadline = time.time() + timeout
        with self.cond:
            while seq not in self.masks and time.time() < deadline:
                self.cond.wait(0.1)
            return self.masks.get(seq)

    def expected(self, img, labels):
        return self.model.segment(img, labels, size=SIZE).label_map

    def mask_array(self, m):
        self.assertEqual(m.encoding, "mono8")
        return np.frombuffer(m.data, np.uint8).reshape(m.height, m.step)[:, : m.width]

    def test_1_label_info(self):
        self.assertEqual(self.first_info["labels"], ["grass", "sky"])
        self.assertEqual(rospy.get_param(NODE + "/label_names"), ["grass", "sky"])

    def test_2_every_encoding_bit_for_bit(self):
        labels = ["grass", "sky"]
        for enc in ["rgb8", "bgr8", "rgba8", "bgra8", "mono8"]:
            rgb = frame(self.next_seq())
            seq = self.send(to_msg(rgb, enc, Checker.seq))
            m = self.wait_mask(seq)
            self.assertIsNotNone(m, enc)
            self.assertEqual(m.header.frame_id, "cam%d" % seq)
            img = rgb[..., 1] if enc == "mono8" else rgb
            np.testing.assert_array_equal(self.mask_array(m), self.expected(img, labels), err_msg=enc)
        # A padded row stride is read as such.
        rgb = frame(self.next_seq())
        seq = self.send(to_msg(rgb, "rgb8", Checker.seq, pad=5))
        np.testing.assert_array_equal(self.mask_array(self.wait_mask(seq)), self.expected(rgb, labels))

    def test_3_bad_frames_rejected_node_alive(self):
        bad = to_msg(frame(self.next_seq()), "rgb8", Checker.seq)
        bad.step = 10  # shorter than a row
        s1 = self.send(bad)
        weird = to_msg(frame(self.next_seq()), "16UC1", Checker.seq)
        s2 = self.send(weird)
        short = to_msg(frame(self.next_seq()), "rgb8", Checker.seq)
        short.data = short.data[:-7]
        s3 = self.send(short)
        time.sleep(1.0)
        good = self.send(to_msg(frame(self.next_seq()), "rgb8", Checker.seq))
        self.assertIsNotNone(self.wait_mask(good))
        for s in (s1, s2, s3):
            self.assertNotIn(s, self.masks)

    def test_4_label_changes_never_mix(self):
        sets = [["grass", "sky"], ["dirt", "forest", "water"], ["road", "car", "tree", "house"]]
        frames = {}
        stop = threading.Event()

        def stream():
            while not stop.is_set():
                seq = self.next_seq()
                frames[seq] = frame(seq % 7)
                self.send(to_msg(frames[seq], "rgb8", seq))
                time.sleep(0.02)

        t = threading.Thread(target=stream)
        t.start()
        time.sleep(1.0)
        set_labels = rospy.ServiceProxy(NODE + "/set_labels", SetLabels)
        r = set_labels(sets[1])
        self.assertTrue(r.success, r.message)
        time.sleep(1.0)
        rospy.set_param(NODE + "/labels", ", ".join(sets[2]))
        time.sleep(2.0)
        bad = set_labels([""])
        self.assertFalse(bad.success)
        self.assertIn("empty", bad.message)
        time.sleep(0.5)
        stop.set()
        t.join()
        time.sleep(1.0)
        expected = {}
        used = set()
        with self.cond:
            got = {s: m for s, m in self.masks.items() if s in frames}
        self.assertGreater(len(got), 5)
        for seq, m in got.items():
            arr = self.mask_array(m)
            k = seq % 7
            matches = []
            for i, labels in enumerate(sets):
                if (k, i) not in expected:
                    expected[(k, i)] = self.expected(frames[seq], labels)
                if np.array_equal(arr, expected[(k, i)]):
                    matches.append(i)
            self.assertTrue(matches, "mask %d matches no complete label set" % seq)
            used.update(matches)
        self.assertIn(2, used)  # the parameter's set reached the masks
        info = json.loads(rospy.wait_for_message(NODE + "/label_info", String, timeout=10).data)
        self.assertEqual(info["labels"], sets[2])
        self.assertGreaterEqual(info["version"], 3)

    def test_5_fast_publisher_drops_frames_newest_wins(self):
        seqs = []
        for _ in range(60):
            seq = self.next_seq()
            seqs.append(self.send(to_msg(frame(seq % 5, 240, 320), "rgb8", seq)))
        last = self.wait_mask(seqs[-1], timeout=60)
        self.assertIsNotNone(last, "the newest frame got no mask")
        time.sleep(0.5)
        received = [s for s in seqs if s in self.masks]
        self.assertLess(len(received), len(seqs))

    def test_6_confidence_scores_color_on_subscription(self):
        got = {}
        ev = threading.Event()

        def keep(name):
            def cb(m):
                got.setdefault(name, {})[m.header.stamp.nsecs] = m
                ev.set()
            return cb

        subs = [rospy.Subscriber(NODE + "/confidence", Image, keep("conf")),
                rospy.Subscriber(NODE + "/scores/1", Image, keep("scores1")),
                rospy.Subscriber(NODE + "/color", Image, keep("color")),
                rospy.Subscriber(NODE + "/overlay", Image, keep("overlay"))]
        time.sleep(1.0)  # connections
        labels = rospy.get_param(NODE + "/label_names")
        rgb = frame(self.next_seq())
        seq = self.send(to_msg(rgb, "rgb8", Checker.seq))
        deadline = time.time() + 30
        while time.time() < deadline and not all(seq in got.get(k, {}) for k in
                                                 ("conf", "scores1", "color", "overlay")):
            ev.wait(0.1)
            ev.clear()
        for s in subs:
            s.unregister()
        want = self.model.segment(rgb, labels, size=SIZE)
        h, w = rgb.shape[:2]
        conf = got["conf"][seq]
        self.assertEqual(conf.encoding, "32FC1")
        np.testing.assert_array_equal(np.frombuffer(conf.data, np.float32).reshape(h, w), want.confidence)
        sc = got["scores1"][seq]
        np.testing.assert_array_equal(np.frombuffer(sc.data, np.float32).reshape(h, w), want.scores[1])
        color = np.frombuffer(got["color"][seq].data, np.uint8).reshape(h, w, 3)
        lm = want.label_map
        for k in np.unique(lm):  # lseg's palette, as the CLI and the ROS 2 node draw
            cols = np.unique(color[lm == k], axis=0)
            self.assertEqual([tuple(c) for c in cols], [lseg.label_color(int(k))])
        self.assertEqual(got["overlay"][seq].encoding, "rgb8")

    def test_7_clean_exit_on_sigint(self):
        exe = subprocess.check_output(["catkin_find", "--first-only", "lseg_ros", "lseg_node"]).decode().strip()
        p = subprocess.Popen([exe, "__name:=lseg_exit", "_weights:=" + WEIGHTS, "_labels:=a, b"])
        rospy.wait_for_message("/lseg_exit/label_info", String, timeout=60)
        p.send_signal(signal.SIGINT)
        self.assertEqual(p.wait(timeout=30), 0)


if __name__ == "__main__":
    rostest.rosrun("lseg_ros", "check_lseg", Checker)

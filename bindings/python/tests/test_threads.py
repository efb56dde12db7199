"""The GIL is released during compute; threads share one model; Ctrl-C cancels."""

import os
import subprocess
import sys
import textwrap
import threading

import numpy as np

LABELS = ["grass", "dirt", "forest", "sky"]
MS = dict(mode="multiscale", base_size=160, crop_size=64, scales=[0.75, 1.0, 1.25, 1.5])


def test_threads_share_one_model(model, image):
    want = [model.segment(np.roll(image, k, axis=1), LABELS, size=64).scores for k in range(4)]
    got = [None] * 4
    barrier = threading.Barrier(4)

    def work(k):
        barrier.wait()
        for _ in range(3):
            got[k] = model.segment(np.roll(image, k, axis=1), LABELS, size=64).scores

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k in range(4):
        np.testing.assert_array_equal(got[k], want[k])


def test_gil_released_during_compute(model, image):
    """With preemption switched off, the main thread can only run while the worker is
    inside the call if the call releases the GIL between progress callbacks."""
    big = np.tile(image, (3, 3, 1))
    started, state = threading.Event(), {"calls": 0, "done": False}

    def progress(done, total):
        state["calls"], state["total"] = done, total
        started.set()

    def work():
        model.segment(big, LABELS, progress=progress, **MS)
        state["done"] = True

    old = sys.getswitchinterval()
    sys.setswitchinterval(1000.0)
    try:
        t = threading.Thread(target=work)
        t.start()
        assert started.wait(60)
        seen = (state["done"], state["calls"], state["total"])
        t.join()
    finally:
        sys.setswitchinterval(old)
    done, calls, total = seen
    assert not done and calls < total, seen


def test_ctrl_c_cancels_multiscale():
    """SIGINT during a multi-scale run raises KeyboardInterrupt at the next pass, in the
    main thread of a fresh interpreter (no user progress callback needed for it)."""
    from conftest import TINY_MODEL

    script = textwrap.dedent(
        f"""
        import os, signal, sys, threading
        import numpy as np
        import lseg
        # A shell that starts a job in the background (`cmd &`) makes it ignore SIGINT, and
        # Python keeps an inherited SIG_IGN: give the interpreter its usual handler back.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        m = lseg.Model({str(TINY_MODEL)!r})
        img = np.zeros((180, 270, 3), np.uint8)
        first = threading.Event()
        def progress(done, total):
            first.set()
        threading.Thread(target=lambda: (first.wait(), os.kill(os.getpid(), signal.SIGINT))).start()
        try:
            m.segment(img, ["a", "b"], progress=progress, mode="multiscale", base_size=160,
                      crop_size=64, scales=[0.75, 1.0, 1.25, 1.5, 1.75, 2.0])
        except KeyboardInterrupt:
            print("interrupted")
            sys.exit(0)
        print("finished")
        """
    )
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                       timeout=300, env=dict(os.environ))
    assert r.stdout.strip() == "interrupted", r.stdout + r.stderr

"""Every argument error: the right exception class and the library's message."""

import numpy as np
import pytest

import lseg
from conftest import TINY_MODEL

LABELS = ["grass", "sky"]


@pytest.mark.parametrize(
    "img,match",
    [
        (np.zeros((20, 30, 3), np.float32), "dtype is float32, expected uint8"),
        (np.zeros((20, 30, 2), np.uint8), r"shape is \[20, 30, 2\]"),
        (np.zeros((1, 20, 30, 3), np.uint8), "expected \\(H, W\\)"),
        (np.zeros((0, 30, 3), np.uint8), "is empty"),
        (np.zeros((20, 16385), np.uint8), "exceeds the maximum side 16384"),
        ([[1, 2], [3, 4]], "numpy.ndarray of uint8"),
        ("image.png", "got str"),
    ],
)
def test_bad_images(model, img, match):
    with pytest.raises(lseg.ArgumentError, match=match):
        model.segment(img, LABELS)
    with pytest.raises(lseg.ArgumentError, match=match):
        model.embed(img)


def test_pil_with_bgr(model):
    Image = pytest.importorskip("PIL.Image")
    with pytest.raises(lseg.ArgumentError, match="bgr=True"):
        model.segment(Image.new("RGB", (8, 8)), LABELS, bgr=True)


@pytest.mark.parametrize(
    "labels,match",
    [
        ([], "empty"),
        ([""], "empty"),
        (["ok", "  "], "empty"),
        (["word " * 80], "77"),
        (["a" * (lseg.MAX_LABEL_BYTES + 1)], "4097 bytes"),
    ],
)
def test_bad_labels(model, labels, match):
    with pytest.raises(lseg.LabelError, match=match):
        model.encode_labels(labels)
    with pytest.raises(lseg.LabelError, match=match):
        model.segment(np.zeros((8, 8, 3), np.uint8), labels)


def test_label_types_and_truncation(model):
    with pytest.raises(lseg.ArgumentError, match="list of str"):
        model.encode_labels([1, 2])
    with pytest.raises(lseg.ArgumentError, match="list of str"):
        model.encode_labels(None)
    assert len(model.encode_labels(["word " * 80], truncate=True)) == 1
    with pytest.raises(lseg.LabelError, match="65535"):
        model.encode_labels(["x"] * (lseg.MAX_LABELS + 1))
    with pytest.raises(lseg.LabelError, match="bytes"):  # even when truncating
        model.encode_labels(["b " * lseg.MAX_LABEL_BYTES], truncate=True)


def test_labels_of_another_model(model):
    other = lseg.Model(TINY_MODEL)
    labels = other.encode_labels(LABELS)
    with pytest.raises(lseg.ArgumentError, match="another model"):
        model.segment(np.zeros((8, 8, 3), np.uint8), labels)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(mode="fancy"), "mode is \"fancy\""),
        (dict(size=0), "size"),
        (dict(size=100000), "size"),
        (dict(mode="multiscale", scales=[]), "scales"),
        (dict(mode="multiscale", scales=[-1.0]), "scale"),
        (dict(mode="multiscale", crop_size=0), "crop_size"),
        (dict(progress=3), "progress must be a callable"),
    ],
)
def test_bad_segment_options(model, kwargs, match):
    with pytest.raises(lseg.ArgumentError, match=match):
        model.segment(np.zeros((8, 8, 3), np.uint8), LABELS, **kwargs)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(norm="l3"), 'norm is "l3"'),
        (dict(resolution="full"), 'resolution is "full"'),
        (dict(dtype="bf16"), 'dtype is "bf16"'),
        (dict(layout="nchw"), 'layout is "nchw"'),
        (dict(size=0), "size"),
    ],
)
def test_bad_embed_options(model, kwargs, match):
    with pytest.raises(lseg.ArgumentError, match=match):
        model.embed(np.zeros((8, 8, 3), np.uint8), **kwargs)


def test_bad_weights(tmp_path):
    missing = tmp_path / "nope.safetensors"
    with pytest.raises(lseg.WeightsError, match="nope.safetensors"):
        lseg.Model(missing)
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not json at all!")
    with pytest.raises(lseg.WeightsError, match="invalid weights"):
        lseg.Model(bad)
    with pytest.raises(lseg.WeightsError, match="invalid weights"):
        lseg.Model.from_bytes(b"\x00" * 3)
    truncated = TINY_MODEL.read_bytes()[:100000]
    with pytest.raises(lseg.WeightsError):
        lseg.Model.from_bytes(truncated)
    with pytest.raises(lseg.WeightsError, match="configuration"):
        lseg.Model(TINY_MODEL, config='{"not": "a config"}')
    with pytest.raises(lseg.ArgumentError, match="config must be"):
        lseg.Model(TINY_MODEL, config=42)


def test_bad_backend_and_dtype():
    with pytest.raises(lseg.ArgumentError, match="unknown backend `gpu`"):
        lseg.Model(TINY_MODEL, backend="gpu")
    with pytest.raises(lseg.ArgumentError, match="unknown dtype `f64`"):
        lseg.Model(TINY_MODEL, dtype="f64")
    with pytest.raises(lseg.ArgumentError, match="threads"):
        lseg.Model(TINY_MODEL, threads=0)
    for b in ["ndarray", "tch", "cuda:0"]:
        if b.split(":")[0] not in lseg.compiled_backends():
            with pytest.raises(lseg.BackendUnavailableError, match="not compiled"):
                lseg.Model(TINY_MODEL, backend=b)


def test_cancel_and_callback_errors(model, image):
    ms = dict(mode="multiscale", base_size=80, crop_size=64, scales=[0.75, 1.25])
    calls = []

    def stop(done, total):
        calls.append((done, total))
        return False

    with pytest.raises(lseg.CancelledError, match="cancelled"):
        model.segment(image, LABELS, progress=stop, **ms)
    assert len(calls) == 1 and calls[0][0] < calls[0][1]

    def boom(done, total):
        raise RuntimeError("boom at %d" % done)

    with pytest.raises(RuntimeError, match="boom at"):
        model.segment(image, LABELS, progress=boom, **ms)
    # The model is still usable.
    assert model.segment(image, LABELS, size=64).label_map.shape == image.shape[:2]

"""The Python API: inputs of every kind, results, options, progress."""

import numpy as np
import pytest

import lseg

LABELS = ["grass", "dirt", "forest", "sky"]


def seg_scores(model, img, **kw):
    return model.segment(img, LABELS, size=64, **kw).scores


def test_module():
    assert lseg.__version__.count(".") == 2
    assert "flex" in lseg.compiled_backends()
    assert lseg.MAX_LABELS == 65535 and lseg.MAX_IMAGE_SIDE == 16384
    assert (lseg.MAX_LABEL_BYTES, lseg.MAX_SCALES, lseg.MAX_WEIGHTS_BYTES) == (4096, 64, 8 << 30)
    for e in [lseg.ArgumentError, lseg.WeightsError, lseg.LabelError,
              lseg.BackendUnavailableError, lseg.CancelledError]:
        assert issubclass(e, lseg.LsegError)
    assert issubclass(lseg.ArgumentError, ValueError)


def test_label_colors_distinct_and_stable():
    colors = [lseg.label_color(i) for i in range(300)]
    assert len(set(colors)) == 300
    assert all(len(c) == 3 and all(0 <= v <= 255 for v in c) for c in colors)
    assert colors[0] == (0xF3, 0xC3, 0x00)  # Kelly's first colour, as the CLI draws label 0
    with pytest.raises(OverflowError):
        lseg.label_color(-1)


def test_model_properties(model):
    assert model.embed_dim > 0
    assert model.backend == "flex" and model.dtype == "f32"
    cfg = model.config
    assert isinstance(cfg, dict) and cfg["out_dim"] == model.embed_dim
    assert "embed_dim=" in repr(model)
    # The config round-trips as an explicit configuration.
    m2 = lseg.Model(lseg_model_path(), config=cfg)
    assert m2.config == cfg


def lseg_model_path():
    from conftest import TINY_MODEL
    return TINY_MODEL


def test_labels(model):
    labels = model.encode_labels(LABELS)
    assert len(labels) == 4 and labels.names == LABELS
    e = labels.embeddings
    assert e.shape == (4, model.embed_dim) and e.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(e, axis=1), 1.0, rtol=1e-5)
    # One comma-separated string is the same list.
    np.testing.assert_array_equal(model.encode_labels("grass, dirt,forest , sky").embeddings, e)
    assert "grass" in repr(labels)


def test_labels_object_equals_list(model, image):
    labels = model.encode_labels(LABELS)
    a = model.segment(image, labels, size=64)
    b = model.segment(image, LABELS, size=64)
    np.testing.assert_array_equal(a.scores, b.scores)
    assert a.labels.names == LABELS


def test_segment_batch_equals_segment(model, image):
    images = [image, image[: image.shape[0] // 2], np.ascontiguousarray(image[:, ::-1])]
    labels = model.encode_labels(LABELS)
    calls = []
    batch = model.segment_batch(images, labels, size=64, progress=lambda d, t: calls.append((d, t)))
    assert len(batch) == 3 and calls[-1] == (3, 3)
    for im, seg in zip(images, batch):
        one = model.segment(im, labels, size=64)
        assert (seg.height, seg.width) == im.shape[:2]
        np.testing.assert_array_equal(seg.label_map, one.label_map)
        np.testing.assert_allclose(seg.scores, one.scores, atol=1e-4)
    assert model.segment_batch([], LABELS) == []
    with pytest.raises(lseg.CancelledError):
        model.segment_batch(images, labels, size=64, progress=lambda d, t: False)
    with pytest.raises(lseg.ArgumentError):
        model.segment_batch([image, np.zeros((0, 5, 3), np.uint8)], labels)


def test_segmentation_result(model, image):
    seg = model.segment(image, LABELS, size=64)
    h, w = image.shape[:2]
    assert (seg.height, seg.width) == (h, w)
    assert seg.scores.shape == (4, h, w) and seg.scores.dtype == np.float32
    np.testing.assert_array_equal(seg.label_map, seg.scores.argmax(axis=0))
    assert seg.label_map is seg.label_map  # computed once
    p = np.exp(seg.scores - seg.scores.max(axis=0))
    np.testing.assert_allclose(seg.confidence, (p / p.sum(axis=0)).max(axis=0), rtol=1e-5)
    shares = seg.shares()
    assert list(shares) == LABELS
    assert round(sum(shares.values()), 6) == 100.0
    counts = np.bincount(seg.label_map.ravel(), minlength=4)
    np.testing.assert_allclose(list(shares.values()), counts * 100 / counts.sum(), atol=0.011)
    assert "4 labels" in repr(seg)


def test_pixel_formats(model, image):
    want = seg_scores(model, image)
    alpha = np.random.default_rng(1).integers(0, 256, image.shape[:2] + (1,), dtype=np.uint8)
    rgba = np.concatenate([image, alpha], axis=-1)
    np.testing.assert_array_equal(seg_scores(model, image[..., ::-1].copy(), bgr=True), want)
    np.testing.assert_array_equal(seg_scores(model, rgba), want)
    np.testing.assert_array_equal(seg_scores(model, rgba[..., [2, 1, 0, 3]].copy(), bgr=True), want)
    gray = image[..., 1].copy()
    g3 = np.repeat(gray[..., None], 3, axis=-1)
    np.testing.assert_array_equal(seg_scores(model, gray), seg_scores(model, g3))
    np.testing.assert_array_equal(seg_scores(model, gray[..., None]), seg_scores(model, gray))


def test_strided_arrays(model, image):
    big = np.zeros((80, 120, 3), np.uint8)
    big[7:67, 11:101] = image
    crop = big[7:67, 11:101]  # row-strided view, read in place
    assert not crop.flags.c_contiguous
    want = seg_scores(model, image)
    np.testing.assert_array_equal(seg_scores(model, crop), want)
    np.testing.assert_array_equal(seg_scores(model, np.asfortranarray(image)), want)
    flipped = image[::-1]  # negative row stride: copied
    np.testing.assert_array_equal(
        seg_scores(model, flipped), seg_scores(model, np.ascontiguousarray(flipped))
    )
    rgba = np.concatenate([image, image[..., :1]], axis=-1)
    np.testing.assert_array_equal(seg_scores(model, rgba[..., :3]), want)  # pixel stride 4
    # The caller's array is not modified.
    before = crop.copy()
    seg_scores(model, crop)
    np.testing.assert_array_equal(crop, before)


def test_pil_images(model, image):
    Image = pytest.importorskip("PIL.Image")
    want = seg_scores(model, image)
    np.testing.assert_array_equal(seg_scores(model, Image.fromarray(image)), want)
    rgba = Image.fromarray(image).convert("RGBA")
    np.testing.assert_array_equal(seg_scores(model, rgba), want)
    gray = Image.fromarray(image).convert("L")
    np.testing.assert_array_equal(seg_scores(model, gray), seg_scores(model, np.asarray(gray)))
    pal = Image.fromarray(image).convert("P")  # converted to RGB
    np.testing.assert_array_equal(
        seg_scores(model, pal), seg_scores(model, np.asarray(pal.convert("RGB")))
    )


def test_native_size_and_multiscale(model, image):
    a = model.segment(image, LABELS, size=None)
    assert a.label_map.shape == image.shape[:2]
    ms = model.segment(image, LABELS, mode="multiscale", base_size=80, crop_size=64,
                       scales=[1.0], flip=False)
    assert ms.scores.shape == (4,) + image.shape[:2]


def test_progress(model, image):
    calls = []
    model.segment(image, LABELS, mode="multiscale", base_size=80, crop_size=64,
                  scales=[0.75, 1.25], progress=lambda d, t: calls.append((d, t)))
    done = [d for d, _ in calls]
    total = calls[0][1]
    assert total >= 4 and all(t == total for _, t in calls)
    assert done == sorted(set(done)) and done[0] >= 1 and done[-1] == total

    class Bar:
        total = n = None
        refreshed = 0

        def refresh(self):
            self.refreshed += 1

    bar = Bar()
    model.segment(image, LABELS, size=64, progress=lseg.tqdm_progress(bar))
    assert bar.n == bar.total and bar.refreshed >= 1


def test_embed_options(model, image):
    h, w = model.embed_grid(*image.shape[:2], size=64)
    chw = model.embed(image, size=64)
    d = model.embed_dim
    assert chw.shape == (d, h, w) and chw.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(chw, axis=0), 1.0, rtol=1e-5)
    hwc = model.embed(image, size=64, layout="hwc")
    np.testing.assert_array_equal(hwc, chw.transpose(1, 2, 0))
    f16 = model.embed(image, size=64, dtype="f16")
    assert f16.dtype == np.float16
    np.testing.assert_array_equal(f16, chw.astype(np.float16))
    scaled = model.embed(image, size=64, norm="l2-scaled")
    np.testing.assert_allclose(scaled, chw / 0.07, rtol=1e-5)
    raw = model.embed(image, size=64, norm="raw")
    np.testing.assert_allclose(raw / np.linalg.norm(raw, axis=0), chw, rtol=1e-4, atol=1e-6)
    full = model.embed(image, size=64, resolution="input")
    assert full.shape == (d,) + image.shape[:2]
    assert model.embed_grid(*image.shape[:2], size=64, resolution="input") == image.shape[:2]
    # Text query against the pixel embeddings = LSeg's logits at the native grid.
    labels = model.encode_labels(LABELS)
    logits = np.einsum("nd,dhw->nhw", labels.embeddings, scaled)
    assert logits.shape == (4, h, w)


def test_docstrings():
    doc = lseg.Model.segment.__doc__
    assert "multiscale" in doc and "progress" in doc
    assert "l2-scaled" in lseg.Model.embed.__doc__
    assert lseg.Model.__doc__ and lseg.Labels.__doc__ and lseg.Segmentation.__doc__

"""Bit-identical parity with the Rust API (references written by the Rust tests, same
backend: flex, f32)."""

import numpy as np
import pytest

import lseg
from conftest import REF_H, REF_LABELS, REF_W, read

MS = dict(mode="multiscale", base_size=80, crop_size=64, scales=[0.75, 1.25], flip=True)


def test_label_embeddings(ref_model, refs):
    labels = ref_model.encode_labels(REF_LABELS)
    want = read(refs, "ref_text.f32", np.float32, (len(REF_LABELS), ref_model.embed_dim))
    assert labels.embeddings.dtype == np.float32
    np.testing.assert_array_equal(labels.embeddings, want)


@pytest.mark.parametrize("name,kwargs", [("single", dict(size=96)), ("ms", MS)])
def test_segment(ref_model, ref_image, refs, name, kwargs):
    seg = ref_model.segment(ref_image, REF_LABELS, **kwargs)
    n = len(REF_LABELS)
    assert seg.label_map.dtype == np.uint16 and seg.label_map.shape == (REF_H, REF_W)
    np.testing.assert_array_equal(
        seg.label_map, read(refs, f"ref_{name}_labels.u16", np.uint16, (REF_H, REF_W))
    )
    np.testing.assert_array_equal(
        seg.scores, read(refs, f"ref_{name}_scores.f32", np.float32, (n, REF_H, REF_W))
    )
    np.testing.assert_array_equal(
        seg.confidence, read(refs, f"ref_{name}_conf.f32", np.float32, (REF_H, REF_W))
    )


@pytest.mark.parametrize(
    "name,norm,resolution", [("l2_native", "l2", "native"), ("raw_input", "raw", "input")]
)
def test_embed(ref_model, ref_image, refs, name, norm, resolution):
    e = ref_model.embed(ref_image, size=64, norm=norm, resolution=resolution)
    h, w = ref_model.embed_grid(REF_H, REF_W, size=64, resolution=resolution)
    assert e.shape == (ref_model.embed_dim, h, w) and e.dtype == np.float32
    np.testing.assert_array_equal(e, read(refs, f"ref_embed_{name}.f32", np.float32, e.shape))


def test_from_bytes_equals_from_file(ref_model, ref_image, refs):
    m = lseg.Model.from_bytes((refs / "tiny_vit16.safetensors").read_bytes())
    a = m.segment(ref_image, REF_LABELS, size=96)
    b = ref_model.segment(ref_image, REF_LABELS, size=96)
    np.testing.assert_array_equal(a.scores, b.scores)

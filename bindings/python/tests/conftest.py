"""Fixtures of the lseg Python tests.

The tiny random model of the repository (examples/data) serves the API and error tests. The
parity tests compare with references written by the Rust API (`cargo test -p lseg-capi --lib
write_c_test_fixtures`, run by bindings/c/tests/run.sh into $CARGO_TARGET_DIR/c-tests/fixtures);
set LSEG_REFS to their folder. Without it they are skipped, with the command in the reason.
"""

import os
import pathlib

import numpy as np
import pytest

import lseg

ROOT = pathlib.Path(__file__).resolve().parents[3]
TINY_MODEL = ROOT / "examples" / "data" / "tiny-random-vit16.safetensors"
# The labels, image size and protocols of the references (bindings/c/src/tests.rs).
REF_LABELS = ["dog", "grass", "other", "a red car", "sky"]
REF_W, REF_H = 100, 70


def _refs_dir():
    d = os.environ.get("LSEG_REFS")
    if d:
        return pathlib.Path(d)
    target = os.environ.get("CARGO_TARGET_DIR", str(pathlib.Path.home() / ".cache/lseg/target"))
    return pathlib.Path(target) / "c-tests" / "fixtures"


@pytest.fixture(scope="session")
def refs():
    d = _refs_dir()
    if not (d / "ref_single_labels.u16").exists():
        pytest.skip(
            f"no Rust-API references in {d}: run `LSEG_C_FIXTURES={d} cargo test --release "
            "-p lseg-capi --lib write_c_test_fixtures` (or bindings/c/tests/run.sh), or set "
            "LSEG_REFS"
        )
    return d


def read(d, name, dtype, shape=None):
    a = np.fromfile(d / name, dtype=np.dtype(dtype).newbyteorder("<"))
    return a.reshape(shape) if shape is not None else a


@pytest.fixture(scope="session")
def ref_model(refs):
    return lseg.Model(refs / "tiny_vit16.safetensors")


@pytest.fixture(scope="session")
def ref_image(refs):
    return read(refs, "image_100x70.rgb", np.uint8, (REF_H, REF_W, 3))


@pytest.fixture(scope="session")
def model():
    return lseg.Model(TINY_MODEL)


@pytest.fixture(scope="session")
def image():
    """A deterministic 60x90 RGB image with structure."""
    y, x = np.mgrid[0:60, 0:90]
    rng = np.random.default_rng(7)
    img = np.stack([x * 255 // 90, y * 255 // 60, (x * y) % 256], axis=-1)
    img = img + rng.integers(-20, 20, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)

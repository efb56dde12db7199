"""The examples of the README: the folder embedding example and the Ray Data pipeline
(2 actors on a local Ray instance; skipped when Ray is not installed)."""

import pathlib
import subprocess
import sys

import numpy as np
import pytest

import lseg
from conftest import TINY_MODEL

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture
def frames(tmp_path, image):
    Image = pytest.importorskip("PIL.Image")
    d = tmp_path / "frames"
    d.mkdir()
    for k in range(5):
        Image.fromarray(np.roll(image, 9 * k, axis=1)).save(d / f"frame{k:03d}.png")
    return d


def test_embed_folder(frames, tmp_path, model):
    out = tmp_path / "feats"
    r = subprocess.run(
        [sys.executable, str(EXAMPLES / "embed_folder.py"), str(TINY_MODEL), str(frames),
         str(out), "grass", "sky"], capture_output=True, text=True, check=True)
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 5 and all("'grass'" in l for l in lines)
    Image = pytest.importorskip("PIL.Image")
    want = model.embed(Image.open(frames / "frame002.png"), layout="hwc", dtype="f16")
    np.testing.assert_array_equal(np.load(out / "frame002.npy"), want)


def test_ray_pipeline(frames, tmp_path, model):
    pytest.importorskip("ray", reason="Ray is not installed (pip install 'ray[data]')")
    sys.path.insert(0, str(EXAMPLES))
    import ray
    import ray_embed

    try:
        files = ray_embed.run(TINY_MODEL, frames, tmp_path / "out", actors=2, size=64)
    finally:
        ray.shutdown()
    assert [pathlib.Path(f).name for f in files] == [f"frame{k:03d}.npy" for k in range(5)]
    Image = pytest.importorskip("PIL.Image")
    for k in range(5):
        img = np.asarray(Image.open(frames / f"frame{k:03d}.png").convert("RGB"))
        want = model.embed(img, size=64, layout="hwc", dtype="f16")
        np.testing.assert_array_equal(np.load(files[k]), want)

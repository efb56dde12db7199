"""VLMaps-style feature extraction: per-pixel LSeg embeddings of a folder of frames into
.npy files, then a text query against them.

    python embed_folder.py WEIGHTS FRAMES_DIR OUT_DIR [QUERY ...]
"""

import pathlib
import sys

import numpy as np
from PIL import Image

import lseg

weights, frames, out, *queries = sys.argv[1:]
model = lseg.Model(weights)
pathlib.Path(out).mkdir(parents=True, exist_ok=True)
for f in sorted(pathlib.Path(frames).glob("*.png")) + sorted(pathlib.Path(frames).glob("*.jpg")):
    feats = model.embed(Image.open(f), layout="hwc", dtype="f16")  # (h, w, D), unit vectors
    np.save(pathlib.Path(out) / f"{f.stem}.npy", feats)

text = model.encode_labels(queries or ["chair", "table", "floor", "other"]).embeddings  # (N, D)
for f in sorted(pathlib.Path(out).glob("*.npy")):
    best = (np.load(f).astype(np.float32) @ text.T).argmax(-1)  # (h, w) label per pixel
    print(f.stem, {q: round(float((best == i).mean()), 3) for i, q in enumerate(queries)})

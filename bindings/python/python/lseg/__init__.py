"""lseg: native LSeg (language-driven semantic segmentation, Li et al., ICLR 2022).

Open-vocabulary segmentation and dense CLIP-space pixel embeddings in Rust, no PyTorch::

    import lseg, numpy as np
    model = lseg.Model("lseg_vitl16.safetensors")
    labels = model.encode_labels(["floor", "wall", "chair", "other"])
    seg = model.segment(image, labels)          # image: (H, W, 3) uint8 RGB
    seg.label_map                               # (H, W) uint16, index into labels.names
    feats = model.embed(image, layout="hwc")    # (h, w, 512) float32, L2-normalised

Every compute call releases the GIL; one model can be shared by many threads.
"""

from ._errors import (
    ArgumentError,
    BackendUnavailableError,
    CancelledError,
    LabelError,
    LsegError,
    WeightsError,
)
from ._lseg import (
    MAX_IMAGE_SIDE,
    MAX_LABEL_BYTES,
    MAX_LABELS,
    MAX_SCALES,
    MAX_WEIGHTS_BYTES,
    Labels,
    Model,
    Segmentation,
    __version__,
    compiled_backends,
    label_color,
)


def tqdm_progress(bar):
    """A ``progress=`` callback that drives a tqdm bar (or anything with ``total``, ``n``
    and ``refresh()``)::

        with tqdm(desc="multi-scale") as bar:
            model.segment(img, labels, mode="multiscale", progress=lseg.tqdm_progress(bar))
    """

    def progress(done, total):
        bar.total = total
        bar.n = done
        bar.refresh()
        return True

    return progress


__all__ = [
    "Model",
    "Labels",
    "Segmentation",
    # Spelled out (not `*_errors.__all__`): type checkers read __all__ statically.
    "LsegError",
    "ArgumentError",
    "WeightsError",
    "LabelError",
    "BackendUnavailableError",
    "CancelledError",
    "compiled_backends",
    "label_color",
    "tqdm_progress",
    "MAX_IMAGE_SIDE",
    "MAX_LABELS",
    "MAX_LABEL_BYTES",
    "MAX_SCALES",
    "MAX_WEIGHTS_BYTES",
    "__version__",
]

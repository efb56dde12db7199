"""Type stubs of the extension module ``lseg._lseg`` (re-exported by ``lseg``)."""

import os
from typing import Any, Callable, Dict, List, Literal, Optional, Sequence, Tuple, Union, final

import numpy as np
import numpy.typing as npt

__all__ = [
    "MAX_IMAGE_SIDE",
    "MAX_LABELS",
    "MAX_LABEL_BYTES",
    "MAX_SCALES",
    "MAX_WEIGHTS_BYTES",
    "Labels",
    "Model",
    "Segmentation",
    "__version__",
    "compiled_backends",
    "label_color",
]

__version__: str
MAX_LABELS: int
MAX_LABEL_BYTES: int
MAX_IMAGE_SIDE: int
MAX_SCALES: int
MAX_WEIGHTS_BYTES: int

#: numpy ``uint8`` ``(H, W)``, ``(H, W, 1)``, ``(H, W, 3)`` or ``(H, W, 4)``, or a PIL image.
_ImageLike = Union[npt.NDArray[np.uint8], Any]
#: A callback ``(done, total)`` called after every network pass; ``False`` cancels.
_ProgressFn = Callable[[int, int], Optional[bool]]

def compiled_backends() -> List[str]:
    """Names of the backends compiled into this build (``["flex"]`` in the wheel)."""

def label_color(label: int) -> Tuple[int, int, int]:
    """The colour ``(r, g, b)`` lseg draws label index ``label`` with (the CLI's pictures,
    the ROS nodes' colour images): the same for every label set and run."""

@final
class Labels:
    """Labels encoded by :meth:`Model.encode_labels`; reusable with the model that made it."""

    def __len__(self) -> int: ...
    @property
    def names(self) -> List[str]:
        """The labels, in order (index k of a label map is ``names[k]``)."""
    @property
    def embeddings(self) -> npt.NDArray[np.float32]:
        """Text embeddings ``(N, D)`` float32, L2-normalised."""

@final
class Segmentation:
    """The result of :meth:`Model.segment`, at the input resolution."""

    @property
    def height(self) -> int: ...
    @property
    def width(self) -> int: ...
    @property
    def labels(self) -> Labels: ...
    @property
    def label_map(self) -> npt.NDArray[np.uint16]:
        """Label index per pixel ``(H, W)`` uint16."""
    @property
    def scores(self) -> npt.NDArray[np.float32]:
        """LSeg's logits ``(N, H, W)`` float32 (multi-scale: summed over scales and flips)."""
    @property
    def confidence(self) -> npt.NDArray[np.float32]:
        """Softmax probability of the winning label per pixel ``(H, W)`` float32."""
    def shares(self) -> Dict[str, float]:
        """Share of each label in percent (rounded to 0.01, summing to 100)."""

@final
class Model:
    """An LSeg network loaded from a ``.safetensors`` file; thread-safe."""

    def __new__(
        cls,
        path: Union[str, "os.PathLike[str]"],
        backend: str = "flex",
        dtype: Literal["f32", "f16", "bf16"] = "f32",
        threads: Optional[int] = None,
        config: Union[Dict[str, Any], str, None] = None,
    ) -> "Model": ...
    @staticmethod
    def from_bytes(
        data: bytes,
        backend: str = "flex",
        dtype: Literal["f32", "f16", "bf16"] = "f32",
        threads: Optional[int] = None,
        config: Union[Dict[str, Any], str, None] = None,
    ) -> "Model": ...
    @property
    def embed_dim(self) -> int: ...
    @property
    def config(self) -> Dict[str, Any]: ...
    @property
    def backend(self) -> str: ...
    @property
    def dtype(self) -> str: ...
    def encode_labels(self, labels: Union[Sequence[str], str], truncate: bool = False) -> Labels: ...
    def segment(
        self,
        image: _ImageLike,
        labels: Union[Labels, Sequence[str], str],
        *,
        size: Optional[int] = 480,
        mode: Literal["single", "multiscale"] = "single",
        flip: bool = True,
        base_size: int = 520,
        crop_size: int = 480,
        scales: Optional[Sequence[float]] = None,
        bgr: bool = False,
        progress: Optional[_ProgressFn] = None,
    ) -> Segmentation: ...
    def segment_batch(
        self,
        images: Sequence[_ImageLike],
        labels: Union[Labels, Sequence[str], str],
        *,
        size: Optional[int] = 480,
        mode: Literal["single", "multiscale"] = "single",
        flip: bool = True,
        base_size: int = 520,
        crop_size: int = 480,
        scales: Optional[Sequence[float]] = None,
        bgr: bool = False,
        progress: Optional[_ProgressFn] = None,
    ) -> List[Segmentation]: ...
    def embed(
        self,
        image: _ImageLike,
        *,
        size: Optional[int] = 480,
        norm: Literal["raw", "l2", "l2-scaled"] = "l2",
        resolution: Literal["native", "input"] = "native",
        dtype: Literal["f32", "f16"] = "f32",
        layout: Literal["chw", "hwc"] = "chw",
        bgr: bool = False,
    ) -> npt.NDArray[Any]: ...
    def embed_grid(
        self,
        height: int,
        width: int,
        *,
        size: Optional[int] = 480,
        resolution: Literal["native", "input"] = "native",
    ) -> Tuple[int, int]: ...

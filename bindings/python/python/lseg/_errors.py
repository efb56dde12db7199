"""Exceptions of lseg: one class per status class, all derived from ``LsegError``."""


class LsegError(Exception):
    """Base class of every error raised by lseg."""


class ArgumentError(LsegError, ValueError):
    """A bad argument: image dtype/shape/strides, an option string, an out-of-range value."""


class WeightsError(LsegError):
    """Weights that cannot be used: unreadable file, not safetensors, a missing tensor, a
    wrong shape or dtype, an invalid or unknown configuration."""


class LabelError(LsegError, ValueError):
    """A label list that cannot be encoded: empty list or label, over 77 tokens, too many."""


class BackendUnavailableError(LsegError):
    """The backend or dtype is not compiled into this build or not usable on this machine."""


class CancelledError(LsegError):
    """The progress callback returned False."""


__all__ = [
    "LsegError",
    "ArgumentError",
    "WeightsError",
    "LabelError",
    "BackendUnavailableError",
    "CancelledError",
]

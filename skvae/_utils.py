"""Private helpers shared by the estimators: devices, seeds and image shapes."""

from __future__ import annotations

import math

import numpy as np
import torch
from sklearn.utils import check_random_state


def resolve_device(device: str | torch.device) -> torch.device:
    """Turn ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:1"`` ... into a device.

    ``"auto"`` picks CUDA when it is available, else the CPU. Asking for CUDA on a
    machine without it is an error rather than a silent fallback.
    """
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    resolved = torch.device(device)
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} was requested but CUDA is not available on this "
            "machine; use device='cpu' or device='auto'."
        )
    return resolved


def check_sampler_settings(sampler) -> None:
    """Raise on a sampler's settings before any fit.

    skvae's samplers have ``check_settings`` (values and device); others,
    such as imbalanced-learn's, scikit-learn's ``_validate_params``.
    """
    if hasattr(sampler, "check_settings"):
        sampler.check_settings()
    elif hasattr(sampler, "_validate_params"):
        sampler._validate_params()


def draw_seed(random_state) -> int:
    """Draw a 31-bit seed from ``random_state`` without touching global RNG state.

    ``None`` draws fresh OS entropy instead of numpy's global ``RandomState``,
    so an unseeded fit never advances the global stream.
    """
    if random_state is None:
        return int(np.random.default_rng().integers(2**31 - 1))
    return int(check_random_state(random_state).randint(2**31 - 1))


def resolve_image_shape(image_shape, n_features: int) -> tuple[int, int, int]:
    """Validate an explicit ``image_shape`` against the number of features.

    ``(H, W)`` means one channel; ``(C, H, W)`` is channels first.
    """
    shape = tuple(int(s) for s in image_shape)
    if len(shape) == 2:
        shape = (1, *shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(
            f"image_shape must be (H, W) or (C, H, W) of positive ints, got {image_shape!r}."
        )
    if math.prod(shape) != n_features:
        raise ValueError(
            f"image_shape={image_shape!r} holds {math.prod(shape)} values per image but "
            f"X has {n_features} features per sample."
        )
    return shape


def flatten_images(X):
    """Rows of a 3-D ``(n, H, W)`` or 4-D ``(n, C, H, W)`` image array, and its ``(C, H, W)``.

    Anything else (2-D arrays, frames, lists) comes back as it is, with None.
    """
    if not (hasattr(X, "ndim") and hasattr(X, "shape") and X.ndim in (3, 4)):
        return X, None
    arr = X.detach().cpu().numpy() if torch.is_tensor(X) else np.asarray(X)
    shape = (1, *arr.shape[1:]) if arr.ndim == 3 else tuple(arr.shape[1:])
    return arr.reshape(len(arr), -1), tuple(int(s) for s in shape)


def plain_label(label):
    """``label`` as a plain Python value (``1``, not ``np.int64(1)``) for messages and dicts."""
    return label.item() if isinstance(label, np.generic) else label


def square_side(n_features: int) -> int | None:
    """The side of a square one-channel image with ``n_features`` pixels, if any."""
    side = math.isqrt(n_features)
    return side if side * side == n_features else None

"""From an estimator's settings to a VAE: how rows are read and which network trains.

:class:`~skvae.VAEOversampler` and :class:`~skvae.VAEEncoder` share these rules
and the constraints of the parameters they share.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils._param_validation import (
    Interval,
    StrOptions,
    validate_parameter_constraints,
)

from ._utils import resolve_image_shape, square_side
from .nn import MLPVAE, VAE, ConditionalConvVAE, ConditionalMLPVAE, ConvVAE
from .nn.fitting import VAETraining

#: Smallest side that ``image_shape="auto"`` reads as a square image.
MIN_AUTO_SIDE = 8

#: Constraints of the parameters both VAE estimators have.
VAE_PARAMETER_CONSTRAINTS: dict = {
    "latent": [Interval(Integral, 1, None, closed="left")],
    "image_shape": [StrOptions({"auto"}), None, tuple, list],
    "vae": [StrOptions({"auto", "conv", "mlp"}), callable],
    "training": [None, dict, VAETraining],
    "device": [str, torch.device],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
}

#: Constraints of the fields of :class:`~skvae.nn.fitting.VAETraining`.
TRAINING_CONSTRAINTS: dict = {
    "max_epochs": [Interval(Integral, 1, None, closed="left")],
    "min_steps": [Interval(Integral, 0, None, closed="left")],
    "patience": [Interval(Integral, 0, None, closed="left")],
    "lr": [Interval(Real, 0, None, closed="neither")],
    "batch_size": [Interval(Integral, 1, None, closed="left")],
    "beta": [Interval(Real, 0, None, closed="left")],
    "precision": [StrOptions({"fp32", "bf16"})],
    "validation_fraction": [Interval(Real, 0, 1, closed="left")],
    "augment": [None, callable],
}


def resolve_training(training, owner: str) -> VAETraining:
    """The :class:`~skvae.nn.fitting.VAETraining` of an estimator's ``training``, checked.

    None gives the defaults; a dict overrides some of them; an instance is
    taken as it is. Unknown fields and bad values raise, naming ``owner``.
    """
    if training is None:
        settings = VAETraining()
    elif isinstance(training, VAETraining):
        settings = training
    else:
        unknown = sorted(set(training) - set(TRAINING_CONSTRAINTS))
        if unknown:
            raise ValueError(
                f"{owner}: training has no field(s) {unknown}; the fields are "
                f"{sorted(TRAINING_CONSTRAINTS)}."
            )
        settings = VAETraining(**training)
    validate_parameter_constraints(
        TRAINING_CONSTRAINTS, asdict(settings), caller_name=f"{owner} training"
    )
    return settings


def _looks_like_pixels(X: np.ndarray) -> bool:
    """Whole numbers in [0, 255] beyond 1: probably unscaled 8-bit pixels."""
    return bool(X.min() >= 0 and 1 < X.max() <= 255 and np.all(np.mod(X, 1) == 0))


def read_image_shape(
    X: np.ndarray, image_shape, array_shape: tuple[int, int, int] | None
) -> tuple[int, int, int] | None:
    """The ``(C, H, W)`` rows of ``X`` are images of, or None for a table.

    ``image_shape`` is the estimator's setting (``"auto"``, None or a shape);
    ``array_shape`` the shape of the images when ``X`` came as an image array.
    """
    n_features = X.shape[1]
    in_unit = bool(X.min() >= 0.0 and X.max() <= 1.0)
    if image_shape is None:
        return None
    if array_shape is not None:
        if isinstance(image_shape, str):  # "auto": the array's own shape
            image_shape = array_shape
        elif resolve_image_shape(image_shape, n_features) != array_shape:
            raise ValueError(
                f"image_shape={image_shape!r} does not match the shape of the images "
                f"in X, {array_shape}."
            )
    if isinstance(image_shape, str):  # "auto"
        side = square_side(n_features)
        # Below 8 x 8 (scikit-learn's digits) a square count of features in
        # [0, 1] is far more likely a min-max scaled table than an image.
        if side is not None and side % 2 == 0 and side >= MIN_AUTO_SIDE:
            if in_unit:
                return (1, side, side)
            if _looks_like_pixels(X):
                warnings.warn(
                    f"X has {side}x{side} features of whole numbers in [0, 255], like "
                    "8-bit images, but image_shape='auto' reads images only from data "
                    "in [0, 1]: X is treated as a table (MLP VAE). Divide by 255 to "
                    "treat it as images, or set image_shape=None to silence this.",
                    UserWarning,
                    stacklevel=5,
                )
        return None
    shape = resolve_image_shape(image_shape, n_features)
    if shape[1] % 2 or shape[2] % 2:
        raise ValueError(
            f"image_shape={image_shape!r}: the convolutional VAE needs an even height and width."
        )
    if not in_unit:
        raise ValueError(
            "Image data must lie in [0, 1] (the VAE's binary cross-entropy needs it); "
            f"X spans [{X.min():.4g}, {X.max():.4g}]. Scale it, e.g. divide 8-bit "
            "images by 255, or set image_shape=None for tabular data."
        )
    return shape


def make_vae(
    vae,
    latent: int,
    image_shape: tuple[int, int, int] | None,
    n_features: int,
    *,
    n_classes: int | None = None,
    image_shape_setting="auto",
    categorical: tuple[tuple[int, int], ...] = (),
) -> VAE:
    """The untrained network of an estimator's ``vae`` setting.

    ``"conv"`` needs ``image_shape``; ``"auto"`` picks ``"conv"`` for images and
    ``"mlp"`` for tables; a callable is called as ``vae(input_shape, latent)``.
    With ``n_classes``, the conditional network of that kind. ``categorical``:
    one-hot column ranges of an MLP's categorical likelihood; only the MLP
    networks model them, so any other network raises.
    ``image_shape_setting`` is the estimator's ``image_shape``, for messages.
    """
    if categorical and (image_shape is not None or callable(vae) or vae == "conv"):
        raise ValueError(
            "categorical_features needs tabular rows and vae='auto', 'mlp' or "
            f"'conditional'; got image_shape_={image_shape}, vae={vae!r}."
        )
    if callable(vae):
        input_shape = image_shape if image_shape is not None else (n_features,)
        model = vae(input_shape, latent)
        if not isinstance(model, VAE):
            raise TypeError(f"vae callable must return a skvae.nn.VAE, got {type(model).__name__}.")
        return model
    kind = vae
    if kind in ("auto", "conditional"):
        kind = "conv" if image_shape is not None else "mlp"
    if kind == "conv":
        if image_shape is None:
            raise ValueError(
                "vae='conv' needs image data: set image_shape=(C, H, W) with data in "
                f"[0, 1] (image_shape={image_shape_setting!r} read X's {n_features} "
                "features as a table; 'auto' needs a square, even side of at least "
                f"{MIN_AUTO_SIDE} and values in [0, 1])."
            )
        if n_classes is not None:
            return ConditionalConvVAE(image_shape, n_classes, latent)
        return ConvVAE(image_shape, latent)
    if n_classes is not None:
        return ConditionalMLPVAE(n_features, n_classes, latent, categorical=categorical)
    return MLPVAE(n_features, latent, categorical=categorical)

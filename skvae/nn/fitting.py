"""Fit VAEs on arrays: the one training recipe behind every VAE skvae trains.

:class:`~skvae.VAEOversampler` (one VAE per class, or one conditional VAE),
:class:`~skvae.VAEEncoder` (one VAE on all rows), the experiment grid and the
benchmarks all train through these functions, so a VAE is built, scaled,
split, trained and encoded the same way everywhere. Plain numpy and torch: the
estimators translate their parameters into a :class:`VAETraining` and a
``build`` function.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Hashable, Mapping
from dataclasses import asdict, dataclass

import numpy as np
import torch

from .batched import batchable, train_vaes_batched
from .conditional import ConditionalVAE
from .early_stopping import n_validation_rows
from .seeds import make_generator, seeded_torch
from .training import TrainResult, train_vae
from .vae import VAE


@dataclass(frozen=True)
class VAETraining:
    """How a VAE is trained: optimiser, budget, early stopping and validation share.

    The defaults are the paper's recipe. :class:`~skvae.VAEOversampler` and
    :class:`~skvae.VAEEncoder` take one as ``training=`` (or a dict of some
    fields over these defaults).

    Parameters
    ----------
    max_epochs : int, default=200
        Most epochs per VAE (unless ``min_steps`` needs more).
    min_steps : int, default=0
        Least optimiser steps before early stopping may stop. A class of 4
        images makes one step per epoch; epochs alone under-train it.
    patience : int, default=20
        Epochs without improvement of the monitored loss tolerated; the next
        one stops training.
    lr : float, default=1e-3
        RMSprop learning rate (the paper).
    batch_size : int, default=100
        Mini-batch size (the paper).
    beta : float, default=1.0
        Weight of the KL term in the ELBO.
    precision : {"fp32", "bf16"}, default="fp32"
        ``"bf16"`` runs the forward pass and the loss under ``torch.autocast``
        with bfloat16 (CPU or GPU); weights, optimiser and generation stay float32.
    validation_fraction : float, default=0.15
        Share of each class held out for early stopping (the paper: 15 %), by
        :func:`~skvae.nn.early_stopping.n_validation_rows` (the VAEs' rule):
        ``round(validation_fraction * n)`` rows; when that is 0 or would leave
        no training row, all rows train and early stopping watches the
        training loss.
    augment : callable or None, default=None
        Online augmentation of every training batch of images, called as
        ``augment(batch, generator=generator)`` with the VAE's own generator,
        e.g. :class:`skvae.RandomAffine`: the VAE learns the class's variation
        beyond its few rows. Validation rows are not augmented; a conditional
        VAE's class channels are not transformed. None (the paper) trains on
        the rows as they are.
    """

    max_epochs: int = 200
    min_steps: int = 0
    patience: int = 20
    lr: float = 1e-3
    batch_size: int = 100
    beta: float = 1.0
    precision: str = "fp32"
    validation_fraction: float = 0.15
    augment: Callable | None = None

    def loop_settings(self) -> dict:
        """Keyword arguments of the training loops (all fields but the validation share)."""
        settings = asdict(self)
        del settings["validation_fraction"]
        return settings


@dataclass
class FittedVAE:
    """One trained VAE and what its training saw.

    Attributes
    ----------
    vae : VAE
        The trained model, on the CPU, in eval mode.
    result : TrainResult
        Its training history.
    codes : ndarray of shape (n_rows, latent)
        Posterior means of every row it was given (training and validation).
    scaler : tuple of ndarray or None
        ``(mean, scale)`` of the standardisation a Gaussian likelihood trains
        on (rows in the VAE's units are ``(x - mean) / scale``); None for a
        Bernoulli likelihood, which trains on the rows as they are.
    n_train, n_valid : int
        Training and validation rows.
    seconds : float
        Wall time of building, training and encoding.
    """

    vae: VAE
    result: TrainResult
    codes: np.ndarray
    scaler: tuple[np.ndarray, np.ndarray] | None
    n_train: int
    n_valid: int
    seconds: float


def scale_rows(X: np.ndarray, vae: VAE, name: str = "X"):
    """float32 rows as ``vae`` trains on them, and the Gaussian ``(mean, scale)`` or None.

    A Gaussian likelihood trains on standardised features (constant features
    keep scale 1; the one-hot columns of its categorical groups stay 0 / 1); a
    Bernoulli one on the rows as they are, which must lie in [0, 1].
    """
    # C order: a DataFrame's column-major values would change the rounding.
    data = np.ascontiguousarray(X, dtype=np.float32)
    if vae.likelihood == "gaussian":
        mean = data.mean(axis=0)
        scale = data.std(axis=0)
        scale[scale < 1e-8] = 1.0
        for start, stop in vae.categorical:
            mean[start:stop], scale[start:stop] = 0.0, 1.0
        return to_vae_units(data, (mean, scale)), (mean, scale)
    if data.min() < 0 or data.max() > 1:
        raise ValueError(
            "A VAE with a bernoulli likelihood needs data in [0, 1]; "
            f"{name} spans [{data.min():.4g}, {data.max():.4g}]."
        )
    return data, None


def to_vae_units(rows: np.ndarray, scaler) -> np.ndarray:
    """float32 ``rows`` as the VAE sees them: standardised by ``scaler`` if there is one."""
    rows = rows.astype(np.float32)
    if scaler is None:
        return rows
    mean, scale = scaler
    return (rows - mean) / scale


def from_vae_units(rows: np.ndarray, scaler) -> np.ndarray:
    """Rows in the VAE's units back in the data's: the inverse of :func:`to_vae_units`."""
    if scaler is None:
        return rows
    mean, scale = scaler
    return rows * scale + mean


def encode_and_release(vae: VAE, X: torch.Tensor) -> np.ndarray:
    """Posterior means of ``X``; moves ``vae`` to the CPU (fitted VAEs live there)."""
    with torch.inference_mode():
        codes, _ = vae.encode(X)
    vae.cpu()
    return codes.cpu().numpy()


@dataclass
class _Prepared:
    """A built VAE and its rows, split as :func:`fit_vae` trains them."""

    vae: VAE
    X_train: torch.Tensor
    X_valid: torch.Tensor | None
    X_all: torch.Tensor
    generator: torch.Generator
    scaler: tuple | None

    def fitted(self, result: TrainResult, seconds: float) -> FittedVAE:
        """The trained VAE, encoded and moved to the CPU, with what its training saw."""
        n_valid = 0 if self.X_valid is None else len(self.X_valid)
        codes = encode_and_release(self.vae, self.X_all)
        return FittedVAE(self.vae, result, codes, self.scaler, len(self.X_train), n_valid, seconds)


def split_rows(
    X: torch.Tensor, fraction: float, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Hold out random rows of ``X`` for early stopping, by the VAEs' rule.

    :func:`~skvae.nn.early_stopping.n_validation_rows` rows (``round(fraction
    * n)``, none when that would leave no training row) are chosen by one
    permutation drawn from ``generator``, the fit's generator, as
    :func:`fit_vae` and :func:`fit_class_vaes` split each class.

    Returns
    -------
    train : torch.Tensor
    valid : torch.Tensor or None
        None when no row is held out.
    """
    n_valid = n_validation_rows(len(X), fraction)
    order = torch.randperm(len(X), generator=generator).to(X.device)
    return X[order[n_valid:]], (X[order[:n_valid]] if n_valid else None)


def _prepare(build: Callable[[], VAE], X: np.ndarray, seed: int, training, device, name):
    with seeded_torch(seed):
        vae = build()
    data, scaler = scale_rows(X, vae, name)
    generator = make_generator(seed)
    X_all = torch.as_tensor(data).reshape(len(data), *vae.input_shape).to(device)
    X_train, X_valid = split_rows(X_all, training.validation_fraction, generator)
    vae.to(device)
    return _Prepared(vae, X_train, X_valid, X_all, generator, scaler)


def fit_vae(
    build: Callable[[], VAE],
    X: np.ndarray,
    seed: int,
    training: VAETraining = VAETraining(),
    *,
    device: str | torch.device = "cpu",
    name: str = "VAE",
    callback: Callable[[dict], None] | None = None,
) -> FittedVAE:
    """Build one VAE and train it on the rows ``X``.

    ``build()`` runs with torch's global RNG seeded by ``seed`` (and restored
    afterwards), so initialisation is reproducible; ``seed`` also seeds the
    validation split, the shuffling and the reparameterisation noise. Rows
    are scaled by :func:`scale_rows`, ``round(validation_fraction * n)`` of them
    (:func:`~skvae.nn.early_stopping.n_validation_rows`) are held out for early
    stopping, and :func:`~skvae.nn.train_vae` trains the rest.

    Parameters
    ----------
    build : callable
        ``build() -> VAE``, the untrained network.
    X : ndarray of shape (n_rows, n_features)
        The rows, flat; they are reshaped to the VAE's ``input_shape``.
    seed : int
        The one seed of everything random.
    training : VAETraining
        The recipe.
    device : str or torch.device, default="cpu"
        Where to train; the returned VAE is on the CPU.
    name : str
        Names the rows in error messages.
    callback : callable, optional
        Called with each epoch's history entry.

    Returns
    -------
    FittedVAE
    """
    start = time.perf_counter()
    part = _prepare(build, X, seed, training, torch.device(device), name)
    result = train_vae(
        part.vae,
        part.X_train,
        part.X_valid,
        **training.loop_settings(),
        generator=part.generator,
        callback=callback,
    )
    return part.fitted(result, time.perf_counter() - start)


def fit_class_vaes(
    build: Callable[[], VAE],
    X: np.ndarray,
    y: np.ndarray,
    seeds: Mapping[Hashable, int],
    training: VAETraining = VAETraining(),
    *,
    device: str | torch.device = "cpu",
    batched: bool = False,
    callback: Callable[[Hashable, dict], None] | None = None,
) -> dict[Hashable, FittedVAE]:
    """One VAE per class in ``seeds``, each trained on the rows of its class only.

    Each class is fitted exactly as :func:`fit_vae` fits it with its own seed,
    so a class's VAE does not depend on which other classes get one.

    Parameters
    ----------
    build, training, device
        As in :func:`fit_vae`.
    X : ndarray of shape (n_rows, n_features)
    y : ndarray of shape (n_rows,)
        Class labels.
    seeds : mapping
        ``{label: seed}`` of the classes to fit, in the order to fit them.
    batched : bool, default=False
        Train the classes together with :func:`~skvae.nn.train_vaes_batched`
        (one vectorised step for all of them; the same rows, splits, noise and
        early stopping, equal to the one-by-one fits up to float rounding).
        When the networks cannot be stacked, they are trained one by one, with
        a warning.
    callback : callable, optional
        Called with ``(label, entry)`` after each epoch of each class.

    Returns
    -------
    dict
        ``{label: FittedVAE}`` in the order of ``seeds``.
    """
    device = torch.device(device)
    if batched and seeds:
        fitted = _fit_batched(build, X, y, seeds, training, device, callback)
        if fitted is not None:
            return fitted
    fitted = {}
    for label, seed in seeds.items():
        show = None if callback is None else (lambda entry, label=label: callback(label, entry))
        fitted[label] = fit_vae(
            build,
            X[y == label],
            seed,
            training,
            device=device,
            name=f"class {label}",
            callback=show,
        )
    return fitted


def _fit_batched(build, X, y, seeds, training, device, callback) -> dict | None:
    start = time.perf_counter()
    labels = list(seeds)
    # An augment rules stacking out before any class is built and split.
    reason, parts = None, []
    if training.augment is not None:
        reason = "augment is set, and the stacked loop has no augmentation"
    else:
        parts = [
            _prepare(build, X[y == label], seeds[label], training, device, f"class {label}")
            for label in labels
        ]
        reason = batchable([part.vae for part in parts])
    if reason is not None:
        warnings.warn(
            f"batched=True: the class-VAEs cannot be trained together ({reason}); "
            "training them one by one.",
            UserWarning,
            stacklevel=3,
        )
        return None
    show = None if callback is None else (lambda k, entry: callback(labels[k], entry))
    settings = training.loop_settings()
    del settings["augment"]  # None here: an augment trains the classes one by one
    results = train_vaes_batched(
        [part.vae for part in parts],
        [part.X_train for part in parts],
        [part.X_valid for part in parts],
        **settings,
        generators=[part.generator for part in parts],
        callback=show,
    )
    seconds = time.perf_counter() - start
    return {
        label: part.fitted(result, seconds) for label, part, result in zip(labels, parts, results)
    }


def fit_conditional_vae(
    build: Callable[[], ConditionalVAE],
    X: np.ndarray,
    class_index: np.ndarray,
    seed: int,
    training: VAETraining = VAETraining(),
    *,
    device: str | torch.device = "cpu",
    callback: Callable[[dict], None] | None = None,
) -> FittedVAE:
    """One conditional VAE on the rows of every class.

    The class (``class_index``, 0 to ``n_classes - 1``) is an input of the
    encoder and decoder. Each class holds out its own
    ``round(validation_fraction * n_c)`` rows, as its class-VAE would; rows of
    a Gaussian likelihood are standardised over all classes. ``codes`` are those
    of all rows, in the order of ``X``.
    """
    start = time.perf_counter()
    device = torch.device(device)
    class_index = np.asarray(class_index)
    with seeded_torch(seed):
        cvae = build()
    data, scaler = scale_rows(X, cvae)
    generator = make_generator(seed)
    rows = torch.as_tensor(data).reshape(len(data), *cvae.input_shape)
    packed = cvae.pack(rows, torch.as_tensor(class_index)).to(device)
    valid = torch.zeros(len(class_index), dtype=torch.bool)
    for k in np.unique(class_index):
        members = torch.as_tensor(np.flatnonzero(class_index == k))
        order = torch.randperm(len(members), generator=generator)
        n_valid = n_validation_rows(len(members), training.validation_fraction)
        valid[members[order[:n_valid]]] = True
    valid = valid.to(device)
    cvae.to(device)
    result = train_vae(
        cvae,
        packed[~valid],
        packed[valid] if bool(valid.any()) else None,
        **training.loop_settings(),
        generator=generator,
        callback=callback,
    )
    codes = encode_and_release(cvae, packed)
    n_valid = int(valid.sum())
    return FittedVAE(
        cvae,
        result,
        codes,
        scaler,
        len(class_index) - n_valid,
        n_valid,
        time.perf_counter() - start,
    )

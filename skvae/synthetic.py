"""Generated rows in a CNN's training split: how they are made, weighed and renewed.

:class:`~skvae.CNNClassifier`'s ``oversampler`` takes a sampler or a
:class:`SyntheticRows`. A plain sampler is ``SyntheticRows(sampler)``: its
generated rows join the training split once, weighed like real rows, as in a
``Pipeline``. :class:`SyntheticRows` adds the two levers a pipeline cannot
offer: a loss weight for generated rows and fresh rows each epoch.
:class:`MixesSyntheticRows` is the part of the classifier that mixes them in;
:class:`LinearDecay` is a weight that falls over training (a decaying mix).
"""

from __future__ import annotations

import math
from numbers import Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, clone

from ._net import TensorData


class SyntheticRows(BaseEstimator):
    """Rows of a fitted over-sampler, weighed apart and optionally drawn afresh each epoch.

    Inside :class:`~skvae.CNNClassifier` (``oversampler=SyntheticRows(...)``), a
    clone of ``sampler`` is fitted with ``fit_resample`` on the rows given to
    ``fit`` (as a pipeline step would be), and the rows it adds join the
    training split only, so the validation rows that drive early stopping stay
    real.

    Parameters
    ----------
    sampler : sampler
        Anything with ``fit_resample`` that returns the original rows first,
        then the rows it generates (imbalanced-learn's over-samplers, e.g.
        :class:`~skvae.VAEOversampler`).
    weight : float or callable, default=1.0
        Loss weight of a generated row relative to a real one (the loss is the
        weighted mean over the batch). Below 1, real rows dominate however many
        rows are generated. A callable ``weight(progress) -> float`` (e.g.
        :class:`LinearDecay`) sets it at the start of every epoch from the share
        of the planned epochs already trained (0 at the first), so the mix of
        generated rows can change over training.
    refresh : bool, default=False
        Replace the generated rows with fresh ones at each epoch after the
        first (same number per class), via the fitted sampler's
        ``sample(n, class, random_state)``; the authors' code also fed new
        generated images every epoch. False keeps one fixed set, as a pipeline does.

    Attributes
    ----------
    sampler_ : sampler
        The fitted clone of ``sampler``.
    """

    def __init__(self, sampler, weight: float = 1.0, refresh: bool = False) -> None:
        self.sampler = sampler
        self.weight = weight
        self.refresh = refresh

    def check(self) -> None:
        """Raise on settings no fit could run with."""
        if not hasattr(self.sampler, "fit_resample"):
            raise TypeError(
                "sampler needs fit_resample (an imbalanced-learn over-sampler), got "
                f"{type(self.sampler).__name__}."
            )
        if not callable(self.weight) and (
            not isinstance(self.weight, Real) or not self.weight >= 0
        ):
            raise ValueError(f"weight must be a number >= 0 or a callable, got {self.weight!r}.")
        if self.refresh and not hasattr(self.sampler, "sample"):
            raise ValueError(
                "refresh=True needs a sampler with a sample(n_samples, class_label, "
                "random_state) method, such as VAEOversampler; "
                f"{type(self.sampler).__name__} has none."
            )

    def fit_generate(
        self, X: np.ndarray, y: np.ndarray, seed: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Fit a clone of ``sampler`` on real rows ``X, y``; return the rows it adds.

        A sampler whose ``random_state`` is None is seeded with ``seed``.
        """
        self.check()
        sampler = clone(self.sampler)
        if sampler.get_params().get("random_state", 0) is None:
            sampler.set_params(random_state=seed)
        X_res, y_res = sampler.fit_resample(X, y)
        X_res, y_res = np.asarray(X_res), np.asarray(y_res)
        n = len(X)
        if (
            len(X_res) < n
            or X_res.shape[1:] != X.shape[1:]
            or not np.array_equal(np.asarray(X_res[:n], dtype=np.float32), X)
            or not np.array_equal(y_res[:n], y)
        ):
            raise ValueError(
                f"oversampler {type(sampler).__name__} must return the original rows "
                "first, unchanged, then the rows it generates."
            )
        self.sampler_ = sampler
        return X_res[n:], y_res[n:]

    def weight_at(self, progress: float) -> float:
        """The generated rows' loss weight when ``progress`` of training is done."""
        weight = self.weight(progress) if callable(self.weight) else self.weight
        if not weight >= 0:
            raise ValueError(f"weight({progress:.3f}) must be >= 0, got {weight!r}.")
        return float(weight)

    def fresh(self, counts: np.ndarray, rng: np.random.RandomState) -> np.ndarray:
        """New rows, ``counts[k]`` of class ``k`` in class order, from the fitted sampler."""
        parts = [
            self.sampler_.sample(int(count), label, random_state=rng)
            for label, count in enumerate(counts)
            if count
        ]
        return np.concatenate(parts)


def as_synthetic_rows(oversampler) -> SyntheticRows | None:
    """``oversampler`` as a :class:`SyntheticRows` (a plain sampler gets the defaults)."""
    if oversampler is None or isinstance(oversampler, SyntheticRows):
        return oversampler
    return SyntheticRows(oversampler)


class MixesSyntheticRows:
    """Mixin of a :class:`~skvae._net.TensorNet` with an ``oversampler`` parameter.

    Fits the sampler on the real rows before training, joins the rows it adds
    to the training split (never the validation rows), weighs them in the loss
    and draws fresh ones each epoch, as the :class:`SyntheticRows` says.
    """

    def _fit_oversampler(self, Xt: torch.Tensor, y_encoded: np.ndarray, seed: int) -> int:
        """Fit the ``oversampler``'s sampler on the real rows; keep the rows it adds."""
        self.__dict__.pop("_synthetic", None)
        self._mixing = as_synthetic_rows(self.oversampler)
        if self._mixing is None:
            return 0
        if self.train_split is not None:
            raise ValueError(
                "oversampler needs the built-in validation split (train_split=None), "
                "so that generated rows never enter the validation rows."
            )
        X_real = Xt.reshape(len(Xt), -1).cpu().numpy()
        X_new, y_new = self._mixing.fit_generate(X_real, y_encoded, seed)
        self.oversampler_ = self._mixing.sampler_
        y_new = y_new.astype(np.int64)
        self.n_synthetic_ = np.bincount(y_new, minlength=self._n_classes)
        self._synthetic = (
            torch.as_tensor(X_new, dtype=torch.float32)
            .reshape(len(X_new), *self.image_shape_)
            .to(self._device, memory_format=torch.channels_last),
            torch.as_tensor(y_new).to(self._device),
        )
        return len(X_new)

    def _on_train_seeded(self, seed: int) -> None:
        super()._on_train_seeded(seed)
        self._synthetic_rng = np.random.RandomState(seed)
        self._synthetic_epoch = 0
        self._synthetic_live = getattr(self, "_synthetic", None) is not None

    def _on_train_done(self) -> None:
        super()._on_train_done()
        self.__dict__.pop("_synthetic", None)  # generated rows are not kept

    def _with_synthetic(self, X_train: torch.Tensor, y_train: torch.Tensor):
        """The training split with the generated rows after it, and their loss weights."""
        synthetic = getattr(self, "_synthetic", None)
        if synthetic is None:
            return X_train, y_train, None
        X_syn, y_syn = synthetic
        weight = None
        if callable(self._mixing.weight) or self._mixing.weight != 1:
            weight = torch.ones(len(X_train) + len(X_syn), device=X_train.device)
            weight[len(X_train) :] = self._mixing.weight_at(0.0)
        X_train = torch.cat([X_train, X_syn]).contiguous(memory_format=torch.channels_last)
        return X_train, torch.cat([y_train, y_syn]), weight

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        super().on_epoch_begin(net, dataset_train, dataset_valid, **kwargs)
        live = getattr(self, "_synthetic_live", False) and isinstance(dataset_train, TensorData)
        if not live:
            return
        n_new = int(self.n_synthetic_.sum())
        if callable(self._mixing.weight) and n_new:
            dataset_train.weight[-n_new:] = self._mixing.weight_at(
                self._training_progress(len(dataset_train))
            )
        if self._mixing.refresh and self._synthetic_epoch > 0 and n_new:
            # Overwrite the generated rows at the end of the training split (the first
            # epoch uses fit_resample's rows).
            fresh = self._mixing.fresh(self.n_synthetic_, self._synthetic_rng)
            dataset_train.X[-n_new:] = torch.as_tensor(fresh, dtype=torch.float32).reshape(
                n_new, *self.image_shape_
            )
            dataset_train.y[-n_new:] = torch.as_tensor(
                np.repeat(np.arange(self._n_classes), self.n_synthetic_)
            ).to(self._device)
        self._synthetic_epoch += 1

    def _training_progress(self, n_train_rows: int) -> float:
        """Share of the planned epochs trained before this one."""
        planned = self.max_epochs
        if getattr(self, "n_updates_planned_", None) is not None:  # a budget, whole epochs
            per_epoch = max(1, math.ceil(n_train_rows / self.batch_size))
            planned = max(1, round(self.n_updates_planned_ / per_epoch))
        return min(1.0, (len(self.history) - 1) / planned)

    def _weighted_loss(self, y_pred, y_true, weight: torch.Tensor) -> torch.Tensor:
        """Weighted mean of the criterion's per-row losses."""
        criterion = self.criterion_
        if not hasattr(criterion, "reduction"):
            raise TypeError(
                "SyntheticRows(weight != 1) needs a criterion with a `reduction` attribute "
                f"(as torch's losses have); {type(criterion).__name__} has none."
            )
        reduction, criterion.reduction = criterion.reduction, "none"
        try:
            losses = criterion(y_pred, y_true)
        finally:
            criterion.reduction = reduction
        return (losses * weight).sum() / weight.sum().clamp_min(1e-12)


class LinearDecay(BaseEstimator):
    """A loss weight falling linearly from ``start`` to ``end`` over training.

    For ``SyntheticRows(weight=LinearDecay(...))``: generated rows count fully
    early, when the network learns coarse class shapes, and less as it fits
    finer detail from the real rows.

    Parameters
    ----------
    start : float, default=1.0
        Weight at the first epoch.
    end : float, default=0.0
        Weight the line reaches at the end of the planned training.

    Examples
    --------
    >>> decay = LinearDecay(1.0, 0.0)
    >>> decay(0.0), decay(0.25), decay(1.0)
    (1.0, 0.75, 0.0)
    """

    def __init__(self, start: float = 1.0, end: float = 0.0) -> None:
        self.start = start
        self.end = end

    def __call__(self, progress: float) -> float:
        """The weight when ``progress`` (0 to 1) of training is done."""
        return float(self.start + (self.end - self.start) * progress)

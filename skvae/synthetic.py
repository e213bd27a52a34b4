"""Generated rows in a CNN's training split: how they are made, weighed and renewed.

:class:`~skvae.CNNClassifier`'s ``oversampler`` takes a sampler or a
:class:`SyntheticRows`. A plain sampler is ``SyntheticRows(sampler)``: its
generated rows join the training split once, weighed like real rows, as in a
``Pipeline``. :class:`SyntheticRows` adds the two levers a pipeline cannot
offer: a loss weight for generated rows and fresh rows each epoch.
"""

from __future__ import annotations

from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, clone


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
    weight : float, default=1.0
        Loss weight of a generated row relative to a real one (the loss is the
        weighted mean over the batch). Below 1, real rows dominate however many
        rows are generated.
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
        if not isinstance(self.weight, Real) or not self.weight >= 0:
            raise ValueError(f"weight must be a number >= 0, got {self.weight!r}.")
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

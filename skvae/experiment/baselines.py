"""Baselines beyond the paper: SMOTE on pixels and a strong hand-made augmentation.

The paper compares its VAE images with no augmentation and with rotation and
shifts only. Two stronger yardsticks make the VAE's contribution easier to
judge:

- ``"SMOTE"``: imbalanced-learn's SMOTE on raw pixels, adding one
  interpolated image per real one (as the VAE conditions do), fed to the CNN
  like the VAE images (:func:`pixel_smote`);
- ``"AUG+"``: rotation and shifts plus random scale, shear and elastic
  distortion (:func:`strong_augment`); ``"AUG++VAE"`` adds the VAE images to it.

The paper's Figure 3 asks how much conventional augmentation depends on
knowing the domain: :data:`AUGMENT_LEVELS` runs from the expert setting the
paper used (level 0, rotation 20 degrees and shifts 0.2) to everything a user
without knowledge of digits might switch on (level 4: any rotation, large zoom
and shear, flips), built by :func:`augment_at_level`.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from imblearn.over_sampling import SMOTE

from ..augment import Compose, ElasticDistortion, RandomAffine, RandomFlip

__all__ = [
    "AUGMENT_LEVELS",
    "STRONG_AUGMENT_DEFAULTS",
    "augment_at_level",
    "pixel_smote",
    "strong_augment",
]

#: AUG+ settings: the paper's rotation and shifts, plus scale, shear (degrees)
#: and Simard et al.'s (2003) elastic distortion (alpha, sigma in pixels).
STRONG_AUGMENT_DEFAULTS: dict[str, Any] = dict(
    degrees=20.0,
    width_shift=0.2,
    height_shift=0.2,
    scale=(0.85, 1.15),
    shear=15.0,
    elastic_alpha=34.0,
    elastic_sigma=4.0,
)


def strong_augment(**params: Any) -> Compose:
    """The AUG+ augmentation: a random affine map, then an elastic distortion.

    Parameters
    ----------
    **params
        Overrides of :data:`STRONG_AUGMENT_DEFAULTS`; ``elastic_alpha`` and
        ``elastic_sigma`` go to :class:`~skvae.augment.ElasticDistortion`, the
        rest to :class:`~skvae.RandomAffine`.

    Returns
    -------
    Compose

    Examples
    --------
    >>> import torch
    >>> from skvae.experiment.baselines import strong_augment
    >>> aug = strong_augment(elastic_alpha=8.0)
    >>> aug(torch.rand(4, 1, 28, 28), generator=torch.Generator().manual_seed(0)).shape
    torch.Size([4, 1, 28, 28])
    """
    unknown = set(params) - set(STRONG_AUGMENT_DEFAULTS)
    if unknown:
        raise ValueError(
            f"Unknown AUG+ parameter(s) {sorted(unknown)}; use {sorted(STRONG_AUGMENT_DEFAULTS)}."
        )
    p = {**STRONG_AUGMENT_DEFAULTS, **params}
    elastic = ElasticDistortion(alpha=p.pop("elastic_alpha"), sigma=p.pop("elastic_sigma"))
    return Compose([RandomAffine(**p), elastic])


def _one_more_per_row(y) -> dict:
    """Sampling strategy: each class ends with twice its rows."""
    return {label: 2 * count for label, count in Counter(y).items()}


class _ClassSizeSMOTE(SMOTE):
    """SMOTE whose ``k_neighbors`` shrinks to fit the smallest class.

    With 5 images per class (the paper's smallest training set), SMOTE's
    default of 5 neighbours is more than a class has.
    """

    def _fit_resample(self, X, y):
        smallest = min(Counter(y).values())
        if smallest < 2:
            raise ValueError(
                f"SMOTE needs at least 2 samples per class, the smallest class has {smallest}."
            )
        if self.k_neighbors < smallest:
            return super()._fit_resample(X, y)
        fitted = SMOTE(
            sampling_strategy=self.sampling_strategy,
            random_state=self.random_state,
            k_neighbors=smallest - 1,
        )
        return fitted.fit_resample(X, y)


def pixel_smote(random_state: int | None = None, k_neighbors: int = 5) -> SMOTE:
    """SMOTE on raw pixels adding one interpolated image per real image.

    Parameters
    ----------
    random_state : int or None, default=None
    k_neighbors : int, default=5
        Neighbours of each image to interpolate with, fewer when a class has
        fewer other images.

    Returns
    -------
    imblearn.over_sampling.SMOTE
        A subclass of it; originals come first, as
        :class:`~skvae.CNNClassifier`'s ``oversampler`` requires.

    Examples
    --------
    >>> import numpy as np
    >>> from skvae.experiment.baselines import pixel_smote
    >>> X, y = np.random.default_rng(0).random((10, 4)), np.repeat([0, 1], 5)
    >>> X_res, y_res = pixel_smote(random_state=0).fit_resample(X, y)
    >>> X_res.shape, np.bincount(y_res).tolist()
    ((20, 4), [10, 10])
    """
    return _ClassSizeSMOTE(
        sampling_strategy=_one_more_per_row, random_state=random_state, k_neighbors=k_neighbors
    )


#: Augmentation strength, from expert (0) to inexpert (4): keyword arguments
#: of :class:`~skvae.RandomAffine`, plus ``flip_horizontal`` /
#: ``flip_vertical`` probabilities for :class:`~skvae.RandomFlip`. Level 0 is
#: the paper's AUG. The paper's text names the transformations of its Figure 3
#: (large rotations, flips, zoom, shear) but not their ranges: these are ours.
AUGMENT_LEVELS: tuple[dict[str, Any], ...] = (
    dict(degrees=20.0, width_shift=0.2, height_shift=0.2),
    dict(degrees=45.0, width_shift=0.25, height_shift=0.25, scale=(0.8, 1.2)),
    dict(degrees=90.0, width_shift=0.3, height_shift=0.3, scale=(0.7, 1.3), shear=20.0),
    dict(
        degrees=180.0,
        width_shift=0.3,
        height_shift=0.3,
        scale=(0.6, 1.4),
        shear=30.0,
        flip_horizontal=0.5,
    ),
    dict(
        degrees=180.0,
        width_shift=0.3,
        height_shift=0.3,
        scale=(0.5, 1.5),
        shear=45.0,
        flip_horizontal=0.5,
        flip_vertical=0.5,
    ),
)


def augment_at_level(level: int) -> RandomAffine | Compose:
    """The conventional augmentation at a strength of :data:`AUGMENT_LEVELS`.

    Parameters
    ----------
    level : int
        0 (the paper's expert setting) to ``len(AUGMENT_LEVELS) - 1`` (every
        transformation, at large ranges).

    Returns
    -------
    RandomAffine or Compose
        A :class:`~skvae.RandomAffine`, followed by a
        :class:`~skvae.RandomFlip` at the levels that flip.

    Examples
    --------
    >>> from skvae.experiment.baselines import augment_at_level
    >>> augment_at_level(0)
    RandomAffine(degrees=20.0, width_shift=0.2, height_shift=0.2)
    >>> [type(t).__name__ for t in augment_at_level(4).transforms]
    ['RandomAffine', 'RandomFlip']
    """
    if (
        isinstance(level, bool)
        or not isinstance(level, int)
        or not (0 <= level < len(AUGMENT_LEVELS))
    ):
        raise ValueError(
            f"level must be an integer in [0, {len(AUGMENT_LEVELS) - 1}], got {level!r}."
        )
    params = dict(AUGMENT_LEVELS[level])
    flips = {
        "horizontal": params.pop("flip_horizontal", 0.0),
        "vertical": params.pop("flip_vertical", 0.0),
    }
    affine = RandomAffine(**params)
    if not any(flips.values()):
        return affine
    return Compose([affine, RandomFlip(**flips)])

"""The experiment's conditions: ONE registry, each condition built as a pipeline.

A condition is what its pipeline adds to the paper's CNN: an augmentation, a
source of generated rows, or both. :data:`REGISTRY` holds one
:class:`Condition` per name, in the order of the reports; every list of
conditions (:data:`CONDITIONS`, :data:`LATENT_FREE`, ...) is read from it and
:func:`make_pipeline` builds from its flags, so a new condition is one entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from imblearn.pipeline import Pipeline
from sklearn.base import BaseEstimator, clone

from ..augment import RandomAffine
from ..classifier import CNNClassifier
from ..oversampler import VAEOversampler
from ..semi_supervised import UNLABELED, SemiSupervisedVAEOversampler
from ..synthetic import SyntheticRows
from .baselines import AUGMENT_LEVELS, augment_at_level, pixel_smote, strong_augment
from .config import (
    AUGMENT_DEFAULTS,
    CNN_DEFAULTS,
    SYNTHETIC_DEFAULTS,
    VAE_DEFAULTS,
    oversampler_params,
)

__all__ = [
    "ALL_CONDITIONS",
    "CONDITIONS",
    "EXTRA_CONDITIONS",
    "LATENT_FREE",
    "REGISTRY",
    "STRENGTH_CONDITIONS",
    "UNLABELED_CONDITIONS",
    "Condition",
    "WithUnlabeledRows",
    "augment_level",
    "get_condition",
    "make_pipeline",
]

_GROUPS = ("paper", "extra", "strength", "unlabeled")
_AUGMENTS = (None, "affine", "strong", "level")
_GENERATORS = (None, "vae", "smote")


@dataclass(frozen=True)
class Condition:
    """One condition: a name and what its pipeline adds to the plain CNN.

    Parameters
    ----------
    name : str
        As written in ``results.csv`` and the reports, e.g. ``"AUG+VAE"``.
    group : {"paper", "extra", "strength", "unlabeled"}
        Which list has it: the paper's :data:`CONDITIONS`, the baselines
        beyond it (:data:`EXTRA_CONDITIONS`), the augmentation-strength
        study (:data:`STRENGTH_CONDITIONS`) or the conditions with unlabelled
        rows (:data:`UNLABELED_CONDITIONS`).
    augment : {"affine", "strong", "level"} or None, default=None
        The CNN's augmentation: ``"affine"``, :class:`~skvae.RandomAffine`
        with the run's :data:`~skvae.experiment.config.AUGMENT_DEFAULTS` and
        overrides; ``"strong"``,
        :func:`~skvae.experiment.baselines.strong_augment`; ``"level"``,
        :func:`~skvae.experiment.baselines.augment_at_level` at ``level``;
        None, none.
    level : int or None, default=None
        The condition's level in the augmentation-strength study
        (:func:`augment_level`): 0 for the paper's AUG, ``k`` for ``"AUG@k"``;
        None outside the study.
    generator : {"vae", "smote"} or None, default=None
        Where the generated rows come from: class-VAEs of a
        :class:`~skvae.VAEOversampler` (the condition then takes a latent
        size), :func:`~skvae.experiment.baselines.pixel_smote`, or none.
    unlabeled : int, default=0
        Rows per class given to the generator without their labels
        (:func:`~skvae.experiment.data.unlabeled_rows`): the VAE is then a
        :class:`~skvae.SemiSupervisedVAEOversampler` that learns from them too,
        while the CNN still trains on the labelled and generated rows only.
    """

    name: str
    group: str
    augment: str | None = None
    level: int | None = None
    generator: str | None = None
    unlabeled: int = 0

    def __post_init__(self) -> None:
        for attr, allowed in (
            ("group", _GROUPS),
            ("augment", _AUGMENTS),
            ("generator", _GENERATORS),
        ):
            if getattr(self, attr) not in allowed:
                raise ValueError(f"{attr} must be one of {allowed}, got {getattr(self, attr)!r}.")
        if self.augment == "level" and self.level is None:
            raise ValueError(f"Condition {self.name!r} augments at a level: give its level.")
        if self.unlabeled and self.generator != "vae":
            raise ValueError(f"Condition {self.name!r}: unlabelled rows need generator='vae'.")

    @property
    def uses_latent(self) -> bool:
        """Whether the condition trains VAEs, so takes a latent size."""
        return self.generator == "vae"

    @property
    def uses_generated(self) -> bool:
        """Whether the CNN trains on generated rows besides the real ones."""
        return self.generator is not None

    def make_augment(self, augment_params: Mapping[str, Any] | None = None):
        """The CNN's augmentation, or None.

        Parameters
        ----------
        augment_params : mapping, optional
            Overrides of :data:`~skvae.experiment.config.AUGMENT_DEFAULTS`;
            only the ``"affine"`` augmentation reads them.

        Returns
        -------
        RandomAffine, Compose or None
        """
        if self.augment == "affine":
            return RandomAffine(**{**AUGMENT_DEFAULTS, **(augment_params or {})})
        if self.augment == "strong":
            return strong_augment()
        if self.augment == "level":
            return augment_at_level(self.level)
        return None


#: Every condition by name, in the order of the reports. The paper's four;
#: the baselines beyond it (:mod:`skvae.experiment.baselines`): SMOTE on
#: pixels, the strong augmentation AUG+ and AUG+ with VAE images; then
#: ``"AUG@k"``, AUG at level ``k`` of
#: :data:`~skvae.experiment.baselines.AUGMENT_LEVELS`.
REGISTRY: dict[str, Condition] = {
    c.name: c
    for c in (
        Condition("CNN", "paper"),
        Condition("AUG", "paper", augment="affine", level=0),
        Condition("VAE", "paper", generator="vae"),
        Condition("AUG+VAE", "paper", augment="affine", generator="vae"),
        Condition("SMOTE", "extra", generator="smote"),
        Condition("AUG+", "extra", augment="strong"),
        Condition("AUG++VAE", "extra", augment="strong", generator="vae"),
        Condition("VAE+U", "unlabeled", generator="vae", unlabeled=1000),
        Condition("AUG+VAE+U", "unlabeled", augment="affine", generator="vae", unlabeled=1000),
        *(
            Condition(f"AUG@{k}", "strength", augment="level", level=k)
            for k in range(1, len(AUGMENT_LEVELS))
        ),
    )
}


def _names(group: str) -> tuple[str, ...]:
    return tuple(name for name, c in REGISTRY.items() if c.group == group)


#: The experiment's conditions, in the order of the reports.
CONDITIONS: tuple[str, ...] = _names("paper")

#: Baselines beyond the paper (:mod:`skvae.experiment.baselines`), run on
#: request: SMOTE on pixels, the strong augmentation AUG+ and AUG+ with VAE images.
EXTRA_CONDITIONS: tuple[str, ...] = _names("extra")

#: The augmentation-strength study (the paper's Figure 3): ``"AUG@k"`` is AUG
#: at level ``k`` of :data:`~skvae.experiment.baselines.AUGMENT_LEVELS`, from
#: less expert (1) to every transformation (4); level 0 is ``"AUG"`` itself.
STRENGTH_CONDITIONS: tuple[str, ...] = _names("strength")

#: The VAE conditions whose VAE also learns from 1,000 unlabelled images per class
#: (MNIST only: rows outside the training, development and test rows).
UNLABELED_CONDITIONS: tuple[str, ...] = _names("unlabeled")

#: Every condition a cell may have, in the order of the reports.
ALL_CONDITIONS: tuple[str, ...] = (
    CONDITIONS + EXTRA_CONDITIONS + STRENGTH_CONDITIONS + UNLABELED_CONDITIONS
)

#: Conditions without a VAE: run once per (size, seed), latent recorded as NA.
LATENT_FREE: frozenset[str] = frozenset(n for n, c in REGISTRY.items() if not c.uses_latent)


def get_condition(name: str) -> Condition:
    """The registered condition called ``name``.

    Parameters
    ----------
    name : str
        One of :data:`~skvae.experiment.conditions.ALL_CONDITIONS`.

    Returns
    -------
    Condition

    Raises
    ------
    ValueError
        If no condition has that name.

    Examples
    --------
    >>> get_condition("AUG++VAE")
    Condition(name='AUG++VAE', group='extra', augment='strong', level=None, generator='vae', \
unlabeled=0)
    """
    if name not in ALL_CONDITIONS:
        raise ValueError(f"Unknown condition {name!r}; use one of {list(ALL_CONDITIONS)}.")
    return REGISTRY[name]


def augment_level(condition: str) -> int | None:
    """Augmentation level of a condition: 0 for AUG, ``k`` for ``"AUG@k"``, else None.

    Examples
    --------
    >>> augment_level("AUG@3"), augment_level("AUG"), augment_level("VAE")
    (3, 0, None)
    """
    return get_condition(condition).level if condition in ALL_CONDITIONS else None


def make_pipeline(
    condition: str,
    latent: int | None = None,
    *,
    random_state: int | None = None,
    image_shape: tuple[int, ...] | None = None,
    vae_params: Mapping[str, Any] | None = None,
    cnn_params: Mapping[str, Any] | None = None,
    augment_params: Mapping[str, Any] | None = None,
    synthetic_params: Mapping[str, Any] | None = None,
    X_unlabeled: np.ndarray | None = None,
) -> Pipeline:
    """Build a condition's pipeline from its :data:`~skvae.experiment.conditions.REGISTRY` entry.

    - ``"CNN"``: ``CNNClassifier``;
    - ``"AUG"``: ``CNNClassifier(augment=RandomAffine(...))``;
    - ``"VAE"``: ``CNNClassifier(oversampler=SyntheticRows(VAEOversampler(latent)))``, or with
      ``synthetic_params={"form": "pipeline"}`` the two steps
      ``VAEOversampler(latent)`` then ``CNNClassifier``;
    - ``"AUG+VAE"``: the same, augmenting real and generated images alike;
    - beyond the paper: ``"SMOTE"`` (the VAE condition with
      :func:`~skvae.experiment.baselines.pixel_smote` in place of the VAEs),
      ``"AUG+"`` and ``"AUG++VAE"`` (with
      :func:`~skvae.experiment.baselines.strong_augment`), ``"AUG@k"`` (AUG at
      strength ``k`` of :func:`~skvae.experiment.baselines.augment_at_level`),
      ``"VAE+U"`` and ``"AUG+VAE+U"`` (:class:`WithUnlabeledRows` around the sampler).

    Parameters
    ----------
    condition : str
        One of :data:`~skvae.experiment.conditions.ALL_CONDITIONS`.
    latent : int, optional
        Latent size; required by the VAE conditions, ignored otherwise.
    random_state : int, optional
        Seeds both estimators.
    image_shape : tuple of int, optional
        ``(C, H, W)`` of the images; None lets the estimators infer it.
    vae_params, cnn_params, augment_params, synthetic_params : mapping, optional
        Overrides of :data:`~skvae.experiment.config.VAE_DEFAULTS`,
        :data:`~skvae.experiment.config.CNN_DEFAULTS`,
        :data:`~skvae.experiment.config.AUGMENT_DEFAULTS` and
        :data:`~skvae.experiment.config.SYNTHETIC_DEFAULTS`.
    X_unlabeled : ndarray of shape (n, n_features), optional
        Rows the ``+U`` conditions' VAE learns from without labels (they need it).

    Returns
    -------
    imblearn.pipeline.Pipeline
        A ``("cnn", ...)`` step, after ``("vae" | "smote", ...)`` in the pipeline form.

    Examples
    --------
    >>> pipe = make_pipeline("AUG+VAE", latent=2, random_state=0)
    >>> [name for name, _ in pipe.steps], pipe["cnn"].oversampler.sampler.latent
    (['cnn'], 2)
    >>> pipe = make_pipeline("VAE", 2, synthetic_params={"form": "pipeline"})
    >>> [name for name, _ in pipe.steps]
    ['vae', 'cnn']
    """
    spec = get_condition(condition)
    cnn_kwargs = dict(
        image_shape=image_shape,
        augment=spec.make_augment(augment_params),
        random_state=random_state,
        **{**CNN_DEFAULTS, **(cnn_params or {})},
    )
    if not spec.uses_generated:
        return Pipeline([("cnn", CNNClassifier(**cnn_kwargs))])
    synthetic = {**SYNTHETIC_DEFAULTS, **(synthetic_params or {})}
    form = synthetic.pop("form")
    if spec.generator == "smote":
        name, sampler = "smote", pixel_smote(random_state=random_state)
        synthetic["synthetic_refresh"] = False  # SMOTE has no sample() to draw afresh
    else:
        name = "vae"
        sampler = _vae_sampler(spec, latent, random_state, image_shape, vae_params, X_unlabeled)
    if form == "pipeline":
        return Pipeline([(name, sampler), ("cnn", CNNClassifier(**cnn_kwargs))])
    mixing = _synthetic_rows(sampler, form, synthetic)
    return Pipeline([("cnn", CNNClassifier(oversampler=mixing, **cnn_kwargs))])


def _vae_sampler(spec: Condition, latent, random_state, image_shape, vae_params, X_unlabeled):
    """The VAE condition's sampler: ``vae_params`` over the VAE defaults.

    The defaults are :data:`~skvae.experiment.config.VAE_DEFAULTS`.
    """
    if latent is None:
        raise ValueError(f"Condition {spec.name!r} needs a latent size.")
    settings = {**VAE_DEFAULTS, **(vae_params or {})}
    settings.setdefault("image_shape", "auto" if image_shape is None else image_shape)
    params = dict(random_state=random_state, **oversampler_params(settings))
    if not spec.unlabeled:
        return VAEOversampler(int(latent), **params)
    if X_unlabeled is None:
        raise ValueError(f"Condition {spec.name!r} needs X_unlabeled, its unlabelled rows.")
    return WithUnlabeledRows(SemiSupervisedVAEOversampler(int(latent), **params), X_unlabeled)


class WithUnlabeledRows(BaseEstimator):
    """A sampler that adds fixed unlabelled rows (label ``-1``) to every ``fit_resample``.

    Lets the ``+U`` conditions' VAE learn from rows the CNN never sees: inside
    a :class:`~skvae.synthetic.SyntheticRows` the CNN hands the sampler its
    labelled rows only. Returns what ``sampler`` returns (the labelled rows, then
    the generated ones).

    Parameters
    ----------
    sampler : SemiSupervisedVAEOversampler
        Fitted (as a clone) on the given rows plus ``X_unlabeled``.
    X_unlabeled : ndarray of shape (n, n_features)
        The unlabelled rows.

    Attributes
    ----------
    sampler_ : SemiSupervisedVAEOversampler
        The fitted clone.
    """

    def __init__(self, sampler, X_unlabeled) -> None:
        self.sampler = sampler
        self.X_unlabeled = X_unlabeled

    def fit_resample(self, X, y):
        """Fit a clone of ``sampler`` on ``X, y`` and the unlabelled rows; its output."""
        X_u = np.asarray(self.X_unlabeled, dtype=np.asarray(X).dtype).reshape(
            len(self.X_unlabeled), -1
        )
        self.sampler_ = clone(self.sampler)
        y_u = np.full(len(X_u), UNLABELED, dtype=np.asarray(y).dtype)
        return self.sampler_.fit_resample(np.concatenate([X, X_u]), np.concatenate([y, y_u]))

    def check_settings(self) -> None:
        """Raise on the sampler's settings, before any data."""
        self.sampler.check_settings()

    def sample(self, n_samples: int, class_label, random_state=None) -> np.ndarray:
        """``n_samples`` rows of ``class_label`` from the fitted sampler."""
        return self.sampler_.sample(n_samples, class_label, random_state=random_state)


def _synthetic_rows(sampler, form: str, synthetic: Mapping[str, Any]) -> SyntheticRows:
    """The nested form's :class:`SyntheticRows` of the ``synthetic_*`` settings."""
    if form != "nested":
        raise ValueError(f"synthetic form must be 'nested' or 'pipeline', got {form!r}.")
    unknown = set(synthetic) - {"synthetic_weight", "synthetic_refresh"}
    if unknown:
        raise ValueError(
            f"Unknown synthetic setting(s) {sorted(unknown)}; the nested form takes "
            "synthetic_weight and synthetic_refresh (SyntheticRows' weight and refresh)."
        )
    return SyntheticRows(
        sampler,
        weight=synthetic.get("synthetic_weight", 1.0),
        refresh=synthetic.get("synthetic_refresh", False),
    )

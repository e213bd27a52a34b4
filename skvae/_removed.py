"""Parameters the estimators no longer take, and what replaced each.

A removed name raises a ``TypeError`` that says what to write instead, in the
constructor and in ``set_params`` (so a ``Pipeline`` or a grid with an old
``vae__beta`` key says the same). The docs' Changes page lists them with the
reasons.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields

from .nn.fitting import VAETraining

#: The VAE estimators' former flat parameters, now fields of ``training``.
_TRAINING_FIELDS = tuple(field.name for field in fields(VAETraining))

#: How each VAE estimator's training settings moved into ``training``.
_MOVED_TO_TRAINING = {
    name: f"training={{'{name}': ...}} (or training=VAETraining({name}=...))"
    for name in _TRAINING_FIELDS
}

#: Per estimator, a removed parameter and what replaces it ("REMOVED: why" if nothing).
REMOVED: dict[str, dict[str, str]] = {
    "VAEOversampler": {
        **_MOVED_TO_TRAINING,
        "conditional": "vae='conditional'",
        "latent_sampler": "generation=Decode(latent_sampler=...)",
        "decode_temperature": "generation=Decode(temperature=...)",
        "filter_threshold": "filter=ClassifierFilter(threshold=...)",
        "filter_estimator": "filter=ClassifierFilter(estimator=...)",
        "max_filter_rounds": "filter=ClassifierFilter(max_rounds=...)",
        "pretrain": "REMOVED: it lost in the ablation, docs/ablation.md round 6",
        "batched": "skvae.nn.fitting.fit_class_vaes(..., batched=True)",
    },
    "VAEEncoder": dict(_MOVED_TO_TRAINING),
    "CNNClassifier": {
        "monitor": "callbacks__early_stopping__monitor=...",
        "patience": "callbacks__early_stopping__patience=... (with validation_fraction > 0)",
        "min_steps": "callbacks__early_stopping__min_steps=... (with validation_fraction > 0)",
        "synthetic_weight": "oversampler=SyntheticRows(sampler, weight=...)",
        "synthetic_refresh": "oversampler=SyntheticRows(sampler, refresh=...)",
        "oversample_validation": "REMOVED: it lost in the ablation, docs/ablation.md round 2",
        "scale_min_steps": "REMOVED: it lost in the ablation, docs/ablation.md rounds 4 and 9",
        "synthetic_steps": "REMOVED: it lost in the ablation, docs/ablation.md rounds 4 and 9",
    },
}


def reject_removed(owner: str, params: Mapping) -> None:
    """Raise ``TypeError`` if ``params`` name a parameter ``owner`` no longer takes."""
    removed = REMOVED.get(owner, {})
    hits = [name for name in params if name in removed]
    if hits:
        hints = "; ".join(_hint(name, removed[name]) for name in hits)
        raise TypeError(
            f"{owner} no longer takes {', '.join(hits)}: {hints} (see the Changes page "
            "of the docs)."
        )


def _hint(name: str, replacement: str) -> str:
    if replacement.startswith("REMOVED: "):
        return f"{name}= was dropped ({replacement.removeprefix('REMOVED: ')})"
    return f"{name}= is now {replacement}"


def _owner(cls: type) -> str:
    """The estimator of ``cls``'s ancestry that has an entry in :data:`REMOVED`."""
    return next((c.__name__ for c in cls.__mro__ if c.__name__ in REMOVED), cls.__name__)


class RejectsRemovedParameters:
    """Mixin: a removed parameter, given to the constructor or ``set_params``, raises.

    The check runs in ``__new__``, before ``__init__`` would fail with Python's
    bare "unexpected keyword argument", so ``__init__`` keeps the explicit
    signature scikit-learn reads parameters from.
    """

    def __new__(cls, *args, **kwargs):
        reject_removed(_owner(cls), kwargs)
        return super().__new__(cls)

    def set_params(self, **params):
        reject_removed(_owner(type(self)), params)
        return super().set_params(**params)

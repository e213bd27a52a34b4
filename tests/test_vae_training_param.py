"""The ``training`` parameter of VAEOversampler and VAEEncoder, and the removed names.

The eight VAE training settings (``beta``, ``max_epochs``, ``min_steps``,
``patience``, ``lr``, ``batch_size``, ``precision``, ``validation_fraction``)
are one parameter, ``training``: None, a dict of some fields, or a
:class:`skvae.VAETraining`. A removed parameter raises a ``TypeError`` that
names what to write instead, from the constructor and from ``set_params``.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest
from imblearn.pipeline import Pipeline
from sklearn.base import clone

import skvae
from skvae import CNNClassifier, VAEEncoder, VAEOversampler, VAETraining
from skvae._network import resolve_training
from skvae._removed import REMOVED
from skvae.generation import Decode, Residual
from skvae.nn.fitting import VAETraining as FittingVAETraining

TRAINING_FIELDS = [
    "beta",
    "max_epochs",
    "min_steps",
    "patience",
    "lr",
    "batch_size",
    "precision",
    "validation_fraction",
]

#: A value of the right kind for each field (the removed names would have taken it).
FIELD_VALUES = {
    "beta": 0.5,
    "max_epochs": 2,
    "min_steps": 3,
    "patience": 1,
    "lr": 2e-3,
    "batch_size": 16,
    "precision": "bf16",
    "validation_fraction": 0.2,
}

ESTIMATORS = [VAEOversampler, VAEEncoder]


# ------------------------------------------------------------ the parameter
def test_vaetraining_is_exported_and_holds_the_eight_former_flat_settings():
    assert skvae.VAETraining is FittingVAETraining and "VAETraining" in skvae.__all__
    assert [field.name for field in dataclasses.fields(VAETraining)] == [
        "max_epochs",
        "min_steps",
        "patience",
        "lr",
        "batch_size",
        "beta",
        "precision",
        "validation_fraction",
        "augment",  # new in issue #28, never a flat parameter
    ]
    fields = {f.name for f in dataclasses.fields(VAETraining)}
    assert sorted(TRAINING_FIELDS) == sorted(fields - {"augment"})


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_training_is_one_parameter_and_the_flat_names_are_gone(Estimator):
    params = Estimator().get_params()
    assert "training" in params and params["training"] is None
    assert not set(TRAINING_FIELDS) & set(params)


def test_parameter_counts():
    # VAEOversampler went from 19 parameters to 12 (13 with categorical_features, issue
    # #29), VAEEncoder from 14 to 7; issue #27's bound is 14.
    assert len(VAEOversampler().get_params()) == 13
    assert len(VAEEncoder().get_params()) == 7


# ----------------------------------------------------------- removed names
@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize("name", TRAINING_FIELDS)
def test_a_flat_training_name_raises_naming_its_replacement(Estimator, name):
    owner = Estimator.__name__
    message = (
        f"{owner} no longer takes {name}: {name}= is now training={{'{name}': ...}} "
        f"(or training=VAETraining({name}=...))"
    )
    value = FIELD_VALUES[name]
    with pytest.raises(TypeError, match=re.escape(message)):
        Estimator(**{name: value})
    with pytest.raises(TypeError, match=re.escape(message)):
        Estimator().set_params(**{name: value})


def test_several_removed_names_are_all_named():
    with pytest.raises(TypeError, match=r"no longer takes max_epochs, lr: .*'max_epochs'.*'lr'"):
        VAEOversampler(latent=2, max_epochs=2, lr=1e-3)


def _hint(owner: str, name: str) -> str:
    """The regex of the TypeError for ``name``: its replacement, or why it was dropped."""
    replacement = REMOVED[owner][name]
    if replacement.startswith("REMOVED:"):  # nothing replaces it: the message says why
        reason = replacement.removeprefix("REMOVED:").strip()
        return f"{owner} no longer takes {name}: .*{re.escape(reason)}"
    return f"{owner} no longer takes {name}: " + re.escape(f"{name}= is now {replacement}")


@pytest.mark.parametrize("name", sorted(REMOVED["VAEOversampler"]))
def test_every_removed_oversampler_name_raises_naming_its_replacement(name):
    with pytest.raises(TypeError, match=_hint("VAEOversampler", name)):
        VAEOversampler(**{name: None})
    with pytest.raises(TypeError, match=_hint("VAEOversampler", name)):
        VAEOversampler().set_params(**{name: None})


def test_a_removed_name_in_a_pipeline_or_grid_key_raises_the_same():
    pipe = Pipeline([("vae", VAEOversampler(latent=2)), ("cnn", CNNClassifier())])
    with pytest.raises(TypeError, match=re.escape("training={'beta': ...}")):
        pipe.set_params(vae__beta=0.5)
    # The new spelling works there: a grid can search over training.
    pipe.set_params(vae__training={"beta": 0.5})
    assert pipe.named_steps["vae"].training == {"beta": 0.5}


def test_cnnclassifier_takes_early_stopping_settings_as_callback_parameters():
    clf = CNNClassifier(max_epochs=3, callbacks__early_stopping__patience=2, lr=2e-3, batch_size=16)
    clf.set_params(precision="bf16", validation_fraction=0.1)
    clf.set_params(callbacks__early_stopping__min_steps=5)
    params = clf.get_params()
    assert params["max_epochs"] == 3
    assert params["callbacks__early_stopping__patience"] == 2
    assert params["callbacks__early_stopping__min_steps"] == 5
    assert params["precision"] == "bf16" and params["validation_fraction"] == 0.1


@pytest.mark.parametrize("name", sorted(REMOVED["CNNClassifier"]))
def test_a_removed_cnnclassifier_name_raises_naming_its_replacement(name):
    with pytest.raises(TypeError, match=_hint("CNNClassifier", name)):
        CNNClassifier(**{name: 0.5})
    with pytest.raises(TypeError, match=_hint("CNNClassifier", name)):
        CNNClassifier().set_params(**{name: 0.5})


# ---------------------------------------------------------- bad training
@pytest.mark.parametrize("training", [{"epochs": 2}, {"max_epochs": 2, "learning_rate": 1e-3}])
def test_an_unknown_training_field_is_refused_by_name(small_digits, training, count_vae_training):
    X, y = small_digits
    (unknown,) = set(training) - set(TRAINING_FIELDS)
    with pytest.raises(ValueError, match=f"training has no field.*'{unknown}'"):
        VAEOversampler(training=training).check_settings()
    with pytest.raises(ValueError, match=f"training has no field.*'{unknown}'"):
        VAEOversampler(latent=2, training=training).fit_resample(X, y)
    with pytest.raises(ValueError, match=f"training has no field.*'{unknown}'"):
        VAEEncoder(latent=2, training=training).fit(X)
    assert not count_vae_training  # refused before any training


@pytest.mark.parametrize(
    "training, field",
    [
        ({"lr": -1}, "lr"),
        ({"lr": 0.0}, "lr"),
        ({"max_epochs": 0}, "max_epochs"),
        ({"patience": -1}, "patience"),
        ({"min_steps": -1}, "min_steps"),
        ({"batch_size": 0}, "batch_size"),
        ({"beta": -1.0}, "beta"),
        ({"precision": "fp16"}, "precision"),
        ({"validation_fraction": 1.0}, "validation_fraction"),
        (VAETraining(lr=-1.0), "lr"),
    ],
)
def test_a_bad_training_value_is_refused_naming_the_field(
    small_digits, training, field, count_vae_training
):
    X, y = small_digits
    message = f"'{field}' parameter of VAEOversampler training"
    with pytest.raises(ValueError, match=message):
        VAEOversampler(training=training).check_settings()
    with pytest.raises(ValueError, match=message):
        VAEOversampler(latent=2, training=training).fit_resample(X, y)
    with pytest.raises(ValueError, match=f"'{field}' parameter of VAEEncoder training"):
        VAEEncoder(latent=2, training=training).fit(X)
    assert not count_vae_training


@pytest.mark.parametrize("training", [5, "fast", [("max_epochs", 2)]])
def test_training_of_another_type_is_refused(training):
    with pytest.raises(ValueError, match="'training' parameter of VAEOversampler"):
        VAEOversampler(training=training).check_settings()


# --------------------------------------------------------- check_settings
def test_check_settings_raises_before_any_data(count_vae_training):
    with pytest.raises(ValueError, match="temperature must be > 0"):
        VAEOversampler(generation=Decode(temperature=0)).check_settings()
    with pytest.raises(ValueError, match="temperature must be > 0"):
        VAEOversampler(generation=Residual(temperature=-1.0)).check_settings()
    with pytest.raises(ValueError, match="'patience' parameter"):
        VAEOversampler(training={"patience": -1}).check_settings()
    with pytest.raises(ValueError, match="'patience' parameter"):
        VAEOversampler(training=VAETraining(patience=-1)).check_settings()
    # Good settings pass, in every accepted form.
    VAEOversampler().check_settings()
    VAEOversampler(training={"max_epochs": 2}, generation=Decode(temperature=0.5)).check_settings()
    VAEOversampler(training=VAETraining(max_epochs=2)).check_settings()
    assert not count_vae_training


# ------------------------------------------------------- same fits, clone
def _three_classes(small_digits):
    X, y = small_digits
    keep = y < 3
    return X[keep], y[keep]


def test_a_dict_and_a_vaetraining_train_bit_identically(small_digits):
    X, y = _three_classes(small_digits)
    kw = dict(latent=2, random_state=0)
    from_dict = VAEOversampler(training={"max_epochs": 2}, **kw).fit_resample(X, y)
    from_instance = VAEOversampler(training=VAETraining(max_epochs=2), **kw).fit_resample(X, y)
    np.testing.assert_array_equal(from_dict[0], from_instance[0])
    np.testing.assert_array_equal(from_dict[1], from_instance[1])
    # Another setting does change the fit: the comparison above is not vacuous.
    other = VAEOversampler(training={"max_epochs": 3}, **kw).fit_resample(X, y)[0]
    assert not np.allclose(from_dict[0][len(X) :], other[len(X) :])


def test_no_training_is_the_defaults():
    # None, the empty dict and VAETraining() resolve alike (training them all
    # would take the paper's 200 epochs three times).
    for Estimator in ESTIMATORS:
        for training in (None, {}, VAETraining()):
            assert resolve_training(training, Estimator.__name__) == VAETraining()
    assert resolve_training({"lr": 2e-3}, "VAEOversampler") == VAETraining(lr=2e-3)


def test_encoder_dict_and_vaetraining_train_bit_identically(small_digits):
    X, _ = small_digits
    a = VAEEncoder(latent=2, training={"max_epochs": 2}, random_state=0).fit(X).transform(X)
    b = VAEEncoder(latent=2, training=VAETraining(max_epochs=2), random_state=0).fit(X)
    np.testing.assert_array_equal(a, b.transform(X))


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize(
    "training", [None, {"max_epochs": 2, "lr": 2e-3}, VAETraining(max_epochs=2, beta=0.5)]
)
def test_clone_keeps_training(Estimator, training):
    original = Estimator(latent=2, training=training)
    cloned = clone(original)
    assert cloned.training == training
    assert type(cloned.training) is type(training)
    assert cloned.get_params()["training"] == training
    if isinstance(training, dict):  # a copy: editing one leaves the other alone
        cloned.training["max_epochs"] = 5
        assert original.training["max_epochs"] == 2


def test_set_params_training_replaces_the_whole_setting():
    sampler = VAEOversampler(training={"max_epochs": 2, "lr": 2e-3})
    sampler.set_params(training={"patience": 3})
    assert sampler.training == {"patience": 3}
    sampler.set_params(training=VAETraining(patience=4))
    assert sampler.training == VAETraining(patience=4)

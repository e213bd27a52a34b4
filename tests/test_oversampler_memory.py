"""VAEOversampler(memory=...): trained class-VAEs are cached like Pipeline(memory=...)."""

import dataclasses

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils._param_validation import InvalidParameterError

import skvae.oversampler
from skvae import VAEOversampler, VAETraining
from skvae.datasets import load_digits
from skvae.generation import ClassifierFilter, Decode

FAST_TRAINING = {"max_epochs": 2, "patience": 1}


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:120], y[:120]


def _sampler(**kw):
    kw.setdefault("training", FAST_TRAINING)
    return VAEOversampler(latent=2, random_state=0, **kw)


def test_a_hit_loads_what_training_would_give(digits, tmp_path, count_vae_training):
    X, y = digits
    plain_X, plain_y = _sampler().fit_resample(X, y)
    assert len(count_vae_training) == 1
    cached = _sampler(memory=str(tmp_path))
    first = cached.fit_resample(X, y)
    again = clone(cached).fit_resample(X, y)
    assert len(count_vae_training) == 2  # the second cached fit trained nothing
    for X_res, y_res in (first, again):
        np.testing.assert_array_equal(X_res, plain_X)
        np.testing.assert_array_equal(y_res, plain_y)
    # The loaded VAEs go on generating as trained ones do.
    fresh = _sampler()
    fresh.fit_resample(X, y)
    loaded = clone(cached)
    loaded.fit_resample(X, y)
    np.testing.assert_array_equal(
        loaded.sample(7, 3, random_state=1), fresh.sample(7, 3, random_state=1)
    )
    assert [len(h.history) for h in loaded.histories_.values()] == [
        len(h.history) for h in fresh.histories_.values()
    ]


@pytest.mark.parametrize(
    "change",
    [
        {"latent": 3},
        {"training": {**FAST_TRAINING, "lr": 2e-3}},
        {"training": {**FAST_TRAINING, "max_epochs": 3}},
        {"training": {**FAST_TRAINING, "beta": 0.5}},
        {"training": {**FAST_TRAINING, "validation_fraction": 0.3}},
        {"random_state": 1},
        {"augment_size": 2},
    ],
    ids=["latent", "lr", "max_epochs", "beta", "validation_fraction", "seed", "augment"],
)
def test_training_settings_are_part_of_the_key(digits, tmp_path, count_vae_training, change):
    X, y = digits
    _sampler(memory=str(tmp_path)).fit_resample(X, y)
    _sampler(memory=str(tmp_path)).set_params(**change).fit_resample(X, y)
    assert len(count_vae_training) == 2


def test_the_same_training_as_a_dict_or_a_vaetraining_is_a_hit(
    digits, tmp_path, count_vae_training
):
    X, y = digits
    X_dict, _ = _sampler(memory=str(tmp_path)).fit_resample(X, y)
    as_instance = _sampler(memory=str(tmp_path), training=VAETraining(**FAST_TRAINING))
    X_instance, _ = as_instance.fit_resample(X, y)
    assert len(count_vae_training) == 1  # the key holds the resolved fields, not the spelling
    np.testing.assert_array_equal(X_dict, X_instance)


def test_other_rows_are_not_a_hit(digits, tmp_path, count_vae_training):
    X, y = digits
    _sampler(memory=str(tmp_path)).fit_resample(X, y)
    X_other = X.copy()
    X_other[0, 10] += 1.0
    _sampler(memory=str(tmp_path)).fit_resample(X_other, y)
    assert len(count_vae_training) == 2


@pytest.mark.parametrize(
    "change",
    [
        {"generation": Decode(temperature=0.5)},
        {"generation": "residual"},
        {"verbose": 1},
        {"filter": ClassifierFilter(threshold=0.2)},
    ],
    ids=["temperature", "residual", "verbose", "filter"],
)
@pytest.mark.filterwarnings("ignore:Class .* the filter accepted")
def test_generation_settings_reuse_the_vaes(digits, tmp_path, count_vae_training, change, capsys):
    X, y = digits
    _sampler(memory=str(tmp_path)).fit_resample(X, y)
    changed = _sampler(memory=str(tmp_path)).set_params(**change)
    X_res, _ = changed.fit_resample(X, y)
    assert len(count_vae_training) == 1
    direct = _sampler().set_params(**change)
    X_direct, _ = direct.fit_resample(X, y)
    np.testing.assert_array_equal(X_res, X_direct)
    if change.get("verbose"):
        assert "loaded from memory" in capsys.readouterr().out


def test_every_parameter_is_in_the_key_or_named_as_outside(digits, monkeypatch):
    # A new parameter must be sorted into one of the two groups on purpose.
    in_key = {"latent", "vae", "training"}  # training: as every field of VAETraining
    outside = {
        "sampling_strategy",  # through sampling_strategy_, which is in the key
        "augment_size",  # likewise
        "image_shape",  # through image_shape_
        "device",  # through the resolved device
        "random_state",  # through the random stream's state
        "memory",
        "verbose",
        "generation",  # fitted on the trained VAEs, after training
        "filter",  # likewise
        # through the one-hot rows the VAEs train on and their groups (in the key when given)
        "categorical_features",
    }
    params = set(VAEOversampler().get_params())
    assert in_key | outside == params
    assert not in_key & outside

    # The key fit_resample builds: latent, vae and every field of the resolved
    # training, whatever the generation, filter or verbosity.
    class Stop(Exception):
        pass

    keys = []

    def spy(settings, *args, **kwargs):
        keys.append(settings)
        raise Stop

    monkeypatch.setattr(skvae.oversampler, "_train_vaes", spy)
    X, y = digits
    training = VAETraining(max_epochs=2, patience=1, lr=2e-3, beta=0.5)
    changes = [
        {},
        {"generation": "residual"},
        {"filter": ClassifierFilter(threshold=0.2)},
        {"verbose": 1},
    ]
    for change in changes:
        with pytest.raises(Stop):
            VAEOversampler(latent=2, training=training, **change).fit_resample(X, y)
    # (test_vae_training_param pins these fields to the eight settings.)
    fields = {field.name for field in dataclasses.fields(VAETraining)}
    expected = {"latent": 2, "vae": "auto", **dataclasses.asdict(training)}
    assert set(expected) == {"latent", "vae"} | fields
    assert keys == [expected] * len(changes)
    # A dict of some fields resolves to the same key as the equal VAETraining.
    keys.clear()
    with pytest.raises(Stop):
        VAEOversampler(
            latent=2, training={"max_epochs": 2, "patience": 1, "lr": 2e-3, "beta": 0.5}
        ).fit_resample(X, y)
    assert keys == [expected]


def test_joblib_memory_object_and_conditional(digits, tmp_path, count_vae_training):
    X, y = digits
    memory = joblib.Memory(tmp_path, verbose=0)
    first = _sampler(memory=memory, vae="conditional")
    X1, _ = first.fit_resample(X, y)
    second = _sampler(memory=memory, vae="conditional")
    X2, _ = second.fit_resample(X, y)
    assert len(count_vae_training) == 1
    np.testing.assert_array_equal(X1, X2)
    # The shared conditional model stays shared among the class views after loading.
    models = {id(vae.model) for vae in second.vaes_.values()}
    assert len(models) == 1


def test_a_cached_tabular_vae_still_refuses_a_temperature(tmp_path):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(40, 5))
    y = np.repeat([0, 1], 20)
    _sampler(memory=str(tmp_path)).fit_resample(X, y)
    with pytest.raises(ValueError, match="temperature=0.5 needs a VAE"):
        _sampler(memory=str(tmp_path), generation=Decode(temperature=0.5)).fit_resample(X, y)


def test_memory_without_cache_method_is_refused(digits):
    X, y = digits
    with pytest.raises(InvalidParameterError, match="memory"):
        _sampler(memory=5).fit_resample(X, y)

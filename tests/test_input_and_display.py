"""What a newcomer sees: input both estimators take, warnings, reprs and log lines."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from imblearn.pipeline import Pipeline
from sklearn.utils.estimator_checks import check_set_params

from skvae import CNNClassifier, ElasticDistortion, RandomAffine, RandomFlip, VAEOversampler
from skvae.datasets import load_digits

SMALL_CNN = dict(max_epochs=1, module__channels=(4, 4, 4, 4), random_state=0)
SMALL_VAE = dict(latent=2, training={"max_epochs": 2}, random_state=0)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    rows = np.concatenate([np.flatnonzero(y == c)[:8] for c in range(3)])
    return X[rows], y[rows]


def test_fit_on_a_dataframe_warns_nothing(digits):
    pd = pytest.importorskip("pandas")
    X, y = digits
    frame = pd.DataFrame(X, columns=[f"px{i}" for i in range(X.shape[1])])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf = CNNClassifier(**SMALL_CNN).fit(frame, pd.Series(y))
        clf.predict(frame)
    assert list(clf.feature_names_in_) == list(frame.columns)


def test_fit_checks_y_still(digits):
    X, y = digits
    with pytest.raises(ValueError, match="y has"):
        CNNClassifier(**SMALL_CNN).fit(X, y[:-1])
    with pytest.raises(ValueError, match="continuous|Unknown label type"):
        CNNClassifier(**SMALL_CNN).fit(X, y + 0.5)


def test_scikit_learn_set_params_check_warns_nothing():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_set_params("CNNClassifier", CNNClassifier(max_epochs=1))
    assert [str(w.message) for w in caught] == []


def test_a_bad_callbacks_value_is_refused_in_fit(digits):
    X, y = digits
    clf = CNNClassifier(**SMALL_CNN).set_params(callbacks=-np.inf)
    assert clf.callbacks == -np.inf  # stored as given, as scikit-learn asks
    with pytest.raises(ValueError, match="callbacks"):
        clf.fit(X, y)


def test_callbacks_params_of_an_uninitialised_net_still_reach_the_callback(digits):
    from skorch.callbacks import LRScheduler

    X, y = digits
    clf = CNNClassifier(**SMALL_CNN, callbacks=[("lr", LRScheduler(step_every="epoch"))])
    clf.set_params(callbacks__lr__step_every="batch")
    clf.fit(X, y)
    assert dict(clf.callbacks_)["lr"].step_every == "batch"


def test_transform_reprs_show_the_ranges_they_draw_from():
    assert repr(RandomAffine(20, 0.2, 0.2)) == (
        "RandomAffine(degrees=20, width_shift=0.2, height_shift=0.2)"
    )
    assert repr(RandomAffine(45, 0.1, 0.1, scale=(0.8, 1.2))) == (
        "RandomAffine(degrees=45, width_shift=0.1, height_shift=0.1, scale=(0.8, 1.2))"
    )
    assert repr(ElasticDistortion()) == "ElasticDistortion(alpha=34.0, sigma=4.0)"
    assert repr(RandomFlip(vertical=0.5)) == "RandomFlip(horizontal=0.5, vertical=0.5)"


def test_cnn_repr_in_a_pipeline_shows_only_changed_parameters():
    text = repr(Pipeline([("cnn", CNNClassifier(max_epochs=5, batch_size=16))]))
    assert "max_epochs=5" in text and "batch_size=16" in text
    for internal in ("callbacks=", "classes=", "compile=", "dataset=", "iterator_train="):
        assert internal not in text, text
    # A changed skorch parameter still shows.
    assert "warm_start=True" in repr(Pipeline([("cnn", CNNClassifier(warm_start=True))]))


def test_labels_in_logs_and_sampling_strategy_are_plain_python(digits, capsys):
    X, y = digits
    sampler = VAEOversampler(**SMALL_VAE, verbose=1)
    sampler.fit_resample(X, y)
    out = capsys.readouterr().out
    assert "class 1:" in out and "np.int64" not in out, out
    assert all(type(label) is int for label in sampler.sampling_strategy_)
    assert "np." not in repr(dict(sampler.sampling_strategy_))


@pytest.mark.parametrize("channels", [None, 1, 3])
def test_oversampler_takes_image_arrays_and_returns_rows(digits, channels):
    X, y = digits
    X = X / 16.0
    if channels is None:
        images, shape = X.reshape(-1, 8, 8), (1, 8, 8)
    else:
        images = np.repeat(X.reshape(-1, 1, 8, 8), channels, axis=1)
        shape = (channels, 8, 8)
    X_res, y_res = VAEOversampler(**SMALL_VAE).fit_resample(images, y)
    assert X_res.ndim == 2 and X_res.shape[1] == int(np.prod(shape))
    sampler = VAEOversampler(**SMALL_VAE, image_shape=shape)
    X_rows, y_rows = sampler.fit_resample(images.reshape(len(images), -1), y)
    assert sampler.image_shape_ == shape
    # The same rows, shape and seed: the same computation, so the same output.
    np.testing.assert_array_equal(X_res, X_rows)
    np.testing.assert_array_equal(y_res, y_rows)


def test_oversampler_refuses_an_image_shape_the_array_contradicts(digits):
    X, y = digits
    with pytest.raises(ValueError, match=r"image_shape=\(4, 16\).*\(1, 8, 8\)"):
        VAEOversampler(**SMALL_VAE, image_shape=(4, 16)).fit_resample(
            (X / 16.0).reshape(-1, 8, 8), y
        )


def test_pipeline_of_both_takes_image_arrays(digits):
    X, y = digits
    images = (X / 16.0).reshape(-1, 8, 8)
    pipe = Pipeline([("vae", VAEOversampler(**SMALL_VAE)), ("cnn", CNNClassifier(**SMALL_CNN))])
    pipe.fit(images, y)
    assert pipe.predict(images).shape == (len(y),)

"""skvae.metrics on cases with a known answer."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from sklearn.exceptions import DataConversionWarning
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier

from skvae import CNNClassifier, VAEOversampler
from skvae.metrics import (
    class_consistency,
    frechet_distance,
    generation_report,
    memorisation_rate,
    penultimate_features,
    train_synthetic_test_real,
)


@pytest.fixture
def blobs():
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(-3, 1, (100, 4)), rng.normal(3, 1, (100, 4))])
    return X, np.repeat([0, 1], 100)


def test_frechet_distance_known_values():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(4000, 3))
    assert frechet_distance(X, X) == pytest.approx(0, abs=1e-6)
    assert frechet_distance(X, X + [1, 2, 2]) == pytest.approx(9.0, abs=1e-6)
    # Scaling by 2: covariances I and 4I, Tr(I + 4I - 2 * 2I) = 3 (means both ~0).
    assert frechet_distance(X, 2 * X) == pytest.approx(3.0, rel=0.05)
    # A feature map is applied to both sets.
    assert frechet_distance(X, X + 5, features=lambda a: a * 0) == pytest.approx(0, abs=1e-9)


def test_frechet_distance_errors():
    X = np.zeros((5, 3))
    with pytest.raises(ValueError, match="width"):
        frechet_distance(X, np.zeros((5, 2)))
    with pytest.raises(ValueError, match="at least 2"):
        frechet_distance(X, X[:1])
    with pytest.raises(ValueError, match="NaN"):
        frechet_distance(X, np.full((5, 3), np.nan))


def test_class_consistency(blobs):
    X, y = blobs
    ref = LogisticRegression().fit(X, y)
    assert class_consistency(ref, X, y) == 1.0
    assert class_consistency(ref, X, 1 - y) == 0.0  # every sample labelled as the other class
    with pytest.raises(ValueError, match="rows"):
        class_consistency(ref, X, y[:3])
    # A label column is read as 1-D, not broadcast into an n x n comparison.
    with pytest.warns(DataConversionWarning):
        assert class_consistency(ref, X, y.reshape(-1, 1)) == 1.0
    with pytest.raises(ValueError, match="1d array"):
        class_consistency(ref, X, np.stack([y, y], axis=1))


def test_train_synthetic_test_real(blobs):
    X, y = blobs
    assert train_synthetic_test_real(LogisticRegression(), X, y, X, y) == 1.0
    swapped = train_synthetic_test_real(LogisticRegression(), X, 1 - y, X, y, scoring="accuracy")
    assert swapped == 0.0


def test_memorisation_rate():
    rng = np.random.default_rng(2)
    train, held, fresh = (rng.normal(size=(200, 5)) for _ in range(3))
    assert memorisation_rate(train + 1e-6, train, held) == 1.0  # copies
    assert memorisation_rate(held + 1e-6, train, held) == 0.0
    # New draws of the same distribution: about half are nearer a training sample.
    assert 0.4 < memorisation_rate(fresh, train, held) < 0.6
    with pytest.raises(ValueError, match="same number of features"):
        memorisation_rate(fresh[:, :2], train, held)


def test_penultimate_features_are_the_hidden_layer(small_digits):
    X, y = small_digits
    clf = CNNClassifier(max_epochs=1, random_state=0, module__channels=(4, 4, 4, 4))
    clf.fit(X, y)
    feats = penultimate_features(clf, X[:7])
    assert feats.shape == (7, 128)  # PaperCNN's hidden width
    assert (feats >= 0).all()  # after the ReLU
    # The last layer applied to them gives the classifier's logits.
    last = clf.module_.classifier[-1]
    import torch

    logits = last(torch.as_tensor(feats)).detach().numpy()
    np.testing.assert_allclose(
        np.exp(logits) / np.exp(logits).sum(1, keepdims=True), clf.predict_proba(X[:7]), atol=1e-5
    )
    fd = frechet_distance(X[:40], X[40:80], features=functools.partial(penultimate_features, clf))
    assert np.isfinite(fd) and fd >= 0


def test_generation_report(digits):
    X, y = digits.data / 16.0, digits.target
    train, held = slice(0, 600), slice(600, 1200)
    sampler = VAEOversampler(latent=2, training={"max_epochs": 30}, random_state=0)
    sampler.fit_resample(X[train], y[train])
    ref = LogisticRegression(max_iter=500).fit(X[held], y[held])
    report = generation_report(
        sampler,
        X[train],
        y[train],
        X[held],
        y[held],
        reference=ref,
        tstr_estimator=KNeighborsClassifier(3),
        n_per_class=20,
    )
    assert set(report) == {
        "class_consistency",
        "frechet_distance",
        "memorisation_rate",
        "memorisation_rate_real",
        "tstr",
    }
    assert report["class_consistency"] > 0.5  # far above chance (0.1)
    assert 0 <= report["memorisation_rate"] <= 1
    assert report["frechet_distance"] > 0
    # Same seed, same numbers.
    again = generation_report(
        sampler,
        X[train],
        y[train],
        X[held],
        y[held],
        reference=ref,
        tstr_estimator=KNeighborsClassifier(3),
        n_per_class=20,
    )
    assert again == report


def test_generation_report_needs_a_generator_for_every_class(digits):
    X, y = digits.data[:300] / 16.0, digits.target[:300]
    keep = (y != 4) | (np.arange(len(y)) % 3 == 0)  # class 4 is the minority
    sampler = VAEOversampler(
        latent=2, training={"max_epochs": 1}, sampling_strategy={4: 20}, random_state=0
    ).fit(X[keep], y[keep])
    sampler.fit_resample(X[keep], y[keep])
    assert list(sampler.vaes_) == [4]
    ref = LogisticRegression(max_iter=200).fit(X, y)
    with pytest.raises(ValueError, match=r"classes \[0, 1, 2, 3, 5"):
        generation_report(sampler, X[keep], y[keep], X, y, reference=ref, n_per_class=2)

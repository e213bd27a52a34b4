"""VAEEncoder: scikit-learn's checks and its transform / inverse_transform."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from skvae import VAEEncoder


@parametrize_with_checks(
    [VAEEncoder(latent=2, training={"max_epochs": 2, "patience": 1}, random_state=0)]
)
def test_sklearn_checks(estimator, check):
    check(estimator)


def test_transform_inverse_transform_and_names(small_digits):
    X, y = small_digits
    # beta < 1: on 64-pixel images the full KL weight collapses the posterior.
    enc = VAEEncoder(
        latent=2,
        training={"beta": 0.05, "max_epochs": 300, "patience": 300},
        random_state=0,
    ).fit(X)
    assert enc.image_shape_ == (1, 8, 8) and enc.history_.n_steps > 0
    Z = enc.transform(X)
    assert Z.shape == (len(X), 2) and np.isfinite(Z).all()
    X_back = enc.inverse_transform(Z)
    assert X_back.shape == X.shape and X_back.min() >= 0 and X_back.max() <= 1
    # Reconstructions are closer to their own row than to the average row.
    own = np.mean((X_back - X) ** 2)
    mean_row = np.mean((X.mean(0) - X) ** 2)
    assert own < mean_row
    # Codes separate the classes better than chance: class means differ.
    centroids = np.stack([Z[y == c].mean(0) for c in range(10)])
    assert np.ptp(centroids, axis=0).max() > 0.5
    assert list(enc.get_feature_names_out()) == ["vaeencoder0", "vaeencoder1"]
    with pytest.raises(ValueError, match="codes of shape"):
        enc.inverse_transform(np.zeros((3, 5)))


def test_tabular_rows_round_trip_on_their_scale():
    rng = np.random.RandomState(0)
    X = rng.normal(50.0, 10.0, size=(80, 3))
    enc = VAEEncoder(latent=2, training={"max_epochs": 50}, random_state=0).fit(X)
    assert enc.image_shape_ is None
    back = enc.inverse_transform(enc.transform(X))
    assert abs(back.mean() - 50.0) < 5.0  # decoded back to the original scale


def test_same_seed_same_codes(small_digits):
    X, _ = small_digits
    a = VAEEncoder(training={"max_epochs": 3}, random_state=1).fit(X).transform(X)
    b = VAEEncoder(training={"max_epochs": 3}, random_state=1).fit(X).transform(X)
    np.testing.assert_array_equal(a, b)


def test_transform_refuses_data_outside_the_fitted_range(small_digits):
    X, _ = small_digits
    enc = VAEEncoder(training={"max_epochs": 2}, random_state=0).fit(X)
    with pytest.raises(ValueError, match=r"X spans \[0, 255\]"):
        enc.transform(X * 255)
    assert enc.inverse_transform(np.zeros((0, 2))).shape == (0, 64)

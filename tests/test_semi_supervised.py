"""SemiSupervisedVAEOversampler: unlabelled rows (y == -1) train the one VAE, never return."""

import numpy as np
import pytest
from imblearn.pipeline import Pipeline
from sklearn.linear_model import LogisticRegression

from skvae import SemiSupervisedVAEOversampler, VAEOversampler
from skvae.generation import Decode

FAST = {"max_epochs": 3, "patience": 1, "batch_size": 10}


def _clusters(n_labelled: int = 6, n_unlabelled: int = 60, seed: int = 0):
    """Two classes, far apart in 4 features; most rows of both have no label (-1)."""
    rng = np.random.RandomState(seed)
    centres = np.array([[-3.0, -3.0, 0.0, 0.0], [3.0, 3.0, 0.0, 0.0]])
    n = n_labelled + n_unlabelled
    y_true = np.tile([0, 1], n // 2)
    X = centres[y_true] + 0.5 * rng.randn(n, 4)
    y = y_true.copy()
    y[n_labelled:] = -1
    return X.astype(np.float32), y, y_true


def test_unlabelled_rows_train_the_vae_and_are_not_returned():
    X, y, _ = _clusters()
    sampler = SemiSupervisedVAEOversampler(latent=2, training=FAST, random_state=0)
    X_res, y_res = sampler.fit_resample(X, y)
    labelled = y != -1
    # The labelled rows first, in their order, then one generated row per labelled row.
    np.testing.assert_array_equal(X_res[: labelled.sum()], X[labelled])
    assert -1 not in y_res and len(y_res) == 2 * labelled.sum()
    assert sampler.classes_.tolist() == [0, 1] and sampler.n_unlabeled_ == 60
    # One VAE for both classes, trained on all 66 rows: 85 % of them (56) in batches
    # of 10 make 6 steps an epoch; the 6 labelled rows alone would make 1.
    assert sampler.vaes_[0] is sampler.vaes_[1]
    assert sampler.histories_[0].n_steps == 3 * 6


def test_generated_rows_keep_their_class():
    # The shared VAE has seen both clusters; draws around a class's own codes must
    # land in its cluster, not the other's.
    X, y, _ = _clusters(n_labelled=10, n_unlabelled=200)
    sampler = SemiSupervisedVAEOversampler(
        latent=2, training={"max_epochs": 60}, augment_size=100, random_state=0
    )
    X_res, y_res = sampler.fit_resample(X, y)
    new_X, new_y = X_res[10:], y_res[10:]
    side = np.where(new_X[:, :2].sum(axis=1) > 0, 1, 0)
    assert np.mean(side == new_y) > 0.95


def test_same_seed_same_rows():
    X, y, _ = _clusters()
    runs = [
        SemiSupervisedVAEOversampler(latent=2, training=FAST, random_state=3).fit_resample(X, y)
        for _ in range(2)
    ]
    np.testing.assert_array_equal(runs[0][0], runs[1][0])


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(vae="conditional"), "vae='conditional' needs a label for every row"),
        (dict(generation="decode"), "generation='decode' draws codes from PriorSampler"),
        (dict(generation="sample"), "generation='sample' draws codes from PriorSampler"),
        (
            dict(generation=Decode(latent_sampler="uniform")),
            "draws codes from UniformSampler, which ignores the class",
        ),
    ],
)
def test_generation_that_ignores_the_class_is_refused(params, match):
    X, y, _ = _clusters()
    sampler = SemiSupervisedVAEOversampler(latent=2, training=FAST, **params)
    with pytest.raises(ValueError, match=match):
        sampler.check_settings()
    with pytest.raises(ValueError, match=match):
        sampler.fit_resample(X, y)


def test_class_fitted_latent_sampler_is_accepted():
    X, y, _ = _clusters()
    sampler = SemiSupervisedVAEOversampler(
        latent=2, training=FAST, generation=Decode(latent_sampler="gmm"), random_state=0
    )
    _, y_res = sampler.fit_resample(X, y)
    assert np.bincount(y_res).tolist() == [6, 6]


def test_one_labelled_class_is_refused():
    X, y, _ = _clusters()
    y[y == 1] = -1
    with pytest.raises(ValueError, match=r"at least 2 labelled classes.*got \[0\]"):
        SemiSupervisedVAEOversampler(latent=2, training=FAST).fit_resample(X, y)


def test_minus_one_is_a_class_for_the_plain_oversampler_and_text_labels_are_never_unlabelled():
    X, y, _ = _clusters()
    _, y_res = VAEOversampler(latent=2, training=FAST, random_state=0).fit_resample(X, y)
    assert -1 in y_res  # no surprise for a user whose real class is -1
    text = np.where(y == -1, "-1", y.astype(str))
    sampler = SemiSupervisedVAEOversampler(latent=2, training=FAST, random_state=0)
    _, y_res = sampler.fit_resample(X, text)
    assert sampler.n_unlabeled_ == 0 and "-1" in y_res


def test_fit_counts_only_labelled_rows():
    X, y, _ = _clusters()
    sampler = SemiSupervisedVAEOversampler(latent=2).fit(X, y)
    assert dict(sampler.sampling_strategy_) == {0: 3, 1: 3}


def test_in_a_pipeline_the_classifier_sees_no_unlabelled_row():
    X, y, y_true = _clusters()
    pipe = Pipeline(
        [
            ("vae", SemiSupervisedVAEOversampler(latent=2, training=FAST, random_state=0)),
            ("clf", LogisticRegression()),
        ]
    ).fit(X, y)
    assert pipe["clf"].classes_.tolist() == [0, 1]
    assert np.mean(pipe.predict(X) == y_true) > 0.95

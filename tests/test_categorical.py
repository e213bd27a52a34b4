"""Categorical columns (``categorical_features``): one-hot groups with a categorical likelihood."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from skvae import VAEOversampler
from skvae._categorical import (
    decode,
    encode,
    fit_categories,
    one_hot_groups,
    resolve_categorical_features,
)
from skvae.datasets import load_digits
from skvae.generation import LikelihoodSample
from skvae.nn import MLPVAE, ConditionalMLPVAE
from skvae.nn.batched import batchable
from skvae.nn.fitting import scale_rows


def _mixed_data(n: int = 240, seed: int = 0):
    """Two continuous columns around two categorical ones; column 1's category is the class.

    Column 1 holds 0, 10 or 20 and the class is 1 exactly where it is 20, so a
    model that learned the class's categories makes class-1 rows with 20 only.
    Column 3 holds 1.5 or 7.0 at random (codes need not be whole numbers).
    """
    rng = np.random.RandomState(seed)
    code = rng.randint(0, 3, n)
    X = np.column_stack([rng.randn(n) + code, 10.0 * code, rng.randn(n), rng.choice([1.5, 7.0], n)])
    return X, (code == 2).astype(int)


# --------------------------------------------------------------- the columns
@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (None, []),
        ([3, 1], [1, 3]),
        ([-1], [3]),
        (np.array([False, True, False, True]), [1, 3]),
        ([], []),
    ],
)
def test_categorical_features_resolve_to_sorted_indices(spec, expected):
    assert resolve_categorical_features(spec, 4).tolist() == expected


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ([4], r"outside \[-4, 4\).*\[4\]"),
        ([1, -3], r"repeats a column: \[1, -3\]"),
        (np.array([True, False]), r"one entry per feature \(4\), got shape \(2,\)"),
        ([0.5], r"column indices or a boolean mask, got \[0.5\]"),
        ([[0, 1]], r"column indices or a boolean mask"),
    ],
)
def test_bad_categorical_features_are_named(spec, message):
    with pytest.raises(ValueError, match=message):
        resolve_categorical_features(spec, 4)


def test_one_hot_encoding_round_trips():
    X, _ = _mixed_data()
    columns = np.array([1, 3])
    categories = fit_categories(X, columns)
    assert [c.tolist() for c in categories] == [[0.0, 10.0, 20.0], [1.5, 7.0]]
    encoded = encode(X, columns, categories)
    assert one_hot_groups(4, categories) == ((2, 5), (5, 7))
    np.testing.assert_array_equal(encoded[:, :2], X[:, [0, 2]])
    np.testing.assert_array_equal(encoded[:, 2:5].sum(1), 1.0)
    np.testing.assert_array_equal(decode(encoded, columns, categories, 4), X)
    # Probabilities, not one-hots, decode to the most probable category.
    soft = encoded.copy()
    soft[:, 2:5] = 0.2 + 0.5 * soft[:, 2:5]
    np.testing.assert_array_equal(decode(soft, columns, categories, 4), X)


# ------------------------------------------------------------- the likelihood
def test_mixed_nll_is_gaussian_on_continuous_columns_plus_cross_entropy():
    torch.manual_seed(0)
    vae = MLPVAE(5, latent=2, categorical=[(2, 5)])
    with torch.no_grad():
        vae.log_scale.copy_(torch.tensor([0.3, -0.2, 4.0, 4.0, 4.0]))
    x = torch.randn(6, 5)
    labels = torch.tensor([0, 1, 2, 0, 1, 2])
    x[:, 2:] = F.one_hot(labels, 3).float()
    params = torch.randn(6, 5)
    log_scale = vae.log_scale[:2]
    gaussian = (
        0.5 * ((x[:, :2] - params[:, :2]) * torch.exp(-log_scale)) ** 2
        + log_scale
        + 0.5 * math.log(2 * math.pi)
    ).sum(1)
    expected = gaussian + F.cross_entropy(params[:, 2:], labels, reduction="none")
    torch.testing.assert_close(vae.reconstruction_nll(x, params), expected)
    # The log-scale of a categorical column gets no gradient: it is not modelled.
    vae.reconstruction_nll(x, params).sum().backward()
    assert vae.log_scale.grad[2:].abs().max() == 0
    assert vae.log_scale.grad[:2].abs().min() > 0


def test_mean_is_the_softmax_in_each_group():
    vae = MLPVAE(6, latent=2, categorical=[(1, 3), (3, 6)])
    params = torch.randn(4, 6)
    mean = vae.mean(params)
    torch.testing.assert_close(mean[:, 0], params[:, 0])
    torch.testing.assert_close(mean[:, 1:3], torch.softmax(params[:, 1:3], 1))
    torch.testing.assert_close(mean[:, 3:].sum(1), torch.ones(4))


@pytest.mark.parametrize(
    ("groups", "kwargs", "message"),
    [
        ([(1, 3), (2, 4)], {}, "non-overlapping ranges within the 5 features"),
        ([(3, 6)], {}, "non-overlapping ranges within the 5 features"),
        ([(1, 3)], {"likelihood": "bernoulli"}, "likelihood='bernoulli'"),
    ],
)
def test_bad_groups_are_refused(groups, kwargs, message):
    with pytest.raises(ValueError, match=message):
        MLPVAE(5, latent=2, categorical=groups, **kwargs)


def test_one_hot_columns_are_not_standardised():
    vae = MLPVAE(4, latent=2, categorical=[(2, 4)])
    X = np.column_stack([np.arange(10.0), 5 + np.arange(10.0), np.eye(2)[np.arange(10) % 2]])
    rows, (mean, scale) = scale_rows(X, vae)
    np.testing.assert_array_equal(rows[:, 2:], X[:, 2:])
    np.testing.assert_array_equal(mean[2:], 0.0)
    np.testing.assert_allclose(rows[:, :2].mean(0), 0.0, atol=1e-6)


def test_batching_needs_the_same_groups():
    a = MLPVAE(5, latent=2, categorical=[(2, 5)])
    b = MLPVAE(5, latent=2, categorical=[(3, 5)])
    assert "categorical groups" in batchable([a, b])


def test_likelihood_sample_draws_categories_with_their_probabilities():
    vae = MLPVAE(3, latent=2, categorical=[(1, 3)]).eval()
    with torch.no_grad():  # a decoder that ignores the code: logits log(0.2), log(0.8)
        last = vae.decoder[-1]
        last.weight.zero_()
        last.bias.copy_(torch.tensor([0.0, math.log(0.2), math.log(0.8)]))
    strategy = LikelihoodSample().fit(vae, np.zeros((4, 3), np.float32), np.zeros((4, 2)))
    rows = strategy.generate(20_000, np.random.RandomState(0))
    np.testing.assert_array_equal(rows[:, 1:].sum(1), 1.0)  # one-hots
    # 20,000 draws: the share's standard error is 0.003, the tolerance 0.015.
    assert abs(rows[:, 2].mean() - 0.8) < 0.015


# ---------------------------------------------------------------- the sampler
@pytest.mark.parametrize(
    ("vae", "generation"), [("mlp", "decode"), ("mlp", "sample"), ("conditional", "decode")]
)
def test_generated_rows_hold_seen_categories_learned_per_class(vae, generation):
    X, y = _mixed_data()
    sampler = VAEOversampler(
        latent=2,
        vae=vae,
        generation=generation,
        categorical_features=[1, -1],
        training={"max_epochs": 60},
        random_state=0,
    )
    X_res, y_res = sampler.fit_resample(X, y)
    new, new_y = X_res[len(X) :], y_res[len(X) :]
    assert sampler.categorical_features_.tolist() == [1, 3]
    assert [c.tolist() for c in sampler.categories_] == [[0.0, 10.0, 20.0], [1.5, 7.0]]
    assert set(np.unique(new[:, 1])) <= {0.0, 10.0, 20.0}
    assert set(np.unique(new[:, 3])) <= {1.5, 7.0}
    # Continuous columns are not snapped to the seen values.
    assert len(np.unique(new[:, 0])) > 0.9 * len(new)
    # Class 1 is exactly the rows with category 20 in column 1: its new rows carry it,
    # and class 0's new rows (categories 0 and 10) almost never do (chance: 1 in 3).
    # Drawing from the probabilities of a VAE trained 60 epochs strays more often
    # than taking the most probable category.
    tolerance = 0.05 if generation == "decode" else 0.2
    assert (new[new_y == 1, 1] == 20.0).mean() > 1 - tolerance
    assert (new[new_y == 0, 1] == 20.0).mean() < tolerance


def test_same_random_state_same_rows():
    X, y = _mixed_data()
    make = lambda: VAEOversampler(  # noqa: E731
        latent=2, categorical_features=[1, 3], training={"max_epochs": 5}, random_state=3
    )
    np.testing.assert_array_equal(make().fit_resample(X, y)[0], make().fit_resample(X, y)[0])


def test_categorical_features_refuse_images():
    X, y = load_digits(return_X_y=True)
    rows = np.concatenate([np.flatnonzero(y == c)[:6] for c in range(2)])
    sampler = VAEOversampler(latent=2, categorical_features=[0], training={"max_epochs": 1})
    with pytest.raises(ValueError, match=r"tabular rows.*image_shape_=\(1, 8, 8\)"):
        sampler.fit_resample(X[rows], y[rows])


def test_conditional_mlp_takes_groups_over_the_features():
    cvae = ConditionalMLPVAE(4, n_classes=3, latent=2, categorical=[(2, 4)])
    assert cvae.categorical == ((2, 4),)
    assert cvae.for_class(1).categorical == ((2, 4),)


def test_memory_keys_the_categorical_columns(tmp_path, capsys):
    X, y = _mixed_data()
    settings = dict(latent=2, training={"max_epochs": 3}, random_state=0, memory=str(tmp_path))
    VAEOversampler(**settings, verbose=1).fit_resample(X, y)
    capsys.readouterr()
    with_groups = VAEOversampler(**settings, categorical_features=[1, 3], verbose=1)
    first, _ = with_groups.fit_resample(X, y)
    assert "loaded from memory" not in capsys.readouterr().out
    again, _ = with_groups.fit_resample(X, y)
    assert "loaded from memory" in capsys.readouterr().out
    np.testing.assert_array_equal(first, again)

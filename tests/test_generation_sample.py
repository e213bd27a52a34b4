"""VAEOversampler(generation="sample"): draws from the Gaussian likelihood, not its mean."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_wine

from skvae import VAEOversampler
from skvae.datasets import load_digits


@pytest.fixture(scope="module")
def fitted_tabular():
    """Wine samplers fitted alike but for ``generation``: one seed, so the same VAEs."""
    X, y = load_wine(return_X_y=True)
    fitted = {}
    for generation in ("decode", "sample"):
        fitted[generation] = VAEOversampler(
            latent=2, training={"max_epochs": 30}, generation=generation, random_state=0
        )
        fitted[generation].fit_resample(X, y)
    return fitted


def test_sample_is_the_decoded_mean_plus_noise_of_the_learned_scale(fitted_tabular):
    sampler = fitted_tabular["sample"]
    label = sampler.classes_[0]
    means = fitted_tabular["decode"]
    for p, q in zip(means.vaes_[label].parameters(), sampler.vaes_[label].parameters()):
        assert torch.equal(p, q)
    mean_rows = means.sample(4000, label, random_state=3)
    drawn = sampler.sample(4000, label, random_state=3)
    # The same codes (the noise is drawn after them): the difference is the noise alone,
    # in the data's units: the VAE's learned scale times the class's standardising scale.
    vae = sampler.vaes_[label]
    scale = torch.exp(vae.log_scale.detach().clamp(-5.0, 5.0)).numpy().reshape(-1)
    scale = scale * sampler.scalers_[label][1]
    z = (drawn - mean_rows) / scale
    # 4,000 standard normal draws per feature: mean within 0.1, std within 10% (both
    # more than 5 standard errors); a missing or mis-scaled noise fails by far more.
    assert np.abs(z.mean(axis=0)).max() < 0.1
    np.testing.assert_allclose(z.std(axis=0), 1.0, atol=0.1)
    assert drawn.std(axis=0).mean() > mean_rows.std(axis=0).mean()


def test_sample_is_reproducible(fitted_tabular):
    sampler = fitted_tabular["sample"]
    a = sampler.sample(50, sampler.classes_[1], random_state=7)
    b = sampler.sample(50, sampler.classes_[1], random_state=7)
    np.testing.assert_array_equal(a, b)


def test_sample_refuses_images():
    X, y = load_digits(return_X_y=True)
    rows = np.concatenate([np.flatnonzero(y == c)[:6] for c in range(3)])
    sampler = VAEOversampler(
        latent=2, training={"max_epochs": 2}, generation="sample", random_state=0
    )
    with pytest.raises(ValueError, match="generation='sample'.*'bernoulli'"):
        sampler.fit_resample(X[rows] / 16.0, y[rows])


def test_sample_works_with_the_conditional_vae():
    X, y = load_wine(return_X_y=True)
    kw = dict(latent=2, training={"max_epochs": 5}, vae="conditional", random_state=0)
    mean_rows, _ = VAEOversampler(**kw).fit_resample(X, y)
    drawn, _ = VAEOversampler(**kw, generation="sample").fit_resample(X, y)
    n = len(X)
    # The same training and codes; only the noise of the shared scale tells them apart.
    np.testing.assert_array_equal(mean_rows[:n], drawn[:n])
    assert np.abs(drawn[n:] - mean_rows[n:]).mean() > 1e-3

"""skvae.generation: the generation strategies and the classifier filter, on their own."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression

from skvae import VAEOversampler
from skvae.generation import (
    ClassifierFilter,
    Decode,
    LikelihoodSample,
    Posterior,
    Residual,
    make_generation,
)
from skvae.latent import GaussianMixtureSampler
from skvae.nn import MLPVAE, VAE, ConvVAE
from skvae.nn.seeds import seeded_torch


@pytest.fixture
def conv_vae():
    with seeded_torch(0):
        return ConvVAE((1, 8, 8), latent=2).eval()


@pytest.fixture
def digit_rows(small_digits):
    """The 12 rows of digit 3, in [0, 1], and their codes under no particular VAE."""
    X, y = small_digits
    return X[y == 3].astype(np.float32), np.random.RandomState(0).normal(size=(12, 2))


# ------------------------------------------------------------------ Decode
def test_decode_with_temperature_below_one_pushes_pixels_toward_0_and_1(conv_vae, digit_rows):
    rows, codes = digit_rows
    plain = Decode().fit(conv_vae, rows, codes).generate(200, np.random.RandomState(1))
    sharp = Decode(temperature=0.5).fit(conv_vae, rows, codes)
    sharp = sharp.generate(200, np.random.RandomState(1))
    assert plain.shape == sharp.shape == (200, 64) and sharp.dtype == np.float32
    # Same codes, logits divided by the temperature: the defining property.
    logits = torch.logit(torch.as_tensor(plain).double())
    np.testing.assert_allclose(sharp, torch.sigmoid(logits / 0.5).numpy(), atol=1e-5)
    assert np.all(np.abs(sharp - 0.5) >= np.abs(plain - 0.5) - 1e-6)
    assert np.abs(sharp - 0.5).mean() > np.abs(plain - 0.5).mean()


def test_decode_draws_codes_from_its_latent_sampler_fitted_on_the_codes(conv_vae, digit_rows):
    rows, codes = digit_rows
    decode = Decode(latent_sampler="gmm").fit(conv_vae, rows, codes)
    assert isinstance(decode.latent_sampler_, GaussianMixtureSampler)
    assert decode.vae_ is conv_vae and decode.latent_sampler == "gmm"  # the spec is kept
    z = decode.latent_sampler_.sample(5, np.random.RandomState(4))
    with torch.inference_mode():
        expected = conv_vae.generate(torch.as_tensor(z, dtype=torch.float32)).reshape(5, -1)
    np.testing.assert_allclose(decode.generate(5, np.random.RandomState(4)), expected.numpy())
    # The same generator state gives the same rows.
    np.testing.assert_array_equal(
        decode.generate(7, np.random.RandomState(2)), decode.generate(7, np.random.RandomState(2))
    )


def test_decode_refuses_what_it_cannot_do(conv_vae):
    table_vae = MLPVAE(5, 2)
    with pytest.raises(ValueError, match="temperature=0.5 needs a VAE with the 'bernoulli'"):
        Decode(temperature=0.5).check(table_vae)
    with pytest.raises(ValueError, match="temperature=0.5 needs a VAE"):
        Decode(temperature=0.5).fit(table_vae, np.zeros((3, 5)), np.zeros((3, 2)))
    Decode(temperature=1.0).check(table_vae)
    for bad in (0.0, -1.0):
        with pytest.raises(ValueError, match="temperature must be > 0"):
            Decode(temperature=bad).check(conv_vae)
    with pytest.raises(ValueError, match="latent_sampler must be one of"):
        Decode(latent_sampler="sobol").check(conv_vae)


# -------------------------------------------------------- LikelihoodSample
def test_likelihood_sample_adds_noise_of_the_learned_scale():
    with seeded_torch(0):
        vae = MLPVAE(4, 2).eval()
    scale = np.array([0.1, 0.5, 1.0, 3.0], dtype=np.float32)
    with torch.no_grad():
        vae.log_scale.copy_(torch.as_tensor(np.log(scale)))
    rows, codes = np.zeros((6, 4), np.float32), np.zeros((6, 2))
    means = Decode().fit(vae, rows, codes).generate(4000, np.random.RandomState(3))
    drawn = LikelihoodSample().fit(vae, rows, codes).generate(4000, np.random.RandomState(3))
    # The same codes (the noise is drawn after them): the difference is noise of
    # scale exp(log_scale). 4,000 draws per feature: mean within 0.1 and std
    # within 10% of 1 after dividing by the scale (more than 5 standard errors).
    z = (drawn - means) / scale
    assert np.abs(z.mean(axis=0)).max() < 0.1
    np.testing.assert_allclose(z.std(axis=0), 1.0, atol=0.1)


def test_likelihood_sample_refuses_a_bernoulli_vae(conv_vae):
    with pytest.raises(ValueError, match="generation='sample'.*'bernoulli'"):
        LikelihoodSample().check(conv_vae)
    assert "temperature" not in LikelihoodSample().get_params()


# ---------------------------------------------------------------- Residual
def test_residual_rows_stay_in_the_unit_interval_and_near_their_anchors(conv_vae, digit_rows):
    rows, codes = digit_rows
    residual = Residual().fit(conv_vae, rows, codes)
    np.testing.assert_array_equal(residual.anchors_, rows)
    new = residual.generate(300, np.random.RandomState(0))
    assert new.shape == (300, 64) and new.min() >= 0.0 and new.max() <= 1.0
    # Each new row lies nearer its real row than the real rows lie to each other.
    to_anchor = np.sqrt(((new[:, None] - rows[None]) ** 2).sum(-1)).min(1)
    between = np.sqrt(((rows[:, None] - rows[None]) ** 2).sum(-1))
    assert np.median(to_anchor) < np.median(between[np.triu_indices(len(rows), 1)])


def test_residual_of_a_decoder_that_ignores_the_code_copies_real_rows(digit_rows):
    rows, codes = digit_rows
    encoder = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 8))
    decoder = torch.nn.Sequential(torch.nn.Linear(2, 64), torch.nn.Unflatten(1, (1, 8, 8)))
    with torch.no_grad():
        decoder[0].weight.zero_()  # g(z) - g(mu) = 0 whatever the draw
    vae = VAE(encoder, decoder, latent=2, encoder_dim=8, input_shape=(1, 8, 8))
    new = Residual().fit(vae, rows, codes).generate(20, np.random.RandomState(0))
    anchors = rows[np.random.RandomState(0).randint(len(rows), size=20)]
    np.testing.assert_array_equal(new, anchors)


def test_residual_checks_its_temperature():
    with pytest.raises(ValueError, match="temperature=0.5 needs a VAE with the 'bernoulli'"):
        Residual(temperature=0.5).check(MLPVAE(5, 2))
    with pytest.raises(ValueError, match="temperature must be > 0"):
        Residual(temperature=0).check(MLPVAE(5, 2))


# --------------------------------------------------------------- Posterior
def test_posterior_decodes_draws_around_the_codes_of_real_rows(conv_vae, digit_rows):
    rows, codes = digit_rows
    # A posterior narrowed to nothing decodes each drawn real row's posterior mean.
    narrow = Posterior(widen=1e-8).fit(conv_vae, rows, codes)
    new = narrow.generate(30, np.random.RandomState(0))
    anchors = rows[np.random.RandomState(0).randint(len(rows), size=30)]
    with torch.no_grad():
        mu, _ = conv_vae.encode(torch.as_tensor(anchors).reshape(30, 1, 8, 8))
        expected = conv_vae.generate(mu).reshape(30, -1).numpy()
    np.testing.assert_allclose(new, expected, atol=1e-5)
    # Widening moves the decoded rows further from those of the posterior means.
    spread = []
    for widen in (1.0, 4.0):
        drawn = Posterior(widen=widen).fit(conv_vae, rows, codes)
        spread.append(np.abs(drawn.generate(30, np.random.RandomState(0)) - expected).mean())
    assert 0 < spread[0] < spread[1]


def test_posterior_is_reproducible_and_checks_its_settings(conv_vae, digit_rows):
    rows, codes = digit_rows
    strategy = Posterior(widen=2.0).fit(conv_vae, rows, codes)
    a = strategy.generate(10, np.random.RandomState(5))
    np.testing.assert_array_equal(a, strategy.generate(10, np.random.RandomState(5)))
    with pytest.raises(ValueError, match="widen must be > 0, got -1"):
        Posterior(widen=-1).check()
    with pytest.raises(ValueError, match="temperature=0.5 needs a VAE with the 'bernoulli'"):
        Posterior(temperature=0.5).check(MLPVAE(5, 2))


def test_oversampler_generates_posterior_draws(small_digits):
    X, y = small_digits
    sampler = VAEOversampler(
        latent=2, training={"max_epochs": 3}, generation="posterior", random_state=0
    )
    X_res, _ = sampler.fit_resample(X, y)
    assert all(type(g) is Posterior for g in sampler.generation_.values())
    new = X_res[len(X) :]
    assert len(new) > 0 and new.min() >= 0.0 and new.max() <= 1.0


# --------------------------------------------------------- make_generation
def test_make_generation_names_and_instances():
    named = (
        ("decode", Decode),
        ("sample", LikelihoodSample),
        ("posterior", Posterior),
        ("residual", Residual),
    )
    for name, kind in named:
        made = make_generation(name)
        assert type(made) is kind and made is not make_generation(name)
    spec = Decode(latent_sampler="gmm", temperature=0.5)
    made = make_generation(spec)
    assert made is not spec and made.get_params() == spec.get_params()


def test_make_generation_refuses_unknown_names_and_objects():
    with pytest.raises(
        ValueError,
        match=r"generation must be one of \['decode', 'posterior', 'residual', 'sample'\] or a "
        r"strategy object, got 'copy'",
    ):
        make_generation("copy")
    with pytest.raises(
        TypeError, match=r"an object with check\(vae=None\).*got LogisticRegression"
    ):
        make_generation(LogisticRegression())


def test_a_new_strategy_is_one_class_with_check_fit_and_generate(small_digits):
    X, y = small_digits

    class ClassMean:  # the protocol only: no get_params, so it is deep-copied
        def check(self, vae=None):
            pass

        def fit(self, vae, rows, codes):
            self.mean_ = rows.mean(axis=0)
            return self

        def generate(self, n, rng):
            return np.tile(self.mean_, (n, 1))

    spec = ClassMean()
    sampler = VAEOversampler(latent=2, training={"max_epochs": 2}, generation=spec, random_state=0)
    X_res, y_res = sampler.fit_resample(X, y)
    assert not hasattr(spec, "mean_")  # the parameter is left untouched
    for label in range(10):
        new = X_res[len(X) :][y_res[len(X) :] == label]
        mean = X[y == label].mean(0)
        np.testing.assert_allclose(new, np.tile(mean, (12, 1)), rtol=1e-5, atol=1e-6)


# -------------------------------------------------------- ClassifierFilter
@pytest.fixture
def blobs():
    """Two well-separated classes in 2-D and a draw of rows from either, half each."""
    rng = np.random.RandomState(0)
    X = np.concatenate([rng.normal(-3, 1, (50, 2)), rng.normal(3, 1, (50, 2))])
    y = np.repeat([0, 1], 50)

    def draw(k, centres=(-3.0, 3.0)):
        return rng.normal(rng.choice(centres, size=(k, 1)), 1, (k, 2)).astype(np.float32)

    return X, y, draw


def test_filter_keeps_only_rows_of_the_intended_class(blobs):
    X, y, draw = blobs
    judge = ClassifierFilter(threshold=0.9).fit(X, y)
    assert isinstance(judge.estimator_, LogisticRegression)
    rows, rate = judge.select(draw, 40, 1)
    assert rows.shape == (40, 2)
    assert (judge.estimator_.predict_proba(rows)[:, 1] >= 0.9).all()
    assert 0.3 < rate < 0.7  # about half of the draws came from class 1
    rows, rate = judge.select(draw, 0, 0)
    assert rows.shape == (0, 2)


def test_filter_warns_and_fills_with_the_most_probable_rejected_rows(blobs):
    X, y, _ = blobs
    drawn = []

    def only_class_0(k):
        batch = np.random.RandomState(len(drawn)).normal(-3, 1, (k, 2))
        drawn.append(batch)
        return batch

    judge = ClassifierFilter(threshold=0.5, max_rounds=2).fit(X, y)
    with pytest.warns(UserWarning, match=r"accepted 0 of the 5 rows .* 2 rounds.*Lower threshold"):
        rows, rate = judge.select(only_class_0, 5, 1)
    assert len(drawn) == 2 and rate == 0.0
    every = np.concatenate(drawn)
    proba = judge.estimator_.predict_proba(every)[:, 1]
    best = every[np.argsort(-proba, kind="stable")[:5]]
    np.testing.assert_array_equal(rows, best)


def test_filter_fits_a_clone_of_its_estimator(blobs):
    X, y, _ = blobs
    estimator = LogisticRegression(C=5.0)
    judge = ClassifierFilter(estimator=estimator).fit(X, y)
    assert judge.estimator_ is not estimator and judge.estimator_.C == 5.0
    assert not hasattr(estimator, "classes_")
    default = ClassifierFilter().fit(X, y).estimator_
    assert default.get_params()["C"] == 0.1


@pytest.mark.parametrize(
    "params, error, match",
    [
        (dict(threshold=1.5), ValueError, r"threshold must lie in \[0, 1\], got 1.5"),
        (dict(threshold=-0.1), ValueError, r"threshold must lie in \[0, 1\]"),
        (dict(max_rounds=0), ValueError, "max_rounds must be >= 1, got 0"),
        (dict(estimator=object()), TypeError, "estimator needs predict_proba"),
    ],
)
def test_filter_check_refuses_settings_no_fit_could_run_with(blobs, params, error, match):
    X, y, _ = blobs
    judge = ClassifierFilter(**params)
    with pytest.raises(error, match=match):
        judge.check()
    with pytest.raises(error, match=match):
        judge.fit(X, y)

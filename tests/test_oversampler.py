"""Behaviour of VAEOversampler: contract, errors, determinism, isolation."""

from __future__ import annotations

import pickle
import warnings
from collections import Counter

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.exceptions import NotFittedError

from skvae import VAEOversampler
from skvae.generation import ClassifierFilter, Decode, Residual
from skvae.latent import GaussianMixtureSampler, PriorSampler, UniformSampler
from skvae.nn import MLPVAE, VAE

FAST = dict(latent=2, training={"max_epochs": 2, "patience": 1}, random_state=0)


def test_default_augments_balanced_data(small_digits):
    X, y = small_digits
    X_res, y_res = VAEOversampler(**FAST).fit_resample(X, y)
    # augment_size=1.0 doubles a balanced set: never a silent no-op.
    assert Counter(y_res) == {c: 24 for c in range(10)}
    np.testing.assert_array_equal(X_res[: len(X)], X)
    np.testing.assert_array_equal(y_res[: len(y)], y)
    # generated rows come class by class in sorted order
    np.testing.assert_array_equal(y_res[len(y) :], np.repeat(np.arange(10), 12))
    assert X_res.dtype == np.float32


def test_augment_size_int_and_float_and_imbalanced(small_digits):
    X, y = small_digits
    keep = (y != 3) | (np.arange(len(y)) % 12 < 4)  # class 3 keeps 4 rows
    X, y = X[keep], y[keep]
    s = VAEOversampler(augment_size=5, **FAST).fit(X, y)
    assert s.sampling_strategy_[3] == 12 + 5 - 4 and s.sampling_strategy_[0] == 5
    s = VAEOversampler(augment_size=0.5, **FAST).fit(X, y)
    assert s.sampling_strategy_[3] == 12 + 6 - 4
    _, y_res = VAEOversampler(augment_size=2, **FAST).fit_resample(X, y)
    assert set(Counter(y_res).values()) == {14}


def test_imblearn_strategies_keep_their_semantics(small_digits):
    X, y = small_digits
    sampler = VAEOversampler(sampling_strategy={0: 20, 1: 15}, **FAST)
    _, y_res = sampler.fit_resample(X, y)
    counts = Counter(y_res)
    assert counts[0] == 20 and counts[1] == 15 and counts[2] == 12
    # imbalanced-learn's "auto" balances, hence adds nothing to balanced data
    _, y_auto = VAEOversampler(sampling_strategy="auto", **FAST).fit_resample(X, y)
    assert len(y_auto) == len(y)


def test_only_classes_with_rows_to_generate_get_a_vae(small_digits):
    X, y = small_digits
    keep = (y >= 3) | (np.arange(len(y)) % 12 < 6)  # classes 0-2 keep 6 rows of 12
    X, y = X[keep], y[keep]
    auto = VAEOversampler(sampling_strategy="auto", **FAST)
    _, y_res = auto.fit_resample(X, y)
    assert set(Counter(y_res).values()) == {12}
    assert sorted(auto.vaes_) == [0, 1, 2] == sorted(auto.histories_)
    assert sorted(auto.generation_) == [0, 1, 2]
    assert auto.classes_.tolist() == list(range(10))
    with pytest.raises(ValueError, match="No VAE was trained for class 5"):
        auto.sample(3, 5)
    with pytest.raises(ValueError, match="Unknown class 11"):
        auto.sample(3, 11)
    # A class's VAE does not depend on which other classes get one: the
    # per-class loop runs the same computation for a class either way.
    every = VAEOversampler(**FAST).fit(X, y)
    every.fit_resample(X, y)
    assert sorted(every.vaes_) == list(range(10))
    for label in (0, 1, 2):
        for p, q in zip(auto.vaes_[label].parameters(), every.vaes_[label].parameters()):
            assert torch.equal(p, q)
    # Balanced data under "auto": nothing to generate, so no VAE is trained.
    none = VAEOversampler(sampling_strategy="auto", **FAST)
    X_none, _ = none.fit_resample(*small_digits)
    assert none.vaes_ == {} and len(X_none) == len(small_digits[0])


def test_same_seed_same_output_and_global_rng_untouched(small_digits):
    X, y = small_digits
    np_state, torch_state = np.random.get_state()[1].copy(), torch.get_rng_state().clone()
    a, _ = VAEOversampler(**FAST).fit_resample(X, y)
    b, _ = VAEOversampler(**FAST).fit_resample(X, y)
    c, _ = VAEOversampler(**{**FAST, "random_state": 1}).fit_resample(X, y)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a[len(X) :], c[len(X) :])
    np.testing.assert_array_equal(np.random.get_state()[1], np_state)
    assert torch.equal(torch.get_rng_state(), torch_state)
    VAEOversampler(**{**FAST, "random_state": None}).fit_resample(X, y)
    np.testing.assert_array_equal(np.random.get_state()[1], np_state)


def test_each_vae_sees_only_its_class(small_digits):
    X, y = small_digits
    s1 = VAEOversampler(**FAST).fit(X, y)
    s1.fit_resample(X, y)
    X2 = X.copy()
    X2[y == 1] = 1.0 - X2[y == 1]  # change class 1 only
    s2 = VAEOversampler(**FAST)
    s2.fit_resample(X2, y)
    for label in range(10):
        same = all(
            torch.equal(p, q)
            for p, q in zip(s1.vaes_[label].parameters(), s2.vaes_[label].parameters())
        )
        assert same == (label != 1), label


def test_containers_preserved(small_digits):
    X, y = small_digits
    cols = [f"px{i}" for i in range(X.shape[1])]
    X_res, y_res = VAEOversampler(**FAST).fit_resample(
        pd.DataFrame(X, columns=cols), pd.Series(y, name="digit")
    )
    assert isinstance(X_res, pd.DataFrame) and list(X_res.columns) == cols
    assert isinstance(y_res, pd.Series) and y_res.name == "digit"
    X_list, y_list = VAEOversampler(**FAST).fit_resample(X.tolist(), y.tolist())
    assert isinstance(X_list, list) and isinstance(y_list, list)
    X64, _ = VAEOversampler(**FAST).fit_resample(X.astype(np.float64), y)
    assert X64.dtype == np.float64


def test_string_labels_and_sample_method(small_digits):
    X, y = small_digits
    labels = np.array(
        ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    )
    s = VAEOversampler(**FAST)
    _, y_res = s.fit_resample(X, labels[y])
    assert y_res.dtype == labels.dtype and set(y_res) == set(labels)
    out = s.sample(7, "three", random_state=0)
    assert out.shape == (7, 64) and np.isfinite(out).all()
    np.testing.assert_array_equal(out, s.sample(7, "three", random_state=0))
    assert out.min() >= 0 and out.max() <= 1  # sigmoid means of the bernoulli decoder
    with pytest.raises(ValueError, match="Unknown class"):
        s.sample(3, "eleven")


def test_image_shape_auto_explicit_and_tabular(small_digits):
    X, y = small_digits
    assert VAEOversampler(**FAST).fit_resample(X, y) and True
    s = VAEOversampler(**FAST)
    s.fit_resample(X, y)
    assert s.image_shape_ == (1, 8, 8) and type(s.vaes_[0]).__name__ == "ConvVAE"
    s = VAEOversampler(image_shape=(8, 8), **FAST)
    s.fit_resample(X, y)
    assert s.image_shape_ == (1, 8, 8)
    s = VAEOversampler(image_shape=None, **FAST)
    s.fit_resample(X, y)
    assert s.image_shape_ is None and isinstance(s.vaes_[0], MLPVAE)


@pytest.mark.parametrize("n_features", [16, 36])
def test_image_shape_auto_keeps_small_scaled_tables_tabular(n_features):
    rng = np.random.RandomState(0)
    X, y = rng.rand(40, n_features), np.repeat([0, 1], 20)  # min-max scaled features
    s = VAEOversampler(training={"max_epochs": 2}, random_state=0)
    s.fit_resample(X, y)
    assert s.image_shape_ is None and isinstance(s.vaes_[0], MLPVAE)
    side = int(np.sqrt(n_features))
    forced = VAEOversampler(image_shape=(1, side, side), training={"max_epochs": 2}, random_state=0)
    forced.fit_resample(X, y)
    assert forced.image_shape_ == (1, side, side)


def test_tabular_samples_return_to_original_scale():
    rng = np.random.RandomState(0)
    X = np.concatenate([rng.normal(1000, 5, (60, 3)), rng.normal(-50, 1, (60, 3))])
    y = np.repeat([0, 1], 60)
    s = VAEOversampler(latent=2, training={"max_epochs": 30}, random_state=0)
    X_res, y_res = s.fit_resample(X, y)
    gen = X_res[len(X) :]
    assert abs(gen[y_res[len(X) :] == 0].mean() - 1000) < 10
    assert abs(gen[y_res[len(X) :] == 1].mean() + 50) < 3


def test_custom_vae_factory(small_digits):
    X, y = small_digits
    calls = []

    def tiny(input_shape, latent):
        calls.append((input_shape, latent))
        n = int(np.prod(input_shape))
        encoder = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(n, 16), torch.nn.ReLU())
        decoder = torch.nn.Sequential(
            torch.nn.Linear(latent, n), torch.nn.Unflatten(1, input_shape)
        )
        return VAE(encoder, decoder, latent=latent, encoder_dim=16, input_shape=input_shape)

    sampler = VAEOversampler(vae=tiny, **FAST)
    X_res, _ = sampler.fit_resample(X, y)
    # One network per class (and an untrained probe for the generation's check).
    assert set(calls) == {((1, 8, 8), 2)} and len(calls) >= 10 and X_res.shape == (240, 64)
    assert all(vae.encoder[1].out_features == 16 for vae in sampler.vaes_.values())
    with pytest.raises(TypeError, match="skvae.nn.VAE"):
        VAEOversampler(vae=lambda shape, latent: torch.nn.Linear(2, 2), **FAST).fit_resample(X, y)


@pytest.mark.parametrize("n_per_class", [1, 2, 3, 4, 5, 6])
def test_tiny_classes_train(small_digits, n_per_class):
    X, y = small_digits
    rows = np.concatenate([np.flatnonzero(y == c)[:n_per_class] for c in range(3)])
    s = VAEOversampler(latent=2, training={"max_epochs": 3, "min_steps": 5}, random_state=0)
    X_res, y_res = s.fit_resample(X[rows], y[rows])
    assert np.isfinite(X_res).all() and len(y_res) == 6 * n_per_class
    n_valid = int(round(0.15 * n_per_class))
    for result in s.histories_.values():
        assert result.n_steps >= 5  # the step budget holds for 1-image classes too
        assert (result.history[0]["valid_loss"] is None) == (n_valid in (0, n_per_class))


def test_latent_samplers(small_digits):
    X, y = small_digits
    s = VAEOversampler(generation=Decode(latent_sampler=UniformSampler(0.25)), **FAST)
    s.fit_resample(X, y)
    z = s.generation_[0].latent_sampler_.sample(500, np.random.RandomState(0))
    assert np.abs(z).max() <= 0.25 and np.abs(z).max() > 0.2
    s = VAEOversampler(generation=Decode(latent_sampler="gmm"), **FAST)
    s.fit_resample(X, y)
    gmm = s.generation_[4].latent_sampler_
    with torch.inference_mode():
        codes, _ = s.vaes_[4].encode(torch.as_tensor(X[y == 4]).reshape(-1, 1, 8, 8))
    np.testing.assert_allclose(
        np.average(gmm.means_, axis=0, weights=gmm.weights_),
        codes.numpy().mean(0),
        atol=1e-3,
    )
    truncated = VAEOversampler(generation=Decode(latent_sampler=PriorSampler(0.5)), **FAST)
    assert isinstance(truncated.fit_resample(X, y), tuple)
    z = PriorSampler(0.5).fit(np.zeros((2, 3))).sample(4000, np.random.RandomState(0))
    assert abs(z.std() - 0.5) < 0.02
    assert isinstance(GaussianMixtureSampler().fit(np.ones((1, 2))), GaussianMixtureSampler)


def test_decode_temperature_sharpens_generated_images(small_digits):
    X, y = small_digits
    s = VAEOversampler(**FAST)
    s.fit_resample(X, y)
    plain = s.sample(50, 3, random_state=1)
    logits = torch.logit(torch.as_tensor(plain).double().clamp(1e-7, 1 - 1e-7))
    # The same seed trains the same VAEs, and sample's random_state draws the same codes.
    cooled = VAEOversampler(generation=Decode(temperature=0.25), **FAST)
    cooled.fit_resample(X, y)
    sharp = cooled.sample(50, 3, random_state=1)
    # Same codes, logits scaled by 1 / 0.25: the defining property.
    np.testing.assert_allclose(sharp, torch.sigmoid(logits / 0.25).numpy(), atol=1e-4)
    # Every pixel moves away from 0.5; pixels on the 0.5 boundary stay put.
    assert np.all(np.abs(sharp - 0.5) >= np.abs(plain - 0.5) - 1e-6)
    assert np.abs(sharp - 0.5).mean() > np.abs(plain - 0.5).mean() + 0.05
    # fit_resample uses it too, and the same seed gives the same rows.
    a = VAEOversampler(generation=Decode(temperature=0.5), **FAST).fit_resample(X, y)[0]
    b = VAEOversampler(generation=Decode(temperature=0.5), **FAST).fit_resample(X, y)[0]
    c = VAEOversampler(**FAST).fit_resample(X, y)[0]
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a[: len(X)], c[: len(X)])
    assert not np.allclose(a[len(X) :], c[len(X) :])


@pytest.mark.parametrize("strategy", [Decode, Residual])
def test_temperature_errors(strategy, count_vae_training):
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(40, 5)), np.repeat([0, 1], 20)
    with pytest.raises(ValueError, match="temperature=0.5 needs a VAE with the 'bernoulli'"):
        VAEOversampler(generation=strategy(temperature=0.5), **FAST).fit_resample(X, y)
    with pytest.raises(ValueError, match="temperature must be > 0"):
        VAEOversampler(generation=strategy(temperature=0.0), **FAST).fit_resample(X, y)
    assert not count_vae_training  # refused before any training
    vae = MLPVAE(5, 2)
    with pytest.raises(ValueError, match="needs the 'bernoulli' likelihood"):
        vae.generate(torch.zeros(2, 2), temperature=0.5)
    with pytest.raises(ValueError, match="temperature must be > 0"):
        vae.generate(torch.zeros(2, 2), temperature=0.0)


def test_residual_generation_is_a_real_row_plus_the_decoders_change(small_digits):
    X, y = small_digits
    s = VAEOversampler(generation="residual", **FAST)
    X_res, y_res = s.fit_resample(X, y)
    new, new_y = X_res[len(X) :], y_res[len(X) :]
    assert new.shape == (120, 64) and new.min() >= 0.0 and new.max() <= 1.0
    np.testing.assert_array_equal(s.generation_[3].anchors_, X[y == 3])
    # The defining formula, replayed with the same draws.
    vae, rows = s.vaes_[3], s.generation_[3].anchors_
    rng = np.random.RandomState(5)
    x = torch.as_tensor(rows[rng.randint(len(rows), size=20)])
    eps = torch.as_tensor(rng.standard_normal((20, 2)), dtype=torch.float32)
    with torch.inference_mode():
        mu, logvar = vae.encode(x.reshape(20, 1, 8, 8))
        change = vae.generate(mu + eps * torch.exp(0.5 * logvar)) - vae.generate(mu)
    expected = (x + change.reshape(20, -1)).clamp(0, 1).numpy()
    np.testing.assert_allclose(
        s.generation_[3].generate(20, np.random.RandomState(5)), expected, atol=1e-6
    )
    # Each new row lies nearer a real row of its own class than of any other.
    d = ((new[:, None, :] - X[None, :, :]) ** 2).sum(-1)
    assert np.mean(y[d.argmin(1)] == new_y) > 0.95
    # ... yet is not a copy of it.
    assert np.mean(d.min(1) > 1e-6) > 0.5
    # Same seed, same rows.
    again = VAEOversampler(generation="residual", **FAST).fit_resample(X, y)[0]
    np.testing.assert_array_equal(again, X_res)


def test_residual_generation_tabular_and_errors():
    rng = np.random.RandomState(0)
    X = np.concatenate([rng.normal(100, 5, (30, 4)), rng.normal(-50, 1, (30, 4))])
    y = np.repeat([0, 1], 30)
    s = VAEOversampler(generation="residual", **FAST)
    X_res, y_res = s.fit_resample(X, y)
    new, new_y = X_res[len(X) :], y_res[len(X) :]
    # Back in the data's own scale, each class around its own rows.
    assert abs(new[new_y == 0].mean() - 100) < 5 and abs(new[new_y == 1].mean() + 50) < 2
    with pytest.raises(ValueError, match="generation"):
        VAEOversampler(generation="copy", **FAST).fit_resample(X, y)
    # Real rows are kept only by a residual fit; a later decode fit drops them.
    s.set_params(generation="decode").fit_resample(X, y)
    assert all(not hasattr(g, "anchors_") for g in s.generation_.values())


def test_pickle_roundtrip(small_digits):
    X, y = small_digits
    s = VAEOversampler(**FAST)
    s.fit_resample(X, y)
    loaded = pickle.loads(pickle.dumps(s))
    np.testing.assert_array_equal(
        s.sample(5, 2, random_state=3), loaded.sample(5, 2, random_state=3)
    )
    assert next(loaded.vaes_[2].parameters()).device.type == "cpu"


def test_verbose_prints_each_class(small_digits, capsys):
    X, y = small_digits
    VAEOversampler(verbose=1, **FAST).fit_resample(X, y)
    out = capsys.readouterr().out
    assert out.count("[VAEOversampler] class") == 10


@pytest.mark.parametrize(
    "make_bad, match",
    [
        (lambda X, y: (np.where(np.arange(X.size).reshape(X.shape) == 5, np.nan, X), y), "NaN"),
        (
            lambda X, y: (np.where(np.arange(X.size).reshape(X.shape) == 5, np.inf, X), y),
            "infinity",
        ),
        (lambda X, y: (np.full(X.shape, "a", dtype=object), y), "float"),
        (lambda X, y: (X, np.linspace(0, 1, len(y))), "Unknown label type"),
        (lambda X, y: (X, np.zeros(len(y), dtype=int)), "class"),
    ],
)
def test_bad_input_errors(small_digits, make_bad, match):
    X, y = small_digits
    Xb, yb = make_bad(X, y)
    with pytest.raises(ValueError, match=match):
        VAEOversampler(**FAST).fit_resample(Xb, yb)


def test_multilabel_target_is_rejected(small_digits):
    X, y = small_digits
    y_multi = np.stack([y % 2, (y // 2) % 2], axis=1)
    with pytest.raises(ValueError, match="[Mm]ulti"):
        VAEOversampler(**FAST).fit_resample(X, y_multi)


def test_image_shape_errors(small_digits):
    X, y = small_digits
    with pytest.raises(ValueError, match="784.*64|64.*784"):
        VAEOversampler(image_shape=(28, 28), **FAST).fit_resample(X, y)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        VAEOversampler(image_shape=(8, 8), **FAST).fit_resample(X * 16, y)
    with pytest.raises(ValueError, match="even"):
        VAEOversampler(image_shape=(7, 9), **FAST).fit_resample(X[:, :63], y)
    with pytest.raises(ValueError, match="even"):
        VAEOversampler(image_shape=(1, 1, 64), **FAST).fit_resample(X, y)
    with pytest.raises(ValueError, match="image"):
        VAEOversampler(vae="conv", image_shape=None, **FAST).fit_resample(X, y)


def test_device_errors_without_cuda(small_digits):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA; the error path is for CPU-only machines")
    X, y = small_digits
    with pytest.raises(ValueError, match="CUDA is not available"):
        VAEOversampler(device="cuda", **FAST).fit_resample(X, y)
    s = VAEOversampler(device="auto", **FAST)
    s.fit_resample(X, y)  # auto falls back to the CPU


def test_bf16_precision_trains_like_fp32(small_digits):
    X, y = small_digits
    X = X / 16.0
    runs = {}
    for precision in ("fp32", "bf16"):
        s = VAEOversampler(
            latent=2, training={"max_epochs": 20, "precision": precision}, random_state=0
        )
        X_res, _ = s.fit_resample(X, y)
        assert X_res.dtype == np.float32 and np.isfinite(X_res).all()
        assert all(p.dtype == torch.float32 for p in s.vaes_[0].parameters())
        runs[precision] = np.mean([h.best_loss for h in s.histories_.values()])
    # Same recipe, same seed: the best validation ELBOs agree within a few percent.
    assert runs["bf16"] == pytest.approx(runs["fp32"], rel=0.05)
    with pytest.raises(ValueError, match="precision"):
        VAEOversampler(training={"precision": "fp16"}).fit_resample(X, y)


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"image_shape": None},
        {"generation": "residual"},
        {"filter": ClassifierFilter(threshold=0.1)},
    ],
    ids=["image", "tabular", "residual", "filter"],
)
def test_sample_zero_rows_is_an_empty_array(small_digits, extra):
    X, y = small_digits
    s = VAEOversampler(**FAST, **extra)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # 2-epoch VAEs miss the filter's bar
        s.fit_resample(X, y)
        out = s.sample(0, 3, random_state=0)
        assert out.shape == (0, 64) and out.dtype == np.float32
        assert s.sample(5, 3, random_state=0).shape == (5, 64)


def test_sample_needs_an_integer_count(small_digits):
    X, y = small_digits
    s = VAEOversampler(**FAST)
    s.fit_resample(X, y)
    assert s.sample(np.int64(2), 0).shape == (2, 64)
    for bad in (2.7, "3", True):
        with pytest.raises(TypeError, match="n_samples must be an integer"):
            s.sample(bad, 0)
    with pytest.raises(ValueError, match=">= 0"):
        s.sample(-1, 0)


def test_fit_trains_nothing_and_drops_an_earlier_fit_resample(small_digits):
    X, y = small_digits
    s = VAEOversampler(**FAST)
    with pytest.raises(NotFittedError, match="call fit_resample"):
        s.fit(X, y).sample(2, 1)
    s.fit_resample(X, y)
    assert s.sample(2, 1).shape == (2, 64)
    # fit on other data: the old VAEs (64 features) must not answer for it.
    s.fit(X[:, :16], y)
    assert s.n_features_in_ == 16 and not hasattr(s, "vaes_") and not hasattr(s, "classes_")
    with pytest.raises(NotFittedError, match="call fit_resample"):
        s.sample(2, 1)


def test_refit_without_filter_drops_filter_results(small_digits):
    X, y = small_digits
    s = VAEOversampler(filter=ClassifierFilter(threshold=0.1), **FAST)
    s.fit_resample(X, y)
    assert set(s.filter_acceptance_) == set(range(10))
    s.set_params(filter=None).fit_resample(X, y)
    assert s.filter_ is None and not hasattr(s, "filter_acceptance_")


def test_custom_latent_sampler_without_get_params(small_digits):
    X, y = small_digits

    class FixedCode:  # the documented protocol only: fit(codes), sample(n, rng)
        def fit(self, codes):
            self.d = codes.shape[1]
            return self

        def sample(self, n, rng):
            return np.zeros((n, self.d))

    spec = FixedCode()
    s = VAEOversampler(generation=Decode(latent_sampler=spec), **FAST)
    s.fit_resample(X, y)
    fitted = s.generation_[0].latent_sampler_
    assert fitted is not spec and fitted.d == 2
    assert not hasattr(spec, "d")  # the parameter is left untouched
    out = s.sample(3, 0)
    np.testing.assert_array_equal(out[0], out[2])  # every row decodes the same code


def test_unscaled_pixels_warn_and_stay_tabular(small_digits):
    X, y = small_digits
    pixels = np.round(X * 255).astype(np.uint8)
    s = VAEOversampler(**FAST)
    with pytest.warns(UserWarning, match="Divide by 255"):
        X_res, _ = s.fit_resample(pixels, y)
    assert s.image_shape_ is None and X_res.dtype == np.float64
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="64 features as a table"):
        VAEOversampler(vae="conv", **FAST).fit_resample(pixels, y)
    # Scaled data or image_shape=None: no warning.
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        VAEOversampler(image_shape=None, **FAST).fit_resample(pixels, y)
        VAEOversampler(**FAST).fit_resample(X, y)

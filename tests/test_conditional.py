"""The conditional VAE (skvae.nn.conditional) and VAEOversampler(vae="conditional")."""

from __future__ import annotations

import pickle
from collections import Counter

import numpy as np
import pytest
import torch

from skvae import VAEOversampler
from skvae.generation import ClassifierFilter, Decode
from skvae.nn import (
    ClassConditionedVAE,
    ConditionalConvVAE,
    ConditionalMLPVAE,
    evaluate_vae,
    train_vae,
)
from skvae.synthetic import SyntheticRows

FAST = dict(latent=2, training={"max_epochs": 2, "patience": 1}, random_state=0, vae="conditional")


def _halves(n_per_class: int = 20, side: int = 8, seed: int = 0):
    """Class 0: bright top half; class 1: bright bottom half (noisy, in [0, 1])."""
    rng = np.random.RandomState(seed)
    images = rng.uniform(0.0, 0.2, size=(2 * n_per_class, side, side))
    images[:n_per_class, : side // 2] += 0.7
    images[n_per_class:, side // 2 :] += 0.7
    y = np.repeat([0, 1], n_per_class)
    return images.reshape(len(y), -1).astype(np.float32), y


def test_pack_and_unpack_roundtrip_images_and_tables():
    cvae = ConditionalConvVAE((1, 8, 8), n_classes=3, latent=2)
    x = torch.rand(4, 1, 8, 8)
    labels = torch.tensor([2, 0, 1, 2])
    packed = cvae.pack(x, labels)
    assert packed.shape == (4, 4, 8, 8)
    # the class fills whole constant channels
    assert torch.equal(packed[:, 1:], packed[:, 1:, :1, :1].expand(-1, -1, 8, 8))
    data, onehot = cvae.unpack(packed)
    assert torch.equal(data, x)
    assert torch.equal(onehot.argmax(1), labels)

    mlp = ConditionalMLPVAE(5, n_classes=3, latent=2)
    rows = torch.randn(4, 5)
    packed = mlp.pack(rows, labels)
    assert packed.shape == (4, 8)
    data, onehot = mlp.unpack(packed)
    assert torch.equal(data, rows) and torch.equal(onehot.argmax(1), labels)


def test_loss_reconstructs_the_data_not_the_label():
    torch.manual_seed(0)
    cvae = ConditionalConvVAE((1, 8, 8), n_classes=2, latent=2)
    x = torch.rand(3, 1, 8, 8)
    generator = torch.Generator().manual_seed(1)
    loss = cvae.loss(cvae.pack(x, torch.tensor([0, 1, 0])), generator=generator)
    assert loss.shape == (3,) and torch.isfinite(loss).all()
    # the label changes the loss (it enters encoder and decoder) ...
    generator = torch.Generator().manual_seed(1)
    other = cvae.loss(cvae.pack(x, torch.tensor([1, 0, 1])), generator=generator)
    assert not torch.allclose(loss, other)
    with pytest.raises(TypeError, match="for_class"):
        cvae.sample(2)


def test_class_views_share_weights_and_decode_by_class():
    torch.manual_seed(0)
    cvae = ConditionalConvVAE((1, 8, 8), n_classes=3, latent=2)
    views = [cvae.for_class(k) for k in range(3)]
    assert all(isinstance(v, ClassConditionedVAE) and v.model is cvae for v in views)
    assert views[0].latent == 2 and views[0].input_shape == (1, 8, 8)
    z = torch.randn(4, 2)
    out = [v.generate(z) for v in views]
    assert out[0].shape == (4, 1, 8, 8)
    assert not torch.allclose(out[0], out[1])
    mu, logvar = views[1].encode(torch.rand(4, 1, 8, 8))
    assert mu.shape == logvar.shape == (4, 2)
    with pytest.raises(ValueError, match="index"):
        cvae.for_class(3)


def test_trains_with_the_generic_loop_and_learns_each_class():
    X, y = _halves()
    cvae = ConditionalConvVAE((1, 8, 8), n_classes=2, latent=2)
    packed = cvae.pack(torch.as_tensor(X).reshape(-1, 1, 8, 8), torch.as_tensor(y))
    before = evaluate_vae(cvae, packed)
    result = train_vae(cvae, packed, max_epochs=150, patience=150, batch_size=40, lr=3e-3)
    assert result.n_steps == 150
    assert result.best_loss < 0.8 * before
    top = [cvae.for_class(k).sample(50, torch.Generator().manual_seed(0)) for k in (0, 1)]
    # class 0 decodes bright tops, class 1 bright bottoms
    assert top[0][..., :4, :].mean() > top[0][..., 4:, :].mean() + 0.3
    assert top[1][..., 4:, :].mean() > top[1][..., :4, :].mean() + 0.3


def test_oversampler_conditional_generates_each_classs_rows():
    X, y = _halves()
    sampler = VAEOversampler(
        latent=2,
        vae="conditional",
        training={"max_epochs": 150, "patience": 150, "lr": 3e-3},
        random_state=0,
    )
    X_res, y_res = sampler.fit_resample(X, y)
    assert Counter(y_res) == {0: 40, 1: 40}
    new = X_res[len(X) :].reshape(-1, 8, 8)
    new_y = y_res[len(y) :]
    for label, (bright, dark) in {
        0: (slice(0, 4), slice(4, 8)),
        1: (slice(4, 8), slice(0, 4)),
    }.items():
        rows = new[new_y == label]
        assert rows[:, bright].mean() > rows[:, dark].mean() + 0.3
    # one shared model behind every class's view, one training result
    models = {id(v.model) for v in sampler.vaes_.values()}
    assert len(models) == 1
    assert sampler.histories_[0] is sampler.histories_[1]
    assert all(isinstance(v, ClassConditionedVAE) for v in sampler.vaes_.values())


def test_conditional_holds_out_each_classs_share(small_digits, capsys):
    X, y = small_digits  # 12 rows per class: round(0.15 * 12) = 2 validation rows each
    VAEOversampler(verbose=1, **FAST).fit_resample(X, y)
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert "conditional VAE on 10 classes: 100 train / 20 valid rows" in line


def test_conditional_trains_on_every_class_but_views_only_those_to_generate(small_digits, capsys):
    X, y = small_digits
    keep = (y >= 3) | (np.arange(len(y)) % 12 < 6)  # classes 0-2 keep 6 rows of 12
    X, y = X[keep], y[keep]
    sampler = VAEOversampler(sampling_strategy="auto", verbose=1, **FAST)
    _, y_res = sampler.fit_resample(X, y)
    assert sorted(sampler.vaes_) == [0, 1, 2]
    assert Counter(y_res[len(y) :]) == {0: 6, 1: 6, 2: 6}
    # the majority classes' rows trained the shared model too: 102 rows in all,
    # round(0.15 * 6) = 1 validation row for classes 0-2, round(0.15 * 12) = 2 else
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert "on 10 classes: 85 train / 17 valid rows" in line
    with pytest.raises(ValueError, match="No VAE was trained for class 5"):
        sampler.sample(2, 5)


def test_conditional_is_reproducible_and_pickles(small_digits):
    X, y = small_digits
    a = VAEOversampler(**FAST).fit_resample(X, y)[0]
    state = torch.random.get_rng_state()
    sampler = VAEOversampler(**FAST)
    b = sampler.fit_resample(X, y)[0]
    assert torch.equal(state, torch.random.get_rng_state())
    np.testing.assert_array_equal(a, b)
    restored = pickle.loads(pickle.dumps(sampler))
    np.testing.assert_array_equal(
        restored.sample(4, 3, random_state=2), sampler.sample(4, 3, random_state=2)
    )
    # after unpickling the views still share one model
    assert len({id(v.model) for v in restored.vaes_.values()}) == 1


def test_conditional_tabular_uses_one_scaler_for_all_classes():
    rng = np.random.RandomState(0)
    X = np.concatenate([rng.normal(0, 1, (30, 5)), rng.normal(10, 2, (30, 5))])
    y = np.repeat([0, 1], 30)
    sampler = VAEOversampler(
        latent=2, training={"max_epochs": 5}, vae="conditional", random_state=0
    )
    X_res, _ = sampler.fit_resample(X, y)
    assert X_res.shape == (120, 5)
    assert isinstance(sampler.vaes_[0].model, ConditionalMLPVAE)
    mean0, scale0 = sampler.scalers_[0]
    mean1, scale1 = sampler.scalers_[1]
    np.testing.assert_allclose(mean0, X.mean(0), rtol=1e-5)
    assert mean0 is mean1 and scale0 is scale1


def test_conditional_latent_sampler_fits_each_classs_codes(small_digits):
    X, y = small_digits
    sampler = VAEOversampler(generation=Decode(latent_sampler="gmm"), **FAST)
    sampler.check_settings()
    sampler.fit_resample(X, y)
    # Each class's sampler is fitted on the shared model's codes of that class's rows.
    for label in (0, 7):
        with torch.inference_mode():
            rows = torch.as_tensor(X[y == label]).reshape(-1, 1, 8, 8)
            codes, _ = sampler.vaes_[label].encode(rows)
        gmm = sampler.generation_[label].latent_sampler_
        np.testing.assert_allclose(
            np.average(gmm.means_, axis=0, weights=gmm.weights_), codes.numpy().mean(0), atol=1e-3
        )


def test_conditional_residual_and_filter_work(small_digits):
    X, y = small_digits
    res = VAEOversampler(generation="residual", **FAST)
    X_res, _ = res.fit_resample(X, y)
    assert X_res.shape == (240, 64) and 0.0 <= X_res.min() and X_res.max() <= 1.0
    filt = VAEOversampler(filter=ClassifierFilter(threshold=0.0), **FAST)
    X_f, _ = filt.fit_resample(X, y)
    assert X_f.shape == (240, 64) and set(filt.filter_acceptance_) == set(range(10))


def test_cnn_draws_fresh_conditional_rows_each_epoch(small_digits):
    from test_synthetic import SMALL, Spy

    X, y = small_digits
    cnn = Spy(
        oversampler=SyntheticRows(VAEOversampler(**FAST), refresh=True), max_epochs=3, **SMALL
    ).fit(X, y)
    assert isinstance(cnn.oversampler_.vaes_[0], ClassConditionedVAE)
    n_real = len(X) - len(cnn.validation_indices_)
    generated = [seen["X"][n_real:] for seen in cnn.seen_]
    assert len(generated) == 3 and len(generated[0]) == 120
    assert not torch.equal(generated[0], generated[1])
    assert not torch.equal(generated[1], generated[2])
    # the fresh rows keep their classes
    assert all(torch.equal(seen["y"], cnn.seen_[0]["y"]) for seen in cnn.seen_)

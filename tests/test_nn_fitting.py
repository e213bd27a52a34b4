"""skvae.nn.fitting: the one recipe that builds, scales, splits, trains and encodes a VAE."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

import skvae.nn.fitting
from skvae import VAEEncoder, VAEOversampler
from skvae._network import resolve_training
from skvae.nn import MLPVAE, ConditionalMLPVAE, ConvVAE, train_vae
from skvae.nn.early_stopping import n_validation_rows
from skvae.nn.fitting import (
    VAETraining,
    fit_class_vaes,
    fit_conditional_vae,
    fit_vae,
    scale_rows,
)
from skvae.nn.seeds import seeded_torch

FAST = VAETraining(max_epochs=2, patience=1)


def conv():
    return ConvVAE((1, 8, 8), latent=2)


def same_weights(vae_a, vae_b) -> bool:
    return all(torch.equal(p, q) for p, q in zip(vae_a.parameters(), vae_b.parameters()))


def assert_same_training_to_rounding(vae_a, vae_b, n_steps: int, lr: float = 1e-3) -> None:
    """Two VAEs trained alike through different kernels: equal but for float rounding.

    RMSprop moves a weight by at most ``lr / sqrt(1 - alpha) = 10 * lr`` per step
    whatever its gradient, so rounding that flips the sign of a near-zero
    gradient can part single weights by up to ``2 * 10 * lr`` per step. The bulk
    agrees to float32 rounding amplified over the steps: after the 2 steps of
    tiny classes, 3 vs 10 stacked models differed by up to 2.1e-5 on an Intel
    AVX-512 Xeon (2.4e-5 on AMD with MKL_CBWR=COMPATIBLE), the per-class loop vs
    batched by up to 7e-5 (ATEN_CPU_CAPABILITY=default), none by more than
    1e-4: hence 1e-3 for all but 0.1% of the weights. Real bugs lie far
    outside: another seed moves 99.8% of the weights by more than 1e-4 (up to
    0.42), one training step fewer 12% of them by more than 1e-3.
    """
    diff = torch.cat(
        [(p - q).detach().abs().flatten() for p, q in zip(vae_a.parameters(), vae_b.parameters())]
    )
    assert float(diff.max()) <= 2 * 10 * lr * n_steps, float(diff.max())
    share = float((diff > 1e-3).float().mean())
    assert share < 1e-3, f"{share:.2%} of the weights differ by more than 1e-3"


# -------------------------------------------------------------- VAETraining
def test_vae_training_holds_the_estimators_defaults_and_feeds_the_loops():
    assert resolve_training(None, "X") == VAETraining()
    for estimator in (VAEOversampler(), VAEEncoder()):
        assert resolve_training(estimator.training, type(estimator).__name__) == VAETraining()
    settings = VAETraining().loop_settings()
    fields = {f.name for f in dataclasses.fields(VAETraining)}
    assert set(settings) == fields - {"validation_fraction"}
    # Every key is a keyword of the training loop.
    result = train_vae(MLPVAE(3, 1), torch.randn(4, 3), **{**settings, "max_epochs": 1})
    assert result.n_steps == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        VAETraining().lr = 1.0


# ------------------------------------------------------------------ fit_vae
def test_fit_vae_is_reproducible_for_a_seed_and_leaves_torch_alone(small_digits):
    X, y = small_digits
    rows = X[y == 5]
    state = torch.get_rng_state().clone()
    a, b = (fit_vae(conv, rows, 7, FAST) for _ in range(2))
    assert torch.equal(state, torch.get_rng_state())
    assert same_weights(a.vae, b.vae)
    np.testing.assert_array_equal(a.codes, b.codes)
    assert a.result.history == b.result.history
    other = fit_vae(conv, rows, 8, FAST)
    assert not same_weights(a.vae, other.vae)
    assert not a.vae.training and next(a.vae.parameters()).device.type == "cpu"


@pytest.mark.parametrize("n", [1, 2, 3, 4, 6, 7, 12])
@pytest.mark.parametrize("fraction", [0.15, 0.5])
def test_fit_vae_holds_out_n_validation_rows(small_digits, n, fraction):
    X, _ = small_digits
    fitted = fit_vae(conv, X[:n], 0, dataclasses.replace(FAST, validation_fraction=fraction))
    n_valid = n_validation_rows(n, fraction)
    assert (fitted.n_train, fitted.n_valid) == (n - n_valid, n_valid)
    # Without validation rows, early stopping watches the training loss.
    assert (fitted.result.history[0]["valid_loss"] is None) == (n_valid == 0)


def test_fit_vae_codes_are_the_posterior_means_of_every_row(small_digits):
    X, _ = small_digits
    fitted = fit_vae(conv, X[:20], 0, FAST)
    assert fitted.codes.shape == (20, 2) and fitted.scaler is None
    with torch.inference_mode():
        mu, _ = fitted.vae.encode(torch.as_tensor(X[:20], dtype=torch.float32).reshape(20, 1, 8, 8))
    np.testing.assert_allclose(fitted.codes, mu.numpy(), rtol=1e-5, atol=1e-6)


def test_a_gaussian_vae_trains_on_standardised_rows():
    rng = np.random.RandomState(0)
    X = np.column_stack([rng.normal(1000, 5, 30), rng.normal(-2, 0.1, 30), np.full(30, 7.0)])
    fitted = fit_vae(lambda: MLPVAE(3, 2), X, 0, FAST)
    mean, scale = fitted.scaler
    np.testing.assert_allclose(mean, X.mean(0), rtol=1e-5)
    np.testing.assert_allclose(scale, [X[:, 0].std(), X[:, 1].std(), 1.0], rtol=1e-4)
    rows, scaler = scale_rows(X, fitted.vae)
    assert rows.dtype == np.float32
    np.testing.assert_allclose(rows[:, :2].mean(0), 0, atol=1e-3)
    np.testing.assert_allclose(rows[:, :2].std(0), 1, rtol=1e-3)
    assert (rows[:, 2] == 0).all()  # a constant feature keeps scale 1


def test_a_bernoulli_vae_needs_rows_in_the_unit_interval(small_digits):
    X, _ = small_digits
    with pytest.raises(ValueError, match=r"class 3 spans \[0, "):
        fit_vae(conv, X[:10] * 16, 0, FAST, name="class 3")


# ------------------------------------------------------------ fit_class_vaes
@pytest.mark.parametrize("batched", [False, True])
def test_a_class_vae_does_not_depend_on_the_other_classes_fitted(small_digits, batched):
    X, y = small_digits
    seeds = {label: 50 + label for label in range(10)}
    some = fit_class_vaes(conv, X, y, {k: seeds[k] for k in (2, 0, 1)}, FAST, batched=batched)
    every = fit_class_vaes(conv, X, y, seeds, FAST, batched=batched)
    assert list(some) == [2, 0, 1] and list(every) == list(range(10))
    for label in (0, 1, 2):
        a, b = some[label].vae, every[label].vae
        if batched:
            # 3 stacked models here, 10 there: other vectorised kernels, so equal
            # to float rounding only (the batched path's promise).
            assert_same_training_to_rounding(a, b, some[label].result.n_steps)
        else:
            # The per-class loop is fit_vae on the class's rows with its seed.
            assert same_weights(a, b)
            assert same_weights(a, fit_vae(conv, X[y == label], seeds[label], FAST).vae)


def test_fit_class_vaes_sees_only_each_classs_rows_and_reports_epochs(small_digits):
    X, y = small_digits
    entries = []
    fitted = fit_class_vaes(
        conv, X, y, {4: 0, 9: 1}, FAST, callback=lambda label, entry: entries.append(label)
    )
    assert fitted[4].codes.shape == (12, 2)
    assert entries == [4] * len(fitted[4].result.history) + [9] * len(fitted[9].result.history)
    X_other = X.copy()
    X_other[y == 9] = 1 - X_other[y == 9]
    again = fit_class_vaes(conv, X_other, y, {4: 0, 9: 1}, FAST)
    assert same_weights(fitted[4].vae, again[4].vae)
    assert not same_weights(fitted[9].vae, again[9].vae)


# ------------------------------------------------------- fit_conditional_vae
def test_fit_conditional_vae_holds_out_each_classs_share(monkeypatch):
    rng = np.random.RandomState(0)
    sizes = [12, 6, 3]  # round(0.15 * n): 2, 1 and 0 validation rows
    X = np.concatenate([rng.normal(3 * k, 1, (n, 4)) for k, n in enumerate(sizes)])
    index = np.repeat(np.arange(3), sizes)
    seen = {}

    def spy(vae, X_train, X_valid, **kwargs):
        seen["train"], seen["valid"] = X_train, X_valid
        return train_vae(vae, X_train, X_valid, **kwargs)

    monkeypatch.setattr(skvae.nn.fitting, "train_vae", spy)
    fitted = fit_conditional_vae(lambda: ConditionalMLPVAE(4, 3, 2), X, index, 0, FAST)
    per_class = fitted.vae.unpack(seen["valid"])[1].argmax(1).bincount(minlength=3).tolist()
    assert per_class == [n_validation_rows(n, 0.15) for n in sizes] == [2, 1, 0]
    assert (fitted.n_train, fitted.n_valid) == (18, 3)
    assert len(seen["train"]) == 18
    # Codes of every row, in the order of X; one standardisation over all classes.
    assert fitted.codes.shape == (21, 2)
    np.testing.assert_allclose(fitted.scaler[0], X.mean(0), rtol=1e-5)
    # Reproducible for a seed.
    again = fit_conditional_vae(lambda: ConditionalMLPVAE(4, 3, 2), X, index, 0, FAST)
    assert same_weights(fitted.vae, again.vae)


# ------------------------------------------------------------ augmentation
class _Spy:
    """An augment that records the batches it gets and returns them unchanged."""

    def __init__(self):
        self.shapes = []

    def __call__(self, x, generator=None):
        self.shapes.append(tuple(x.shape))
        return x


def test_train_vae_augments_each_training_batch_and_no_validation_row():
    X_train, X_valid = torch.rand(10, 1, 8, 8), torch.rand(4, 1, 8, 8)
    spy = _Spy()
    kw = dict(max_epochs=2, patience=5, batch_size=4, generator=torch.Generator().manual_seed(0))
    with seeded_torch(0):
        plain_vae = conv()
    with seeded_torch(0):
        spied_vae = conv()
    assert same_weights(plain_vae, spied_vae)
    train_vae(plain_vae, X_train, X_valid, **kw)
    kw["generator"] = torch.Generator().manual_seed(0)
    train_vae(spied_vae, X_train, X_valid, augment=spy, **kw)
    # 2 epochs of batches of 4, 4 and 2 training rows; validation's 4 rows never.
    assert spy.shapes == [(4, 1, 8, 8), (4, 1, 8, 8), (2, 1, 8, 8)] * 2
    # An augment that changes nothing and draws nothing trains the same VAE (same path).
    assert same_weights(plain_vae, spied_vae)


def test_an_augmented_fit_is_reproducible_and_differs_from_a_plain_one(small_digits):
    from skvae import RandomAffine

    X, y = small_digits
    rows = X[y == 5]
    augmented = dataclasses.replace(FAST, augment=RandomAffine(15.0, 0.1, 0.1))
    a, b = (fit_vae(conv, rows, 7, augmented) for _ in range(2))
    assert same_weights(a.vae, b.vae)
    assert not same_weights(a.vae, fit_vae(conv, rows, 7, FAST).vae)


def test_a_conditional_vae_augments_its_images_not_its_class_channels():
    from skvae.nn import ConditionalConvVAE

    cvae = ConditionalConvVAE((1, 8, 8), n_classes=3, latent=2)
    packed = cvae.pack(torch.rand(5, 1, 8, 8), torch.tensor([0, 1, 2, 0, 1]))
    spy = _Spy()
    out = cvae.augment_batch(packed, lambda x, generator=None: spy(x) * 0, None)
    assert spy.shapes == [(5, 1, 8, 8)]
    assert torch.equal(out[:, :1], torch.zeros(5, 1, 8, 8))
    assert torch.equal(out[:, 1:], packed[:, 1:])


def test_batched_class_vaes_with_augment_train_one_by_one(small_digits):
    X, y = small_digits
    augmented = dataclasses.replace(FAST, augment=_Spy())
    with pytest.warns(UserWarning, match="augment is set"):
        fitted = fit_class_vaes(conv, X, y, {0: 1, 1: 2}, augmented, batched=True)
    assert sorted(fitted) == [0, 1]


def test_a_non_callable_augment_is_refused():
    with pytest.raises(ValueError, match="augment"):
        resolve_training({"augment": 3}, "VAEOversampler")

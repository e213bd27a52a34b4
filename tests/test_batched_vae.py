"""train_vaes_batched: the class-VAEs trained together, each as train_vae trains it."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from skvae.datasets import load_digits
from skvae.nn import MLPVAE, VAE, ConvVAE, TrainResult, train_vae, train_vaes_batched
from skvae.nn.batched import batchable
from skvae.nn.fitting import VAETraining, fit_class_vaes

torch.set_num_threads(1)

SHAPE = (1, 8, 8)
SIZES = [5, 12, 8, 10, 6, 12, 7, 9, 11, 5]  # rows per digit class 0..9


@pytest.fixture(scope="module")
def digits_by_class():
    X, y = load_digits(return_X_y=True)  # already scaled to [0, 1] (X / 16)
    X = torch.as_tensor(X, dtype=torch.float32).reshape(-1, *SHAPE)
    return {c: X[torch.as_tensor(y) == c] for c in range(10)}


def conv(seed: int) -> ConvVAE:
    torch.manual_seed(seed)
    return ConvVAE(SHAPE, latent=2, hidden=32, filters=8)


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def split(rows: torch.Tensor, n_valid: int):
    return rows[n_valid:], (rows[:n_valid] if n_valid else None)


def loop(builders, parts, seeds, **kw) -> tuple[list[VAE], list[TrainResult], list]:
    """The reference: train_vae once per model."""
    vaes, results, gens = [], [], []
    for build, (X_train, X_valid), seed in zip(builders, parts, seeds):
        vae, g = build(), gen(seed)
        results.append(train_vae(vae, X_train, X_valid, generator=g, **kw))
        vaes.append(vae)
        gens.append(g)
    return vaes, results, gens


def batched(builders, parts, seeds, **kw) -> tuple[list[VAE], list[TrainResult], list]:
    vaes = [build() for build in builders]
    gens = [gen(seed) for seed in seeds]
    results = train_vaes_batched(
        vaes, [p[0] for p in parts], [p[1] for p in parts], generators=gens, **kw
    )
    return vaes, results, gens


def flat(vae: nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in vae.parameters()])


def assert_same_schedule(a: TrainResult, b: TrainResult) -> None:
    """Same epochs, steps, stopping and divergences: the bookkeeping matched."""
    assert [(h["epoch"], h["steps"]) for h in a.history] == [
        (h["epoch"], h["steps"]) for h in b.history
    ]
    assert (a.n_steps, a.n_divergences, a.stopped_early) == (
        b.n_steps,
        b.n_divergences,
        b.stopped_early,
    )


def assert_close_training(a: TrainResult, b: TrainResult, vae_a, vae_b, rtol=1e-4) -> None:
    """Same schedule, losses equal to rounding, weights equal but for a few."""
    assert_same_schedule(a, b)
    assert a.best_epoch == b.best_epoch
    for ha, hb in zip(a.history, b.history):
        np.testing.assert_allclose(hb["train_loss"], ha["train_loss"], rtol=rtol)
        if ha["valid_loss"] is not None:
            np.testing.assert_allclose(hb["valid_loss"], ha["valid_loss"], rtol=rtol)
    np.testing.assert_allclose(b.best_loss, a.best_loss, rtol=rtol)
    # RMSprop divides each gradient by its running RMS, which turns rounding in
    # near-zero gradients into steps of size ~lr: most weights agree to float
    # precision, a few only to ~lr.
    diff = (flat(vae_a) - flat(vae_b)).abs()
    assert float(diff.median()) < 1e-6
    assert float(diff.max()) < 20 * 1e-3


# --------------------------------------------------------------- equivalence
@pytest.mark.parametrize("kind", ["conv", "mlp"])
def test_single_model_reproduces_train_vae(digits_by_class, kind):
    rows = digits_by_class[3][:12]
    if kind == "conv":
        build = lambda: conv(0)  # noqa: E731
        parts = [split(rows, 2)]
    else:  # gaussian likelihood: the learned log_scale is trained too
        torch.manual_seed(0)
        template = MLPVAE(64, latent=2, hidden=(16,))
        build = lambda: copy.deepcopy(template)  # noqa: E731
        parts = [split(rows.reshape(len(rows), -1) * 2 - 1, 2)]
    kw = dict(max_epochs=4, min_steps=12, patience=2, batch_size=4)
    (v0,), (r0,), (g0,) = loop([build], parts, [7], **kw)
    (v1,), (r1,), (g1,) = batched([build], parts, [7], **kw)

    # Gradients agree to ~1e-9 (functorch's and autograd's sums differ in order).
    assert_close_training(r0, r1, v0, v1)
    # The generators end in the same state: shuffles and noise were drawn in the
    # same order and sizes as train_vae and evaluate_vae draw them.
    assert torch.equal(g0.get_state(), g1.get_state())
    assert not v1.training


def test_ten_classes_match_the_per_class_loop(digits_by_class):
    parts = [split(digits_by_class[c][:n], round(0.15 * n)) for c, n in enumerate(SIZES)]
    builders = [lambda c=c: conv(c) for c in range(10)]
    seeds = [100 + c for c in range(10)]
    kw = dict(max_epochs=6, min_steps=10, patience=3, batch_size=4)
    _, loop_results, _ = loop(builders, parts, seeds, **kw)
    vaes, results, _ = batched(builders, parts, seeds, **kw)

    assert len(results) == 10 and all(isinstance(r, TrainResult) for r in results)
    for r0, r1 in zip(loop_results, results):
        # Sizes differ (1 to 3 steps per epoch): each model kept its own epochs.
        assert_same_schedule(r0, r1)
        np.testing.assert_allclose(r1.best_loss, r0.best_loss, rtol=2e-2)
    for vae in vaes:
        assert all(torch.isfinite(p).all() for p in vae.parameters())


def test_per_model_epochs_min_steps_and_early_stopping(digits_by_class):
    # 1, 3 and 7 steps per epoch; min_steps=10 needs 10, 4 and 2 epochs.
    rows = [digits_by_class[c][:n] for c, n in ((0, 3), (1, 10), (2, 25))]
    parts = [(r, None) for r in rows]  # early stopping on the training loss
    builders = [lambda c=c: conv(c) for c in range(3)]
    for kw in (
        dict(max_epochs=2, min_steps=10, patience=50, batch_size=4),
        dict(max_epochs=30, min_steps=10, patience=0, batch_size=4),
    ):
        _, ref, ref_gens = loop(builders, parts, [1, 2, 3], **kw)
        _, got, got_gens = batched(builders, parts, [1, 2, 3], **kw)
        for r0, r1, g0, g1 in zip(ref, got, ref_gens, got_gens):
            assert_same_schedule(r0, r1)
            assert r1.n_steps >= kw["min_steps"]
            # A stopped model's generator is left alone while the others train.
            assert torch.equal(g0.get_state(), g1.get_state())
    assert [r.n_steps for r in got] != [got[0].n_steps] * 3


# ----------------------------------------------------------------- isolation
def test_a_class_result_does_not_depend_on_the_others(digits_by_class):
    kw = dict(max_epochs=5, patience=1, batch_size=4)
    base = split(digits_by_class[0][:10], 2)

    def class0(*others):
        parts = [base, *others]
        vaes, results, _ = batched(
            [lambda c=c: conv(c) for c in range(len(parts))], parts, range(len(parts)), **kw
        )
        return vaes[0], results[0]

    v, r = class0(split(digits_by_class[1][:10], 2))
    # another class 1 of the same size, of another size, and a third class
    for others in (
        [split(digits_by_class[2][:10], 2)],
        [split(digits_by_class[2][:7], 1)],
        [split(digits_by_class[2][:25], 4), split(digits_by_class[3][:5], 0)],
    ):
        v2, r2 = class0(*others)
        # Other batch paddings and model counts give other vectorised kernels (bit
        # for bit equal on AMD EPYC, not promised): equal to rounding. A leak of
        # the other models' rows would show far outside it: class 0 trained with
        # another seed has losses 1.6e-2 apart and a median weight change of 1e-2.
        assert_close_training(r, r2, v, v2)


def test_a_diverging_model_does_not_disturb_the_others(digits_by_class):
    kw = dict(max_epochs=4, patience=10, batch_size=3, max_divergences=2)
    bad_rows = digits_by_class[1][:9].clone()
    bad_rows[4, 0, 3, 3] = float("nan")  # one batch per epoch has a NaN loss
    good = [split(digits_by_class[c][:9], 2) for c in (0, 2)]
    parts = [good[0], (bad_rows, None), good[1]]
    builders = [lambda c=c: conv(c) for c in range(3)]
    vaes, results, gens = batched(builders, parts, [5, 6, 7], **kw)
    ref_vaes, ref, ref_gens = loop(builders, parts, [5, 6, 7], **kw)

    bad = results[1]
    assert bad.n_divergences == 2 and bad.history == [] and bad.best_epoch == 0
    assert_same_schedule(ref[1], bad)  # same steps before the NaN batch in each epoch
    assert torch.equal(ref_gens[1].get_state(), gens[1].get_state())
    # It never finished an epoch: it holds its initial (best) weights, not NaN.
    torch.testing.assert_close(flat(vaes[1]), flat(conv(1)), rtol=0, atol=0)

    # The others train exactly as without the diverging model.
    alone_vaes, alone, _ = batched([builders[0], builders[2]], [parts[0], parts[2]], [5, 7], **kw)
    for k, k_alone in ((0, 0), (2, 1)):
        # Equal up to rounding: with 3 models in a step instead of 2, oneDNN may
        # pick another grouped-convolution kernel (one float32 ulp in a loss).
        assert_close_training(results[k], alone[k_alone], vaes[k], alone_vaes[k_alone])
        assert_same_schedule(ref[k], results[k])


def test_a_huge_learning_rate_diverges_every_model_cleanly(digits_by_class):
    parts = [split(digits_by_class[c][:8], 1) for c in range(3)]
    builders = [lambda c=c: conv(c) for c in range(3)]
    kw = dict(max_epochs=6, min_steps=20, patience=50, lr=1e6, batch_size=4)
    vaes, results, _ = batched(builders, parts, [0, 1, 2], **kw)
    _, ref, _ = loop(builders, parts, [0, 1, 2], **kw)
    for vae, r, r0 in zip(vaes, results, ref):
        assert r.n_divergences == r0.n_divergences > 0
        assert all(torch.isfinite(p).all() for p in vae.parameters())


def test_bf16_precision_runs(digits_by_class):
    parts = [split(digits_by_class[c][:8], 1) for c in range(2)]
    vaes, results, _ = batched(
        [lambda c=c: conv(c) for c in range(2)], parts, [0, 1], max_epochs=2, precision="bf16"
    )
    assert all(np.isfinite(r.best_loss) and r.n_steps == 2 for r in results)


# --------------------------------------------------------------------- errors
class _BatchNormVAE(VAE):
    def __init__(self):
        super().__init__(
            nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU()),
            nn.Linear(2, 4),
            latent=2,
            encoder_dim=8,
            input_shape=(4,),
            likelihood="gaussian",
        )


class _OwnLossVAE(MLPVAE):
    def loss(self, x, beta=1.0, generator=None):
        return super().loss(x, 2 * beta, generator)


@pytest.mark.parametrize(
    "vaes, match",
    [
        ([], "no VAEs"),
        ([MLPVAE(4, 2), ConvVAE(SHAPE, 2)], "is a ConvVAE"),
        ([MLPVAE(4, 2), MLPVAE(4, 3)], "latent size"),
        ([MLPVAE(4, 2), MLPVAE(4, 2, hidden=(8,))], "other parameters"),
        ([MLPVAE(4, 2), MLPVAE(4, 2, likelihood="bernoulli")], "likelihood"),
        ([_OwnLossVAE(4, 2), _OwnLossVAE(4, 2)], "overrides"),
        ([_BatchNormVAE(), _BatchNormVAE()], "buffers"),
        ([nn.Linear(2, 2)], "skvae.nn.VAE"),
    ],
)
def test_unbatchable_models_are_rejected(vaes, match):
    assert match in batchable(vaes)
    with pytest.raises(ValueError, match="cannot train these VAEs together"):
        train_vaes_batched(vaes, [torch.zeros(3, 4)] * len(vaes), max_epochs=1)


def test_bad_arguments_raise():
    vaes = [MLPVAE(4, 2), MLPVAE(4, 2)]
    X = [torch.rand(5, 4), torch.rand(6, 4)]
    assert batchable(vaes) is None
    with pytest.raises(ValueError, match="X_trains has 1 entries for 2 VAEs"):
        train_vaes_batched(vaes, X[:1])
    with pytest.raises(ValueError, match="X_valids has 3 entries"):
        train_vaes_batched(vaes, X, [None] * 3)
    with pytest.raises(ValueError, match="generators has 1 entries"):
        train_vaes_batched(vaes, X, generators=[gen(0)])
    with pytest.raises(ValueError, match="non-empty tensor"):
        train_vaes_batched(vaes, [X[0], torch.rand(0, 4)])
    with pytest.raises(ValueError, match="non-empty tensor"):
        train_vaes_batched(vaes, [X[0], torch.rand(5, 3)])
    with pytest.raises(ValueError, match=r"X_valids\[1\]"):
        train_vaes_batched(vaes, X, [None, torch.rand(2, 5)])
    with pytest.raises(ValueError, match="precision"):
        train_vaes_batched(vaes, X, precision="fp16")
    with pytest.raises(ValueError, match="max_step_rows"):
        train_vaes_batched(vaes, X, max_step_rows=0)


# ------------------------------------------------------------ fit_class_vaes
# The class-VAEs as VAEOversampler's settings train them: fit_class_vaes with
# batched=True against the per-class loop (batched=False).
TRAINING = VAETraining(max_epochs=3, min_steps=6, patience=1)


def _digits_rows(sizes):
    X, y = load_digits(return_X_y=True)
    rows = np.concatenate([np.flatnonzero(y == c)[:n] for c, n in enumerate(sizes)])
    return X[rows], y[rows]


def _class_seeds(y) -> dict:
    return {int(label): 100 + int(label) for label in np.unique(y)}


BUILDS = {
    "conv": lambda: ConvVAE(SHAPE, latent=2),
    "mlp": lambda: MLPVAE(64, 2),  # tabular: a Gaussian likelihood on standardised rows
}


@pytest.mark.parametrize("kind", list(BUILDS))
def test_fit_class_vaes_batched_fits_what_the_loop_fits(kind):
    X, y = _digits_rows(SIZES)
    seeds = _class_seeds(y)
    fitted = {}
    for flag in (False, True):
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)  # no fallback warning
            fitted[flag] = fit_class_vaes(BUILDS[kind], X, y, seeds, TRAINING, batched=flag)
    a, b = fitted[False], fitted[True]
    assert list(a) == list(b) == list(seeds)
    for label, n in enumerate(SIZES):
        fa, fb = a[label], b[label]
        assert type(fa.vae) is type(fb.vae) and not fb.vae.training
        assert next(fb.vae.parameters()).device.type == "cpu"
        assert (fa.n_train, fa.n_valid) == (fb.n_train, fb.n_valid)
        assert fa.codes.shape == fb.codes.shape == (n, 2)
        if kind == "mlp":  # the same rows, so the same standardisation
            for u, v in zip(fa.scaler, fb.scaler):
                np.testing.assert_array_equal(u, v)
        else:
            assert fa.scaler is None and fb.scaler is None
        assert_same_schedule(fa.result, fb.result)
        np.testing.assert_allclose(fb.result.best_loss, fa.result.best_loss, rtol=5e-2)


def test_fit_class_vaes_batched_imbalanced_and_deterministic():
    X, y = _digits_rows([12, 4, 9])
    runs = [
        fit_class_vaes(BUILDS["conv"], X, y, _class_seeds(y), TRAINING, batched=True)
        for _ in range(2)
    ]
    for label in runs[0]:
        for p, q in zip(runs[0][label].vae.parameters(), runs[1][label].vae.parameters()):
            assert torch.equal(p, q)
        np.testing.assert_array_equal(runs[0][label].codes, runs[1][label].codes)


def test_fit_class_vaes_falls_back_when_architectures_differ():
    X, y = _digits_rows([6, 6, 6])

    def build():
        # Built under seeded_torch(class seed): the width differs between classes
        # but not between fits.
        return MLPVAE(64, 2, hidden=(8 + torch.initial_seed() % 3,))

    seeds = _class_seeds(y)
    with pytest.warns(UserWarning, match="cannot be trained together"):
        together = fit_class_vaes(build, X, y, seeds, TRAINING, batched=True)
    alone = fit_class_vaes(build, X, y, seeds, TRAINING)
    for label in seeds:  # the fallback is the per-class loop
        for p, q in zip(together[label].vae.parameters(), alone[label].vae.parameters()):
            assert torch.equal(p, q)


# ------------------------------------------------------------------- RMSprop
@pytest.mark.parametrize("foreach", [False, True])
def test_stacked_rmsprop_is_torch_rmsprop_bit_for_bit(foreach):
    from skvae.nn.batched import _rmsprop_

    rng = torch.Generator().manual_seed(0)
    K, n = 3, 2000
    start = torch.randn(K, n, generator=rng)

    def grad():
        # exact zeros (dead units) and magnitudes down to 1e-22, whose squares are
        # subnormal: the fast path for tiny square averages must not change a bit
        g = torch.randn(K, n, generator=rng) * (torch.rand(K, n, generator=rng) > 0.3)
        return g * 10.0 ** -torch.randint(0, 23, (K, n), generator=rng).float()

    grads = [grad() for _ in range(6)]
    for lrs in ([1e-3] * K, [1e-3, 5e-4, 2.5e-4]):
        ref = [nn.Parameter(start[k].clone()) for k in range(K)]
        opts = [torch.optim.RMSprop([r], lr=lr, foreach=foreach) for r, lr in zip(ref, lrs)]
        P, S = start.clone(), torch.zeros(K, n)
        avg = torch.empty(K, n)
        neg_lr = -lrs[0] if len(set(lrs)) == 1 else -torch.tensor(lrs)
        for g in grads:
            for k in range(K):
                ref[k].grad = g[k].clone()
                opts[k].step()
            _rmsprop_(P, S, g, neg_lr, avg)
        for k in range(K):
            assert torch.equal(P[k], ref[k].detach())
            assert torch.equal(S[k], opts[k].state[ref[k]]["square_avg"])


@pytest.mark.parametrize("max_step_rows", [1, 7, None])
def test_splitting_a_step_changes_nothing(digits_by_class, max_step_rows):
    # 7 rows: runs of one or two models; 1 row: every model alone in its call
    parts = [split(digits_by_class[c][:n], 1) for c, n in ((0, 5), (1, 9), (2, 4))]
    builders = [lambda c=c: conv(c) for c in range(3)]
    kw = dict(max_epochs=3, patience=0, batch_size=4)
    ref_vaes, ref, _ = batched(builders, parts, [0, 1, 2], max_step_rows=10**6, **kw)
    vaes, got, _ = batched(builders, parts, [0, 1, 2], max_step_rows=max_step_rows, **kw)
    for k in range(3):
        assert_close_training(ref[k], got[k], ref_vaes[k], vaes[k], rtol=1e-5)

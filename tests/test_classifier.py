"""Behaviour of CNNClassifier: early stopping, splits, augmentation, pipelines."""

from __future__ import annotations

import os
import pickle
import signal
import warnings

import numpy as np
import pytest
import torch
from imblearn.pipeline import Pipeline
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_validate
from skorch.callbacks import Callback

from skvae import CNNClassifier, RandomAffine, VAEOversampler
from skvae.nn import PaperCNN

SMALL = dict(random_state=0, module__channels=(4, 4, 4, 4), module__hidden=8)
# The paper's way of training, which the early-stopping tests need: epochs at a
# constant rate, 20 % of each class held out, the best epoch restored.
BY_EPOCHS = dict(updates=None, validation_fraction=0.2)


def _early(**settings) -> dict:
    """The early-stopping callback's settings as CNNClassifier keyword arguments."""
    return {f"callbacks__early_stopping__{k}": v for k, v in settings.items()}


class Recorder:
    """An augment callable that records the batches it sees."""

    def __init__(self):
        self.sizes = []

    def __call__(self, x, generator=None):
        self.sizes.append(len(x))
        return x


def test_trained_on_few_hundred_mnist_images_is_far_above_chance(mnist):
    rows = np.concatenate([np.flatnonzero(mnist.y_train == c)[:30] for c in range(10)])
    clf = CNNClassifier(max_epochs=15, random_state=0)
    clf.fit(mnist.X_train[rows], mnist.y_train[rows])
    accuracy = clf.score(mnist.X_test[:1000], mnist.y_test[:1000])
    # Chance is 0.1; 300 real images reach about 0.85 here. 0.6 leaves room for
    # platform noise while still failing a network that does not learn.
    assert accuracy > 0.6, accuracy


def test_early_stopping_restores_best_weights(small_digits):
    X, y = small_digits
    clf = CNNClassifier(
        max_epochs=60,
        lr=3e-3,
        batch_size=16,
        callbacks__early_stopping__patience=3,
        **BY_EPOCHS,
        **SMALL,
    ).fit(X, y)
    valid = clf.history[:, "valid_loss"]
    assert clf.n_epochs_ < 60 and clf.n_epochs_ == clf.best_epoch_ + 3
    assert clf.best_epoch_ == int(np.argmin(valid)) + 1
    # Recompute the validation loss with the restored weights.
    rows = clf.validation_indices_
    assert len(rows) == 20  # round(0.2 * 12) = 2 per class
    proba = clf.predict_proba(X[rows])
    loss = -np.mean(np.log(proba[np.arange(len(rows)), np.searchsorted(clf.classes_, y[rows])]))
    assert loss == pytest.approx(min(valid), rel=1e-4)


def test_validation_split_is_stratified_and_works_with_five_per_class(small_digits):
    X, y = small_digits
    rows = np.concatenate([np.flatnonzero(y == c)[:5] for c in range(10)])
    clf = CNNClassifier(max_epochs=2, validation_fraction=0.1, **SMALL).fit(X[rows], y[rows])
    held = y[rows][clf.validation_indices_]
    assert sorted(held) == list(range(10))  # one per class, even at 10%
    other = CNNClassifier(max_epochs=2, validation_fraction=0.1, **{**SMALL, "random_state": 5})
    other.fit(X[rows], y[rows])
    assert not np.array_equal(other.validation_indices_, clf.validation_indices_)


def test_min_steps_is_honoured(small_digits):
    X, y = small_digits
    clf = CNNClassifier(
        max_epochs=1, batch_size=128, **BY_EPOCHS, **SMALL, **_early(patience=1, min_steps=20)
    ).fit(X, y)
    assert clf.n_epochs_ >= 20  # 96 training rows, one update per epoch


class _FakeNet:
    """What RestoreBestEarlyStopping reads: a history and a module."""

    def __init__(self):
        from skorch.history import History

        self.history = History()
        self.module_ = torch.nn.Linear(1, 1, bias=False)


def _run_early_stopping(losses, **params):
    """Feed ``losses`` to the callback, one update per epoch; return it and the epochs run."""
    from skvae.callbacks import RestoreBestEarlyStopping

    net, early = _FakeNet(), RestoreBestEarlyStopping(**params)
    early.on_train_begin(net)
    for epoch, loss in enumerate(losses, start=1):
        net.module_.weight.data.fill_(epoch)  # the weights say which epoch they are from
        net.history.new_epoch()
        net.history.record("valid_loss", loss)
        early.on_batch_end(net, training=True)
        try:
            early.on_epoch_end(net)
        except KeyboardInterrupt:
            break
    early.on_train_end(net)
    assert net.module_.weight.item() == early.best_epoch_
    return early, epoch


def test_restored_epoch_comes_after_min_steps():
    # Lowest loss at epoch 2, long before min_steps; then a second dip at epoch 7.
    losses = [1.0, 0.2, 0.9, 0.8, 0.7, 0.6, 0.5, 0.55, 0.6, 0.65, 0.7, 0.8]
    early, ran = _run_early_stopping(losses, patience=3, min_steps=5)
    assert early.best_epoch_ == 7 and ran == 10 and early.stopped_early_
    # The rule of skvae 0.1.0 (kept to measure it) restores epoch 2 once allowed to stop.
    early, ran = _run_early_stopping(losses, patience=3, min_steps=5, select_after_min_steps=False)
    assert early.best_epoch_ == 2 and ran == 5


def test_fit_restores_an_epoch_after_min_steps(small_digits):
    X, y = small_digits
    clf = CNNClassifier(
        max_epochs=1, batch_size=16, **BY_EPOCHS, **SMALL, **_early(patience=3, min_steps=40)
    ).fit(X, y)
    valid = clf.history[:, "valid_loss"]
    # 100 training rows (2 of 12 per class validate): 7 updates per epoch, so
    # epochs 1-5 end before 40 updates; the budget is 6 epochs plus patience.
    assert clf.best_epoch_ == 6 + int(np.argmin(valid[5:]))
    assert clf.n_epochs_ == min(clf.best_epoch_ + 3, 6 + 3)


def test_epoch_budget_leaves_patience_after_min_steps(small_digits):
    X, y = small_digits
    clf = CNNClassifier(
        max_epochs=1, batch_size=128, **BY_EPOCHS, **SMALL, **_early(patience=4, min_steps=6)
    ).fit(X, y)
    assert clf.n_epochs_ == 6 + 4  # 96 training rows: one update per epoch
    # Without validation rows there is no early stopping: max_epochs is the length.
    plain = CNNClassifier(max_epochs=3, batch_size=128, updates=None, **SMALL).fit(X, y)
    assert plain.n_epochs_ == 3


def test_monitor_valid_acc_restores_the_most_accurate_epoch(small_digits):
    X, y = small_digits
    clf = CNNClassifier(
        max_epochs=12,
        callbacks__early_stopping__patience=3,
        lr=3e-3,
        callbacks__early_stopping__monitor="valid_acc",
        **BY_EPOCHS,
        **SMALL,
    )
    clf.fit(X, y)
    acc = np.asarray(clf.history[:, "valid_acc"])
    loss = np.asarray(clf.history[:, "valid_loss"])
    best = max(range(len(acc)), key=lambda i: (acc[i], -loss[i]))
    assert clf.best_epoch_ == best + 1
    rows = clf.validation_indices_
    assert clf.score(X[rows], y[rows]) == pytest.approx(acc[best])


def test_valid_acc_is_recorded_and_monitor_is_validated(small_digits):
    X, y = small_digits
    clf = CNNClassifier(max_epochs=2, **BY_EPOCHS, **SMALL).fit(X, y)
    assert all(0 <= a <= 1 for a in clf.history[:, "valid_acc"])
    with pytest.raises(ValueError, match="monitor must be one of"):
        CNNClassifier(
            max_epochs=2, callbacks__early_stopping__monitor="accuracy", **BY_EPOCHS, **SMALL
        ).fit(X, y)


def test_augment_sees_training_batches_only(small_digits):
    X, y = small_digits
    recorder = Recorder()
    clf = CNNClassifier(max_epochs=3, augment=recorder, **BY_EPOCHS, **SMALL).fit(X, y)
    n_train = len(X) - len(clf.validation_indices_)
    assert sum(recorder.sizes) == 3 * n_train  # one augmented image per row and epoch
    before = len(recorder.sizes)
    clf.predict(X)
    assert len(recorder.sizes) == before


def test_random_affine_changes_training_but_is_seeded(small_digits):
    X, y = small_digits
    a = CNNClassifier(max_epochs=2, augment=RandomAffine(), **SMALL).fit(X, y)
    b = CNNClassifier(max_epochs=2, augment=RandomAffine(), **SMALL).fit(X, y)
    c = CNNClassifier(max_epochs=2, **SMALL).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert not np.allclose(a.predict_proba(X), c.predict_proba(X))


def test_reproducible_and_global_rng_untouched(small_digits):
    X, y = small_digits
    np_state, torch_state = np.random.get_state()[1].copy(), torch.get_rng_state().clone()
    p1 = CNNClassifier(max_epochs=2, **SMALL).fit(X, y).predict_proba(X)
    p2 = CNNClassifier(max_epochs=2, **SMALL).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(p1, p2)
    np.testing.assert_array_equal(np.random.get_state()[1], np_state)
    assert torch.equal(torch.get_rng_state(), torch_state)


def test_string_labels_and_image_arrays(small_digits):
    X, y = small_digits
    names = np.array(list("abcdefghij"))[y]
    clf = CNNClassifier(max_epochs=2, **SMALL).fit(X.reshape(-1, 8, 8), names)
    assert list(clf.classes_) == list("abcdefghij")
    assert set(clf.predict(X.reshape(-1, 1, 8, 8))) <= set("abcdefghij")
    assert clf.predict_proba(X).shape == (len(X), 10)
    with pytest.raises(ValueError, match="shape"):
        clf.predict(X.reshape(-1, 4, 16))
    with pytest.raises(ValueError, match="64 features"):
        clf.predict(X[:, :63])


def test_read_only_input_trains_without_warnings(small_digits):
    X, y = small_digits
    X = X.astype(np.float32)
    X.setflags(write=False)  # as pandas may hand over its values
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        clf = CNNClassifier(max_epochs=1, **SMALL).fit(X, y)
        assert clf.predict(X).shape == y.shape
    assert not X.flags.writeable  # the caller's array is left as it was


class _CtrlCAtEpoch(Callback):
    """Sends this process a SIGINT at the end of epoch ``at``, as Ctrl-C would."""

    def __init__(self, at: int) -> None:
        self.at = at

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == self.at:
            os.kill(os.getpid(), signal.SIGINT)


def test_ctrl_c_stops_fit_instead_of_returning_a_half_trained_net(small_digits):
    X, y = small_digits
    before = signal.getsignal(signal.SIGINT)
    clf = CNNClassifier(
        max_epochs=50,
        callbacks=[("ctrl_c", _CtrlCAtEpoch(2))],
        **BY_EPOCHS,
        **SMALL,
        **_early(patience=50),
    )
    with pytest.raises(KeyboardInterrupt):
        clf.fit(X, y)
    assert len(clf.history) == 2  # it stopped there, and said so
    assert signal.getsignal(signal.SIGINT) is before  # the handler is put back
    # Early stopping, which skorch also signals by KeyboardInterrupt, still just ends fit.
    fitted = CNNClassifier(max_epochs=50, **BY_EPOCHS, **SMALL, **_early(patience=1)).fit(X, y)
    assert fitted.n_epochs_ < 50


def test_image_shape_parameter(small_digits):
    X, y = small_digits
    clf = CNNClassifier(image_shape=(8, 8), max_epochs=1, **SMALL).fit(X, y)
    assert clf.image_shape_ == (1, 8, 8)
    with pytest.raises(ValueError, match="784.*64"):
        CNNClassifier(image_shape=(28, 28), max_epochs=1, **SMALL).fit(X, y)
    rgb = np.repeat(X, 3, axis=1)
    clf = CNNClassifier(image_shape=(3, 8, 8), max_epochs=1, **SMALL).fit(rgb, y)
    assert clf.module_.features[0].in_channels == 3


def test_pickle_roundtrip(small_digits):
    X, y = small_digits
    clf = CNNClassifier(max_epochs=2, **SMALL).fit(X, y)
    loaded = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(clf.predict_proba(X), loaded.predict_proba(X))


def test_errors(small_digits):
    X, y = small_digits
    with pytest.raises(ValueError, match="class"):
        CNNClassifier(max_epochs=1, **SMALL).fit(X, np.zeros(len(X)))
    with pytest.raises(ValueError, match="NaN"):
        CNNClassifier(max_epochs=1, **SMALL).fit(np.where(X > 0.99, np.nan, X), y)
    with pytest.raises(ValueError, match="Unknown label type"):
        CNNClassifier(max_epochs=1, **SMALL).fit(X, np.linspace(0, 1, len(X)))
    with pytest.raises(ValueError, match="patience"):
        CNNClassifier(validation_fraction=0.2, **_early(patience=0), **SMALL).fit(X, y)
    # Early-stopping settings without a validation split would act on nothing.
    with pytest.raises(ValueError, match="callbacks__early_stopping__patience set, but"):
        CNNClassifier(**_early(patience=3), **SMALL).fit(X, y)
    with pytest.raises(TypeError, match="callbacks__early_stopping__min_steps"):
        CNNClassifier(min_steps=100)


def test_pipeline_grid_search_and_cross_validate(small_digits):
    X, y = small_digits
    pipe = Pipeline(
        [
            (
                "vae",
                VAEOversampler(
                    latent=2, training={"max_epochs": 2}, augment_size=4, random_state=0
                ),
            ),
            ("cnn", CNNClassifier(max_epochs=2, validation_fraction=0.2, **SMALL)),
        ]
    )
    cv = StratifiedKFold(2, shuffle=True, random_state=0)
    search = GridSearchCV(
        pipe,
        {"vae__latent": [2, 3], "cnn__augment": [None, RandomAffine()]},
        scoring="f1_macro",
        cv=cv,
    )
    search.fit(X, y)
    assert len(search.cv_results_["mean_test_score"]) == 4
    assert search.predict(X).shape == (len(X),)
    scores = cross_validate(
        clone(pipe).set_params(cnn__lr=3e-3), X, y, cv=cv, return_estimator=True
    )
    fitted = scores["estimator"][0]
    # The CNN saw real + generated rows: 6 real + 4 generated per class in each
    # training fold, so its validation split holds round(0.2 * 10) = 2 per class.
    assert len(fitted["cnn"].validation_indices_) == 20


def test_paper_cnn_any_image_size():
    for shape in [(1, 28, 28), (1, 8, 8), (3, 5, 7), (1, 1, 2)]:
        assert PaperCNN(shape, 4)(torch.zeros(2, *shape)).shape == (2, 4)


def test_bf16_precision_predicts_like_fp32_and_trains(small_digits):
    X, y = small_digits
    clf = CNNClassifier(max_epochs=3, **SMALL).fit(X, y)
    fp32 = clf.predict_proba(X)
    bf16 = clf.set_params(precision="bf16").predict_proba(X)
    assert bf16.dtype == fp32.dtype
    assert not np.array_equal(bf16, fp32)  # really computed in bfloat16
    np.testing.assert_allclose(bf16, fp32, atol=0.05)  # bf16 keeps ~3 significant digits
    # Training under autocast: the weights stay float32 and the net learns.
    wider = dict(SMALL, module__channels=(8, 8, 8, 8), module__hidden=32)
    trained = CNNClassifier(
        max_epochs=30, updates=None, lr=3e-3, batch_size=16, precision="bf16", **wider
    ).fit(X, y)
    assert all(p.dtype == torch.float32 for p in trained.module_.parameters())
    losses = trained.history[:, "train_loss"]
    assert losses[-1] < 0.85 * losses[0]  # 2.30 -> 1.82 here (fp32: 1.71)
    assert trained.score(X, y) > 0.4  # chance is 0.1
    with pytest.raises(ValueError, match="precision"):
        CNNClassifier(precision="fp16", **SMALL).fit(X, y)

"""skvae.nn.early_stopping: when to stop, which epoch is best, the budget, validation rows."""

from __future__ import annotations

import pytest

from skvae.nn.early_stopping import EarlyStopper, epochs_for_steps, n_validation_rows


def run(stopper: EarlyStopper, scores, steps_per_epoch: int = 1) -> list[bool]:
    """Feed one score per epoch; the ``stopped`` flag after each."""
    flags = []
    for epoch, score in enumerate(scores, start=1):
        stopper.update(score, epoch, epoch * steps_per_epoch)
        flags.append(stopper.stopped)
    return flags


def test_stops_after_patience_epochs_without_a_new_best():
    stopper = EarlyStopper(patience=3)
    flags = run(stopper, [5.0, 4.0, 3.0, 3.5, 3.2, 3.1, 1.0])
    # Epochs 4, 5 and 6 bring no new best: the third of them stops training.
    assert flags == [False] * 5 + [True, True]
    assert (stopper.best_score, stopper.best_epoch) == (1.0, 7)  # an update after a stop


def test_update_says_whether_the_epoch_is_the_new_best_and_resets_the_wait():
    stopper = EarlyStopper(patience=2)
    assert stopper.best_score is None and stopper.best_epoch == 0
    assert [stopper.update(s, e, e) for e, s in enumerate([3.0, 3.0, 2.0, 2.5], 1)] == [
        True,
        False,  # equal is not better
        True,
        False,
    ]
    assert (stopper.best_epoch, stopper.wait, stopper.stopped) == (3, 1, False)
    # Any ordered score: tuples compare element by element.
    tuples = EarlyStopper(patience=1)
    assert tuples.update((1, 2.0), 1, 1) and tuples.update((1, 1.0), 2, 2)


def test_patience_zero_stops_at_the_first_epoch_without_a_new_best():
    assert run(EarlyStopper(patience=0), [2.0, 1.0, 1.5]) == [False, False, True]


def test_does_not_stop_before_min_steps():
    stopper = EarlyStopper(patience=1, min_steps=10)
    # Two steps per epoch, the best at epoch 1: steps 2, 4, 6, 8 may not stop.
    flags = run(stopper, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], steps_per_epoch=2)
    assert flags == [False, False, False, False, True, True]
    assert stopper.best_epoch == 1  # early epochs may still be best by default


def test_best_after_min_steps_excludes_the_early_epochs():
    stopper = EarlyStopper(patience=2, min_steps=3, best_after_min_steps=True)
    # The lowest score comes at epoch 1, before the 3rd step: not a candidate,
    # and the early epochs do not count against patience either.
    flags = run(stopper, [0.1, 0.2, 0.9, 0.8, 0.85, 0.95])
    assert stopper.best_epoch == 4 and stopper.best_score == 0.8
    assert flags == [False] * 5 + [True]
    plain = EarlyStopper(patience=2, min_steps=3)
    run(plain, [0.1, 0.2, 0.9, 0.8, 0.85, 0.95])
    assert plain.best_epoch == 1


@pytest.mark.parametrize(
    "max_epochs, min_steps, steps_per_epoch, expected",
    [
        (200, 0, 1, 200),  # no step budget: the epochs
        (5, 10, 1, 10),  # a class of a few rows: one step per epoch
        (1, 10, 3, 4),  # ceil(10 / 3)
        (1, 9, 3, 3),
        (20, 10, 3, 20),  # the epochs already make the steps
        (5, 10, 0, 10),  # no batch at all counts as one step per epoch
    ],
)
def test_epochs_for_steps(max_epochs, min_steps, steps_per_epoch, expected):
    assert epochs_for_steps(max_epochs, min_steps, steps_per_epoch) == expected


@pytest.mark.parametrize(
    "n, fraction, vae_rule, cnn_rule",
    [
        (12, 0.15, 2, 2),  # round(1.8)
        (4, 0.15, 1, 1),  # round(0.6)
        (3, 0.15, 0, 1),  # round(0.45) = 0; the CNN keeps at least one
        (2, 0.15, 0, 1),
        (1, 0.15, 0, 0),  # one row: none to hold out
        (1, 1.0, 0, 0),
        (2, 1.0, 0, 1),  # the VAE would keep no training row; the CNN keeps one
        (10, 0.95, 0, 9),  # round(9.5) = 10 = n
        (10, 0.0, 0, 0),
        (10, 0.2, 2, 2),
    ],
)
def test_n_validation_rows_both_rules_at_the_edges(n, fraction, vae_rule, cnn_rule):
    assert n_validation_rows(n, fraction) == vae_rule
    assert n_validation_rows(n, fraction, at_least_one=True) == cnn_rule
    for rule in (vae_rule, cnn_rule):
        assert 0 <= rule < max(n, 1)  # never every row

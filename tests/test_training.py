"""train_models, the one training loop, and train_vae, the loop over one plain VAE."""

from __future__ import annotations

import math

import pytest
import torch

from skvae.nn import MLPVAE, train_vae
from skvae.nn.training import train_models


class ScriptedStack:
    """K fake models whose losses follow a script: the loop's schedule, seen alone.

    ``batch_loss(k, i)`` is model ``k``'s loss at its ``i``-th step call (from 0,
    non-finite ones included), ``valid_loss(k, j)`` at its ``j``-th validation;
    ``valid_loss=None`` monitors the training loss. Every call is recorded.
    """

    def __init__(self, n_rows, batch_loss, valid_loss=None):
        K = len(n_rows)
        self.n_rows = list(n_rows)
        self.has_valid = [valid_loss is not None] * K
        self.generators = [torch.Generator().manual_seed(k) for k in range(K)]
        self.device = torch.device("cpu")
        self.batch_loss, self.valid_loss = batch_loss, valid_loss
        self.n_calls, self.n_evals = [0] * K, [0] * K
        self.rows: list[list[torch.Tensor]] = [[] for _ in range(K)]
        self.stepped: list[list[int]] = []
        self.events: list[tuple[str, int]] = []
        self.loaded = set()

    def load_batch(self, k, rows):
        self.rows[k].append(rows)
        self.loaded.add(k)

    def step(self, models):
        assert self.loaded == set(models)  # each model stepped has its batch
        self.loaded = set()
        self.stepped.append(list(models))
        losses = [self.batch_loss(k, self.n_calls[k]) for k in models]
        for k in models:
            self.n_calls[k] += 1
        return losses

    def evaluate(self, models):
        losses = [self.valid_loss(k, self.n_evals[k]) for k in models]
        for k in models:
            self.n_evals[k] += 1
        return losses

    def save_best(self, k):
        self.events.append(("save", k))

    def restore_best(self, k):
        self.events.append(("restore", k))

    def slow_down(self, k):
        self.events.append(("slow", k))

    def finish(self):
        self.events.append(("finish", -1))


def falling(k, i):
    return 10.0 / (i + 1)


def test_each_model_walks_its_own_epochs_over_all_its_rows():
    # 1, 3 and 7 steps per epoch at batch_size 4
    stack = ScriptedStack([3, 10, 25], falling)
    results = train_models(stack, max_epochs=2, batch_size=4)
    assert [r.n_steps for r in results] == [2, 6, 14]
    assert [[h["steps"] for h in r.history] for r in results] == [[1, 2], [3, 6], [7, 14]]
    assert stack.stepped[0] == [0, 1, 2] and stack.stepped[-1] == [2]
    for k, n in enumerate(stack.n_rows):
        steps = len(stack.rows[k]) // 2
        for epoch in (stack.rows[k][:steps], stack.rows[k][steps:]):
            # an epoch is one shuffled pass: every row once
            assert sorted(torch.cat(epoch).tolist()) == list(range(n))
    assert stack.events[-1] == ("finish", -1)
    # the training loss is the batch losses weighted by batch size (25 = 6 x 4 + 1)
    first_epoch = [10.0 / (i + 1) for i in range(7)]
    expected = (sum(first_epoch[:6]) * 4 + first_epoch[6]) / 25
    assert results[2].history[0]["train_loss"] == pytest.approx(expected)


def test_patience_epochs_are_tolerated_and_the_next_one_stops():
    stack = ScriptedStack([4], lambda k, i: 1.0, valid_loss=lambda k, j: [3.0, 2.0][min(j, 1)])
    (result,) = train_models(stack, max_epochs=50, patience=2, batch_size=4)
    # epoch 2 is the best; epochs 3 and 4 are tolerated; epoch 5 stops
    assert (result.best_epoch, result.best_loss, len(result.history)) == (2, 2.0, 5)
    assert result.stopped_early
    assert stack.events == [("save", 0), ("save", 0), ("finish", -1)]


def test_min_steps_extend_the_budget_and_hold_off_stopping():
    stack = ScriptedStack([4, 8], lambda k, i: 1.0)
    results = train_models(stack, max_epochs=2, min_steps=6, patience=0, batch_size=4)
    # 6 epochs of one step and 3 of two: patience 0 waits for the 6th step
    assert [r.n_steps for r in results] == [6, 6]
    assert [len(r.history) for r in results] == [6, 3]
    assert all(r.stopped_early for r in results)


def test_a_non_finite_loss_restores_the_best_and_slows_down_that_model_only():
    def batch_loss(k, i):
        # model 1: every second step call is NaN, so it never ends an epoch of 2 steps
        return math.nan if k == 1 and i % 2 == 1 else 1.0

    stack = ScriptedStack([8, 8, 8], batch_loss)
    callbacks = []
    results = train_models(
        stack,
        max_epochs=5,
        batch_size=4,
        max_divergences=2,
        callback=lambda k, entry: callbacks.append(k),
    )
    bad = results[1]
    assert (bad.n_divergences, bad.history, bad.best_epoch, bad.n_steps) == (2, [], 0, 2)
    assert [e for e in stack.events if e[1] == 1] == [("restore", 1), ("slow", 1)] * 2
    for k in (0, 2):
        assert (results[k].n_steps, results[k].n_divergences, len(results[k].history)) == (10, 0, 5)
    assert sorted(set(callbacks)) == [0, 2]
    assert all(1 not in models for models in stack.stepped[4:])  # it stopped after 4 calls


def test_a_non_finite_validation_loss_diverges_too():
    stack = ScriptedStack(
        [4], lambda k, i: 1.0, valid_loss=lambda k, j: math.inf if j == 1 else 5.0 - j
    )
    (result,) = train_models(stack, max_epochs=4, batch_size=4)
    assert result.n_divergences == 1
    assert [h["epoch"] for h in result.history] == [1, 3, 4]  # epoch 2 diverged
    assert result.best_epoch == 4


def test_no_epoch_to_train_trains_nothing():
    stack = ScriptedStack([4, 9], falling)
    results = train_models(stack, max_epochs=0)
    assert stack.stepped == [] and all(r.n_steps == 0 for r in results)
    assert stack.events == [("finish", -1)]


def test_train_vae_restores_the_best_epochs_weights():
    torch.manual_seed(0)
    vae = MLPVAE(6, latent=2, hidden=(8,))
    rows = torch.randn(40, 6, generator=torch.Generator().manual_seed(1))
    seen = {}

    def snapshot(entry):
        seen[entry["epoch"]] = [p.detach().clone() for p in vae.parameters()]

    result = train_vae(
        vae,
        rows[:30],
        rows[30:],
        max_epochs=40,
        patience=2,
        lr=3e-2,
        batch_size=8,
        generator=torch.Generator().manual_seed(2),
        callback=snapshot,
    )
    assert result.stopped_early and 1 <= result.best_epoch < len(result.history)
    assert result.best_loss == min(h["valid_loss"] for h in result.history)
    for p, best in zip(vae.parameters(), seen[result.best_epoch]):
        assert torch.equal(p, best)
    assert not vae.training

"""Early stopping, the epoch budget and validation rows: one rule each, for every loop.

The VAE training loop (:func:`~skvae.nn.training.train_models`, behind
:func:`~skvae.nn.train_vae` and :func:`~skvae.nn.train_vaes_batched`) and the
CNN's skorch callback (:class:`skvae.callbacks.RestoreBestEarlyStopping`) both
decide here which epoch is best, when to stop, how many epochs a budget of
optimiser steps needs and how many rows of a class are held out.
"""

from __future__ import annotations

import math
from typing import Any


def epochs_for_steps(max_epochs: int, min_steps: int, steps_per_epoch: int) -> int:
    """Epochs to train: ``max_epochs``, or more when ``min_steps`` steps need more.

    A class of 4 rows makes one optimiser step per epoch, so a budget in epochs
    alone would under-train it; ``min_steps`` guarantees the steps.
    """
    return max(int(max_epochs), math.ceil(int(min_steps) / max(1, int(steps_per_epoch))))


def n_validation_rows(n: int, fraction: float, *, at_least_one: bool = False) -> int:
    """Rows of a class of ``n`` rows held out for early stopping.

    Two named rules, because the two consumers need different things at the edges:

    - ``at_least_one=False`` (the VAEs): ``round(fraction * n)``, and 0 when that
      would leave no training row. A class of 3 rows at 15 % then holds out none
      and its VAE watches the training loss.
    - ``at_least_one=True`` (the CNN, whose validation score ranks epochs over
      all classes): at least 1 and at most ``n - 1`` rows, and 0 only when
      ``n < 2`` or ``fraction == 0``.
    """
    if at_least_one:
        if n < 2 or fraction == 0:
            return 0
        return min(max(1, int(round(fraction * n))), n - 1)
    n_valid = int(round(fraction * n))
    return 0 if n_valid >= n else n_valid


class EarlyStopper:
    """Track the best epoch of one training and say when to stop.

    The rule of Keras' and skorch's ``EarlyStopping``: training stops once
    ``patience`` epochs in a row bring no new best score. Two additions for
    small data:

    - no stop before ``min_steps`` optimiser steps, so a network that makes
      one step per epoch is not stopped before it has trained;
    - with ``best_after_min_steps``, epochs that end before ``min_steps`` are
      not candidates for the best epoch either (nor do they count against
      patience): on 10 validation images the loss is often lowest after a few
      epochs, and restoring those weights throws away most of the training.

    Parameters
    ----------
    patience : int
        Epochs in a row without a new best score after which training stops.
    min_steps : int, default=0
        Optimiser steps before which training does not stop.
    best_after_min_steps : bool, default=False
        Whether only epochs ending at or after ``min_steps`` steps may be best.

    Attributes
    ----------
    best_score : object or None
        The best score so far (anything ordered by ``<``, lower is better), None
        before the first candidate epoch.
    best_epoch : int
        The epoch number passed with ``best_score`` (0 before).
    wait : int
        Candidate epochs since the best one.
    stopped : bool
        Whether patience ran out.
    """

    def __init__(self, patience: int, min_steps: int = 0, *, best_after_min_steps: bool = False):
        self.patience = int(patience)
        self.min_steps = int(min_steps)
        self.best_after_min_steps = bool(best_after_min_steps)
        self.best_score: Any = None
        self.best_epoch = 0
        self.wait = 0
        self.stopped = False

    def update(self, score: Any, epoch: int, n_steps: int) -> bool:
        """Record one finished epoch; return whether it is the new best.

        Sets :attr:`stopped` when training should end after this epoch.
        """
        warm = n_steps >= self.min_steps
        candidate = warm or not self.best_after_min_steps
        if candidate and (self.best_score is None or score < self.best_score):
            self.best_score, self.best_epoch, self.wait = score, int(epoch), 0
            return True
        self.wait += candidate
        if warm and self.wait >= self.patience:
            self.stopped = True
        return False

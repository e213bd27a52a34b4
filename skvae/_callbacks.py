"""skorch callbacks used by :class:`skvae.CNNClassifier`."""

from __future__ import annotations

import math

from skorch.callbacks import Callback


class RestoreBestEarlyStopping(Callback):
    """Stop when the validation loss stalls and restore the best epoch's weights.

    Like Keras' ``EarlyStopping(patience, restore_best_weights=True)``, which the
    paper used, plus ``min_steps``: with 40 training images an epoch is two
    updates, so patience counted in epochs alone can stop a network that has
    barely trained.

    Parameters
    ----------
    patience : int
        Epochs without a new best ``monitor`` value before stopping.
    min_steps : int
        Optimiser updates that must have happened before stopping is allowed.
    monitor : str
        History key to minimise.
    """

    def __init__(self, patience: int = 10, min_steps: int = 0, monitor: str = "valid_loss"):
        self.patience = patience
        self.min_steps = min_steps
        self.monitor = monitor

    def initialize(self):
        self.best_loss_ = math.inf
        self.best_epoch_ = 0
        self.best_state_ = None
        self.n_steps_ = 0
        self.wait_ = 0
        self.stopped_early_ = False
        return self

    def on_train_begin(self, net, **kwargs):
        self.initialize()

    def on_batch_end(self, net, training=False, **kwargs):
        if training:
            self.n_steps_ += 1

    def on_epoch_end(self, net, **kwargs):
        loss = net.history[-1].get(self.monitor)
        if loss is None:
            return
        epoch = len(net.history)
        if loss < self.best_loss_:
            self.best_loss_, self.best_epoch_, self.wait_ = float(loss), epoch, 0
            # Cloned, not referenced: later optimiser steps update tensors in place.
            self.best_state_ = {k: v.detach().clone() for k, v in net.module_.state_dict().items()}
            net.history.record("best_epoch", True)
            return
        net.history.record("best_epoch", False)
        self.wait_ += 1
        if self.wait_ >= self.patience and self.n_steps_ >= self.min_steps:
            self.stopped_early_ = True
            # skorch's documented way for a callback to end training.
            raise KeyboardInterrupt

    def on_train_end(self, net, **kwargs):
        if self.best_state_ is not None:
            net.module_.load_state_dict(self.best_state_)

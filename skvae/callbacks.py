"""skorch callbacks of :class:`skvae.CNNClassifier`: early stopping, the cosine schedule."""

from __future__ import annotations

from numbers import Integral

import torch
from skorch.callbacks import Callback, LRScheduler
from torch.optim.lr_scheduler import CosineAnnealingLR

from .nn.early_stopping import EarlyStopper

#: History keys early stopping can rank epochs by.
MONITORS = ("valid_loss", "valid_acc")


class RestoreBestEarlyStopping(Callback):
    """Stop when the validation score stalls and restore the best epoch's weights.

    Like Keras' ``EarlyStopping(patience, restore_best_weights=True)``, which the
    paper used, plus ``min_steps``: with 40 training images an epoch is two
    updates, so patience counted in epochs alone can stop a network that has
    barely trained. Epochs that end before ``min_steps`` updates are not
    candidates for the restored weights either: on 10 validation images the
    loss is often lowest after a few epochs, and restoring those weights threw
    away most of the training (measured in ``benchmarks/ablation.py``).

    Also records the validation accuracy of each epoch as ``valid_acc``,
    computed from the validation forward pass that gives ``valid_loss``. Does
    nothing in a fit without validation rows. In :class:`skvae.CNNClassifier`
    it is the callback named ``"early_stopping"``.

    Parameters
    ----------
    patience : int, default=10
        Epochs without a new best ``monitor`` value before stopping (>= 1).
    min_steps : int, default=0
        Optimiser updates that must have happened before stopping is allowed
        and before an epoch may be chosen as the best.
    monitor : {"valid_loss", "valid_acc"}, default="valid_loss"
        Score that ranks epochs: the lowest validation loss, or the highest
        validation accuracy with ties broken by the lower validation loss.
    select_after_min_steps : bool, default=True
        False lets epochs before ``min_steps`` be restored, as skvae 0.1.0 did
        (kept to measure that choice).
    """

    def __init__(
        self,
        patience: int = 10,
        min_steps: int = 0,
        monitor: str = "valid_loss",
        select_after_min_steps: bool = True,
    ):
        self.patience = patience
        self.min_steps = min_steps
        self.monitor = monitor
        self.select_after_min_steps = select_after_min_steps

    def initialize(self):
        if self.monitor not in MONITORS:
            raise ValueError(f"monitor must be one of {MONITORS}, got {self.monitor!r}.")
        for name, least in (("patience", 1), ("min_steps", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, Integral) or value < least:
                raise ValueError(f"{name} must be an int >= {least}, got {value!r}.")
        self.stopper_ = EarlyStopper(
            self.patience, self.min_steps, best_after_min_steps=self.select_after_min_steps
        )
        self.best_state_ = None
        self.n_steps_ = 0
        self._correct = self._seen = 0
        return self

    @property
    def best_epoch_(self) -> int:
        """1-based epoch whose weights are restored at the end (0 before any)."""
        return self.stopper_.best_epoch

    @property
    def stopped_early_(self) -> bool:
        """Whether patience ran out."""
        return self.stopper_.stopped

    def on_train_begin(self, net, **kwargs):
        self.initialize()

    def on_batch_end(self, net, batch=None, training=False, y_pred=None, **kwargs):
        if training:
            self.n_steps_ += 1
        elif y_pred is not None:
            with torch.no_grad():
                self._correct += int((y_pred.argmax(1) == batch[1]).sum())
            self._seen += len(y_pred)

    def _score(self, row: dict) -> tuple[float, float] | None:
        """Sort key of an epoch, lower is better; None when not validated."""
        loss = row.get("valid_loss")
        if loss is None:
            return None
        if self.monitor == "valid_acc":
            return (-row["valid_acc"], float(loss))
        return (float(loss), 0.0)

    def on_epoch_end(self, net, **kwargs):
        if self._seen:
            net.history.record("valid_acc", self._correct / self._seen)
        self._correct = self._seen = 0
        score = self._score(net.history[-1])
        if score is None:
            return
        if self.stopper_.update(score, len(net.history), self.n_steps_):
            # Cloned, not referenced: later optimiser steps update tensors in place.
            self.best_state_ = {k: v.detach().clone() for k, v in net.module_.state_dict().items()}
            net.history.record("best_epoch", True)
            return
        net.history.record("best_epoch", False)
        if self.stopper_.stopped:
            # skorch's documented way for a callback to end training.
            raise KeyboardInterrupt

    def on_train_end(self, net, **kwargs):
        if self.best_state_ is not None:
            net.module_.load_state_dict(self.best_state_)


class CosineOverFit(LRScheduler):
    """skorch's ``LRScheduler`` running torch's ``CosineAnnealingLR`` over one whole fit.

    The learning rate falls from the optimiser's ``lr`` to ``eta_min`` along a
    half cosine, stepped after every update, over the updates the fit will
    make: ``T_max`` is read at the start of training from the net's
    ``n_updates_planned_``. Each ``fit`` and ``partial_fit`` runs its own
    cosine from the optimiser's starting rates.

    Parameters
    ----------
    eta_min : float, default=0.0
        Learning rate reached at the last update.
    """

    def __init__(self, eta_min: float = 0.0) -> None:
        super().__init__(policy=CosineAnnealingLR, step_every="batch", eta_min=eta_min)

    def on_train_begin(self, net, **kwargs):
        planned = getattr(net, "n_updates_planned_", None)
        if planned is None:
            raise ValueError(
                "CosineOverFit needs to know how many updates a fit makes: use it through "
                f"CNNClassifier(updates=...), not with {type(net).__name__}(updates=None)."
            )
        self.T_max = max(1, int(planned))
        # A partial_fit after a fit starts a fresh cosine from the fit's rates, which
        # torch's scheduler kept as "initial_lr" (skorch's LRScheduler would resume
        # the old cosine, long since at eta_min). A new fit has a new optimiser.
        for group in net.optimizer_.param_groups:
            group["lr"] = group.setdefault("initial_lr", group["lr"])
        super().on_train_begin(net, **kwargs)

    def _get_scheduler(self, net, policy, **scheduler_kwargs):
        return super()._get_scheduler(net, policy, **scheduler_kwargs, last_epoch=-1)

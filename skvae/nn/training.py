"""The VAE training loop: early stopping, best-weight restore and budget; plain torch.

:func:`train_models` is the one loop. It trains K >= 1 models, each on its own
schedule (epochs, shuffles, validation, early stopping, divergence handling,
budget), and leaves the arithmetic to a :class:`ModelStack`: how the models
compute their losses and take their optimiser steps, and where their weights
and best weights live. :func:`train_vae` runs it over one plain VAE
(:class:`_SingleVAE`, torch's autograd and RMSprop);
:func:`~skvae.nn.train_vaes_batched` over K VAEs stacked into one ``torch.vmap``
(:class:`skvae.nn.batched._StackedVAEs`).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import torch

from .early_stopping import EarlyStopper, epochs_for_steps
from .vae import VAE


@dataclass
class TrainResult:
    """What :func:`train_vae` did.

    Attributes
    ----------
    history : list of dict
        One entry per epoch: ``epoch``, ``steps`` (cumulative), ``train_loss``,
        ``valid_loss`` (``None`` without a validation set).
    best_epoch : int
        1-based epoch whose weights were restored (0 if none finished).
    best_loss : float
        The monitored loss of that epoch.
    n_steps : int
        Optimiser steps taken.
    n_divergences : int
        Times a non-finite loss was met; each restored the best weights and
        halved the learning rate.
    stopped_early : bool
        Whether patience ran out before ``max_epochs``.
    """

    history: list = field(default_factory=list)
    best_epoch: int = 0
    best_loss: float = math.inf
    n_steps: int = 0
    n_divergences: int = 0
    stopped_early: bool = False


@torch.inference_mode()
def evaluate_vae(
    vae: VAE,
    X: torch.Tensor,
    *,
    beta: float = 1.0,
    batch_size: int = 1024,
    generator: torch.Generator | None = None,
    precision: str = "fp32",
) -> float:
    """Mean per-sample negative ELBO of ``X`` (one posterior draw per sample)."""
    was_training = vae.training
    vae.eval()
    total = 0.0
    for start in range(0, len(X), batch_size):
        with autocast(precision, X.device):
            loss = vae.loss(X[start : start + batch_size], beta, generator)
        total += float(loss.float().sum())
    vae.train(was_training)
    return total / max(len(X), 1)


class ModelStack(Protocol):
    """K models as :func:`train_models` trains them; model ``k`` is the ``k``-th.

    The loop owns the schedule; a stack owns the arithmetic. Models are named
    by their index, and the loop only ever hands a stack models still training.

    Attributes
    ----------
    n_rows : list of int
        Training rows per model (at least 1 each).
    has_valid : list of bool
        Whether each model has validation rows (else its training loss is
        monitored).
    generators : list of (torch.Generator or None)
        Per model, the source of its shuffles (the loop's) and of its noise (the
        stack's).
    device : torch.device
        Where the shuffled row indices are put.
    """

    n_rows: list[int]
    has_valid: list[bool]
    generators: list[torch.Generator | None]
    device: torch.device

    def load_batch(self, k: int, rows: torch.Tensor) -> None:
        """Give model ``k`` its next batch: ``rows`` index its training rows."""

    def step(self, models: list[int]) -> list[float]:
        """One optimiser step of each of ``models`` on its loaded batch.

        Returns each model's mean batch loss; a model whose loss is not finite
        takes no step.
        """

    def evaluate(self, models: list[int]) -> list[float]:
        """Mean validation loss of each of ``models`` (all have validation rows)."""

    def save_best(self, k: int) -> None:
        """Remember model ``k``'s current weights as its best."""

    def restore_best(self, k: int) -> None:
        """Put model ``k``'s best weights back into training."""

    def slow_down(self, k: int) -> None:
        """Halve model ``k``'s learning rate and restart its optimiser state."""

    def finish(self) -> None:
        """Leave every model's module holding its best weights, in eval mode."""


@dataclass
class _Schedule:
    """Where one model stands in its own epochs; models of other sizes differ."""

    n_rows: int
    batch_size: int
    steps_per_epoch: int
    epochs_needed: int
    stopper: EarlyStopper
    result: TrainResult = field(default_factory=TrainResult)
    epoch: int = 0
    position: int = 0  # next batch of the epoch; 0 starts a new epoch
    order: torch.Tensor | None = None
    running: float = 0.0  # batch loss times batch size, summed over the epoch
    done: bool = False

    def next_rows(self, generator: torch.Generator | None, device: torch.device) -> torch.Tensor:
        """Indices of the next batch; a new epoch first shuffles the rows."""
        if self.position == 0:
            self.epoch += 1
            self.order = torch.randperm(self.n_rows, generator=generator).to(device)
            self.running = 0.0
        start = self.position * self.batch_size
        return self.order[start : start + self.batch_size]

    def check_budget(self) -> None:
        """Done once the epochs of the budget (``max_epochs`` or ``min_steps``) are spent."""
        if self.epoch >= self.epochs_needed:
            self.done = True


def train_models(
    stack: ModelStack,
    *,
    max_epochs: int = 200,
    min_steps: int = 0,
    patience: int = 20,
    batch_size: int = 100,
    max_divergences: int = 3,
    callback: Callable[[int, dict], None] | None = None,
) -> list[TrainResult]:
    """Train the K models of ``stack``, each on its own schedule, as :func:`train_vae` says.

    Every round, each model still training takes one step on its next batch
    (all of them at once, as far as the stack can). A model of ``n_k`` rows
    makes ``ceil(n_k / min(batch_size, n_k))`` steps per epoch and ends its
    epochs (validation, early stopping, best weights) after its own last batch,
    whatever the others do. A model that stopped (patience, budget or
    ``max_divergences``) is left alone: no steps, shuffles or noise.

    Parameters
    ----------
    stack : ModelStack
        The models and their arithmetic.
    max_epochs, min_steps, patience, batch_size, max_divergences
        As in :func:`train_vae`, shared by all models.
    callback : callable, optional
        Called as ``callback(k, entry)`` with each history entry of model ``k``.

    Returns
    -------
    list of TrainResult
        One per model.
    """
    schedules = []
    for n in stack.n_rows:
        size = max(1, min(int(batch_size), n))
        steps = math.ceil(n / size)
        epochs = epochs_for_steps(max_epochs, min_steps, steps)
        # skvae's VAE rule since 0.1: ``patience`` epochs without improvement are
        # tolerated and the next one stops (Keras' rule stops at the patience-th);
        # kept so that trained VAEs do not change.
        stopper = EarlyStopper(int(patience) + 1, min_steps)
        schedules.append(_Schedule(n, size, steps, epochs, stopper))
        schedules[-1].check_budget()
    while models := [k for k, s in enumerate(schedules) if not s.done]:
        sizes = []
        for k in models:
            rows = schedules[k].next_rows(stack.generators[k], stack.device)
            stack.load_batch(k, rows)
            sizes.append(len(rows))
        ended = []
        for k, loss, size in zip(models, stack.step(models), sizes):
            schedule = schedules[k]
            if not math.isfinite(loss):
                # train_vae has always left the epoch at its first non-finite loss.
                _diverge(stack, k, schedule, max_divergences)
                continue
            schedule.result.n_steps += 1
            schedule.running += loss * size
            schedule.position += 1
            if schedule.position == schedule.steps_per_epoch:
                ended.append(k)
        if ended:
            _end_epochs(stack, ended, schedules, max_divergences, callback)
    stack.finish()
    return [s.result for s in schedules]


def _end_epochs(
    stack: ModelStack,
    models: list[int],
    schedules: list[_Schedule],
    max_divergences: int,
    callback: Callable[[int, dict], None] | None,
) -> None:
    """Validation, history, best weights and early stopping after an epoch of ``models``."""
    with_valid = [k for k in models if stack.has_valid[k]]
    valid = dict(zip(with_valid, stack.evaluate(with_valid))) if with_valid else {}
    for k in models:
        schedule, result = schedules[k], schedules[k].result
        schedule.position = 0
        train_loss = schedule.running / schedule.n_rows
        valid_loss = valid.get(k)
        monitored = train_loss if valid_loss is None else valid_loss
        if not math.isfinite(monitored):
            _diverge(stack, k, schedule, max_divergences)
            continue
        entry = {
            "epoch": schedule.epoch,
            "steps": result.n_steps,
            "train_loss": train_loss,
            "valid_loss": valid_loss,
        }
        result.history.append(entry)
        if callback is not None:
            callback(k, entry)
        if schedule.stopper.update(monitored, schedule.epoch, result.n_steps):
            result.best_loss, result.best_epoch = monitored, schedule.epoch
            stack.save_best(k)
        elif schedule.stopper.stopped:
            result.stopped_early = True
            schedule.done = True
        schedule.check_budget()


def _diverge(stack: ModelStack, k: int, schedule: _Schedule, max_divergences: int) -> None:
    """A non-finite loss: back to the best weights, at half the learning rate."""
    schedule.result.n_divergences += 1
    stack.restore_best(k)
    stack.slow_down(k)
    schedule.position = 0  # the next step starts a new epoch
    if schedule.result.n_divergences >= max_divergences:
        schedule.done = True
    schedule.check_budget()


class _SingleVAE:
    """One VAE as a :class:`ModelStack` of one: autograd and ``torch.optim.RMSprop``."""

    def __init__(
        self,
        vae: VAE,
        X_train: torch.Tensor,
        X_valid: torch.Tensor | None,
        *,
        lr: float,
        beta: float,
        generator: torch.Generator | None,
        precision: str,
        augment: Callable | None = None,
    ) -> None:
        self.vae, self.X_train, self.X_valid = vae, X_train, X_valid
        self.beta, self.generator, self.precision = beta, generator, precision
        self.augment = augment
        self.n_rows = [len(X_train)]
        self.has_valid = [X_valid is not None and len(X_valid) > 0]
        self.generators = [generator]
        self.device = X_train.device
        self.optimizer = torch.optim.RMSprop(vae.parameters(), lr=lr)
        # Preallocated copy of the best weights, updated in place: a deepcopy per
        # improvement cost ~4 ms, as much as a whole epoch of a 4-image class.
        self.live_state = vae.state_dict()
        self.best_state = {k: v.detach().clone() for k, v in self.live_state.items()}
        self.batch = X_train[:0]
        vae.train()

    def load_batch(self, k: int, rows: torch.Tensor) -> None:
        self.batch = self.X_train[rows]
        if self.augment is not None:
            self.batch = self.vae.augment_batch(self.batch, self.augment, self.generator)

    def step(self, models: list[int]) -> list[float]:
        # Train mode even if a callback switched it off, as train_vae always did;
        # checked, not set, per step: Module.train() walks every submodule (~0.3 ms).
        if not self.vae.training:
            self.vae.train()
        with autocast(self.precision, self.device):
            loss = self.vae.loss(self.batch, self.beta, self.generator).float().mean()
        if not torch.isfinite(loss):
            return [math.nan]
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return [float(loss.detach())]

    def evaluate(self, models: list[int]) -> list[float]:
        kw = dict(beta=self.beta, generator=self.generator, precision=self.precision)
        return [evaluate_vae(self.vae, self.X_valid, **kw)]

    def save_best(self, k: int) -> None:
        with torch.no_grad():
            for key, value in self.live_state.items():
                self.best_state[key].copy_(value)

    def restore_best(self, k: int) -> None:
        self.vae.load_state_dict(self.best_state)

    def slow_down(self, k: int) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] *= 0.5
        self.optimizer.state.clear()

    def finish(self) -> None:
        self.restore_best(0)
        self.vae.eval()


def train_vae(
    vae: VAE,
    X_train: torch.Tensor,
    X_valid: torch.Tensor | None = None,
    *,
    max_epochs: int = 200,
    min_steps: int = 0,
    patience: int = 20,
    lr: float = 1e-3,
    batch_size: int = 100,
    beta: float = 1.0,
    generator: torch.Generator | None = None,
    max_divergences: int = 3,
    callback: Callable[[dict], None] | None = None,
    precision: str = "fp32",
    augment: Callable | None = None,
) -> TrainResult:
    """Train ``vae`` with RMSprop, early stopping and best-weight restore.

    An epoch is one pass over ``X_train`` in shuffled mini-batches. Training runs
    for at least ``min_steps`` optimiser steps (for tiny classes an epoch is one
    step, so "epochs" alone would under-train), at most ``max_epochs`` epochs
    unless ``min_steps`` needs more, and stops once the monitored loss has not
    improved for ``patience`` epochs. The monitored loss is the validation ELBO,
    or the training ELBO when ``X_valid`` is ``None`` or empty. The weights of
    the best epoch are restored at the end.

    A non-finite loss restores the best weights so far and halves the learning
    rate; after ``max_divergences`` such events training stops. The returned
    model therefore never holds NaN weights.

    Parameters
    ----------
    vae : VAE
        Model to train in place (on the device of ``X_train``).
    X_train, X_valid : torch.Tensor
        Training and validation samples of shape ``(N, *vae.input_shape)``.
    max_epochs, min_steps, patience : int
        Budget and early stopping, see above.
    lr : float
        RMSprop learning rate (the paper: 1e-3).
    batch_size : int
        Mini-batch size (the paper: 100).
    beta : float
        Weight of the KL term.
    generator : torch.Generator, optional
        Source of the shuffling and reparameterisation noise (CPU generator).
    max_divergences : int
        Non-finite losses tolerated before giving up.
    callback : callable, optional
        Called with each epoch's history entry (for progress display).
    precision : {"fp32", "bf16"}, default="fp32"
        ``"bf16"`` computes the forward pass and loss under ``torch.autocast``
        with bfloat16; weights and optimiser stay float32.
    augment : callable, optional
        Applied to every training batch as ``augment(batch, generator=generator)``
        (through :meth:`VAE.augment_batch`), after the batch's shuffle and before
        its noise; validation rows are not augmented.

    Returns
    -------
    TrainResult
    """
    arithmetic = dict(lr=lr, beta=beta, generator=generator, precision=precision)
    stack = _SingleVAE(vae, X_train, X_valid, **arithmetic, augment=augment)
    (result,) = train_models(
        stack,
        max_epochs=max_epochs,
        min_steps=min_steps,
        patience=patience,
        batch_size=batch_size,
        max_divergences=max_divergences,
        callback=None if callback is None else (lambda k, entry: callback(entry)),
    )
    return result


def autocast(precision: str, device: torch.device):
    """bfloat16 autocast on ``device`` for ``precision="bf16"``, else nothing."""
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    if precision != "fp32":
        raise ValueError(f"precision must be 'fp32' or 'bf16', got {precision!r}.")
    return contextlib.nullcontext()

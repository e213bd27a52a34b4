"""CNNClassifier: the paper's CNN as a scikit-learn compatible skorch net."""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import clone
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import column_or_1d
from torch import nn

from ._net import TensorData, TensorNet, signature_with_skorch_defaults
from ._removed import RejectsRemovedParameters
from ._utils import check_sampler_settings, draw_seed, resolve_device
from .callbacks import CosineOverFit, RestoreBestEarlyStopping
from .nn import PaperCNN
from .nn.early_stopping import n_validation_rows
from .nn.seeds import seeded_torch
from .synthetic import MixesSyntheticRows, as_synthetic_rows


class CNNClassifier(RejectsRemovedParameters, MixesSyntheticRows, TensorNet):
    """The paper's CNN as a scikit-learn classifier (a skorch ``NeuralNetClassifier``).

    Trains :class:`skvae.nn.PaperCNN` with Adam and cross-entropy for a number
    of optimiser updates that grows with the training set, with the learning
    rate falling along a cosine to 0, on every labelled row, and keeps the last
    weights (the recipe chosen on a development set, see the *Ablation* page of
    the documentation). The paper's way, epochs with early stopping on a
    stratified validation split and the best epoch's weights restored, is
    ``updates=None, max_epochs=100, validation_fraction=0.2``. Validates its
    input like any scikit-learn estimator and accepts labels of any type.

    Parameters
    ----------
    module : type or torch.nn.Module, default=PaperCNN
        The network. A class is instantiated with ``in_shape=(C, H, W)`` and
        ``n_classes`` plus any ``module__*`` parameters (e.g.
        ``module__channels=(32, 64, 64, 64)``).
    image_shape : tuple of int or None, default=None
        How to read 2-D ``X`` of shape ``(n_samples, C*H*W)``: ``(H, W)`` or
        ``(C, H, W)``. With ``None``, 2-D rows are read as square one-channel
        images when ``n_features`` is a perfect square (MNIST's 784, digits' 64)
        and as ``1 x n_features`` images otherwise. 3-D ``(n, H, W)`` and 4-D
        ``(n, C, H, W)`` arrays carry their own shape.
    augment : callable or None, default=None
        Online augmentation of training batches, e.g.
        :class:`skvae.RandomAffine` (the paper's AUG condition: 20 degrees, 0.2,
        0.2). Called as ``augment(batch, generator=...)`` on each training batch
        (never on validation or prediction batches), so one epoch sees as many
        augmented images as there are training rows, each with fresh random
        parameters. (The authors' Keras code drew 32 x N images per epoch;
        ``updates`` sets the training length instead.)
    max_epochs : int or None, default=None
        Most epochs. With ``updates`` set, training stops after ``max_epochs``
        epochs if the updates take more (the cosine is then laid over the
        updates those epochs make, so it still ends at 0); None sets no cap.
        With ``updates=None``, the epochs to train (raised to the epochs the
        early-stopping callback's ``min_steps`` needs plus its ``patience``
        when that is more), and then required.
    updates : int, "auto" or None, default="auto"
        Optimiser updates of a fit, with the learning rate falling from ``lr``
        to 0 along a cosine over them (the ``"lr_scheduler"`` callback,
        :class:`skvae.callbacks.CosineOverFit`; replace or drop it with
        ``callbacks__lr_scheduler=...``). The updates are rounded up to whole
        epochs (``n_updates_planned_``). ``"auto"`` grows the budget with the
        data: ``2000 + 20 * n`` updates for ``n`` real training rows, 3,000 more
        with an ``augment`` (rows an ``oversampler`` generates add none; in a
        ``Pipeline`` the CNN cannot tell them from real ones and counts them).
        None trains by epochs (``max_epochs``) at a constant learning rate.
    validation_fraction : float, default=0.0
        Share of each class held out for early stopping, stratified and drawn
        with ``random_state``; the best epoch's weights are restored (the
        ``"early_stopping"`` callback, see Notes). Every class with at least 2
        rows gives at least one validation row and keeps at least one training
        row. ``0`` holds nothing out: every labelled row trains, the last
        weights are kept.
    batch_size : int, default=32
        Mini-batch size (the paper: 32).
    lr : float, default=1e-3
        Adam's learning rate (the paper: 1e-3).
    optimizer : type, default=torch.optim.Adam
    criterion : type, default=torch.nn.CrossEntropyLoss
    device : str, default="cpu"
        ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"``. A model fitted on a
        GPU unpickles on a CPU-only machine.
    precision : {"fp32", "bf16"}, default="fp32"
        ``"bf16"`` runs the network's forward passes (training, validation,
        prediction) under ``torch.autocast`` with bfloat16, on CPU or GPU; the
        weights, the optimiser and the loss stay float32. Faster where the
        hardware has bf16 matrix units (see ``benchmarks/bench_cnn.py``).
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, the validation split, shuffling, dropout and
        augmentation (and ``oversampler`` when its own ``random_state`` is
        None). The same value gives the same model on CPU; global RNG state is
        left untouched.
    oversampler : sampler, SyntheticRows or None, default=None
        Generated training rows, e.g. from :class:`skvae.VAEOversampler`: a
        clone is fitted with ``fit_resample`` on the rows given to ``fit`` (all
        of them, as a pipeline step would), and the rows it adds are joined to
        the training split only, so the validation rows that drive early
        stopping stay real. The sampler must return the original rows first, as
        imbalanced-learn's over-samplers do. A
        :class:`~skvae.synthetic.SyntheticRows` wrapping the sampler also sets
        the loss weight of generated rows and draws fresh ones each epoch,
        which a ``Pipeline`` step cannot.
    verbose : int, default=0
        skorch's per-epoch log when > 0.
    **kwargs
        Any other skorch ``NeuralNet`` parameter (``callbacks``, ``module__*``,
        ``optimizer__*``, ``train_split`` to replace the built-in split, ...).

    Attributes
    ----------
    classes_ : ndarray
        Class labels.
    n_features_in_ : int
        Number of features per row.
    image_shape_ : tuple of int
        The ``(C, H, W)`` the network was built for.
    best_epoch_ : int
        Epoch whose weights were restored (the last epoch without validation).
    n_epochs_ : int
        Epochs trained.
    n_updates_planned_ : int or None
        Optimiser updates the last ``fit`` planned with ``updates`` set (whole
        epochs), else None.
    validation_indices_ : ndarray
        Rows of the last ``fit``'s ``X`` held out for early stopping.
    oversampler_ : sampler
        The fitted clone of the sampler of ``oversampler`` (only with an
        ``oversampler``).
    n_synthetic_ : ndarray of shape (n_classes,)
        Generated training rows per class in each epoch (only with an
        ``oversampler``).
    module_ : torch.nn.Module
        The trained network; ``history_`` holds skorch's training history.

    Notes
    -----
    With a validation split, early stopping is the ``"early_stopping"`` callback,
    :class:`~skvae.callbacks.RestoreBestEarlyStopping`, set as skorch sets any
    callback: ``callbacks__early_stopping__patience=10`` (the paper's), ``...__min_steps=N``,
    ``...__monitor="valid_acc"``. Without a validation split they raise a ``ValueError``.

    Ctrl-C during ``fit`` stops training and raises ``KeyboardInterrupt`` (after
    the best epoch so far is restored). Plain skorch returns from ``fit`` with
    the half-trained network, and a grid search would keep its scores.

    Examples
    --------
    >>> from skvae import CNNClassifier
    >>> from skvae.datasets import load_digits
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = CNNClassifier(max_epochs=2, random_state=0,
    ...                     module__channels=(8, 8, 8, 8)).fit(X[:200], y[:200])
    >>> clf.predict(X[:3]).shape
    (3,)
    """

    _parameter_constraints: dict = {
        "image_shape": [None, tuple, list],
        "augment": [None, callable],
        "max_epochs": [None, Interval(Integral, 1, None, closed="left")],
        "updates": [None, StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "device": [str, torch.device],
        "precision": [StrOptions({"fp32", "bf16"})],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "module": [type, nn.Module, HasMethods(["forward"]), callable],
        "oversampler": [None, HasMethods(["fit_resample"]), HasMethods(["fit_generate"])],
        "callbacks": [None, list, tuple],
    }

    def __init__(
        self,
        module=PaperCNN,
        *,
        image_shape=None,
        augment=None,
        max_epochs: int | None = None,
        updates="auto",
        validation_fraction: float = 0.0,
        batch_size: int = 32,
        lr: float = 1e-3,
        optimizer=torch.optim.Adam,
        criterion=nn.CrossEntropyLoss,
        device="cpu",
        precision: str = "fp32",
        random_state=None,
        oversampler=None,
        verbose: int = 0,
        **kwargs,
    ) -> None:
        kwargs.setdefault("train_split", None)
        super().__init__(
            module,
            criterion=criterion,
            optimizer=optimizer,
            lr=lr,
            max_epochs=max_epochs,
            batch_size=batch_size,
            device=device,
            verbose=verbose,
            **kwargs,
        )
        self.image_shape = image_shape
        self.augment = augment
        self.updates = updates
        self.validation_fraction = validation_fraction
        self.precision = precision
        self.random_state = random_state
        self.oversampler = oversampler

    def get_default_callbacks(self):
        callbacks = list(self._default_callbacks)
        if self.updates is not None:
            callbacks.append(("lr_scheduler", CosineOverFit()))
        # Always there, so that its settings can be set (skorch refuses settings of
        # absent callbacks); without validation rows it has nothing to act on.
        callbacks.append(("early_stopping", RestoreBestEarlyStopping()))
        return callbacks

    # ------------------------------------------------------------------ fit
    def fit(self, X, y, **fit_params) -> CNNClassifier:
        """Train the network from scratch.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), (n, H, W) or (n, C, H, W)
            Images, values as they are (e.g. in [0, 1]).
        y : array-like of shape (n_samples,)
            Class labels of any type.
        **fit_params
            Passed to skorch (and the module's ``forward``).

        Returns
        -------
        self
        """
        self._validate_constraints()
        self._check_training_settings()
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        self._device = resolve_device(self.device)
        Xt = self._images_from(X, reset=True)
        # y alone: validate_data(X="no_validation") would check "no_validation"'s
        # feature names and warn after a fit on a DataFrame.
        y = column_or_1d(y, warn=True)
        if len(y) != len(Xt):
            raise ValueError(f"X has {len(Xt)} samples but y has {len(y)}.")
        check_classification_targets(y)
        classes, y_encoded = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(
                f"{type(self).__name__} needs at least 2 classes in y, got {len(classes)} class."
            )
        self._n_classes = len(classes)
        seed = draw_seed(self.random_state)
        with seeded_torch(seed):
            self.initialize()
        n_synthetic = self._fit_oversampler(Xt, y_encoded, seed)
        epochs, self.n_updates_planned_ = self._planned_training(y_encoded, n_synthetic)
        self._train_seeded(Xt, y_encoded, seed, epochs=epochs, **fit_params)
        self.classes_inferred_ = classes
        early = dict(self.callbacks_).get("early_stopping")
        restored = early is not None and early.best_epoch_ > 0
        self.best_epoch_ = early.best_epoch_ if restored else len(self.history)
        self.n_epochs_ = len(self.history)
        return self

    def check_settings(self, image_shape: tuple[int, ...], n_classes: int) -> None:
        """Raise on settings no ``fit`` could run with, before any training.

        Builds a clone's network and optimiser for images of ``image_shape``:
        catches bad values, an unavailable device and misspelt parameters
        (``module__*``, ``optimizer__*`` and others skorch checks), and checks
        the ``oversampler``'s settings too. For runs of many fits, such as
        ``skvae reproduce``, which would otherwise fail in every one.
        """
        probe = clone(self)
        probe._validate_constraints()
        probe._check_training_settings()
        probe._device = resolve_device(probe.device)
        probe.image_shape_ = tuple(image_shape)
        probe._n_classes = int(n_classes)
        probe.initialize()
        mixing = as_synthetic_rows(probe.oversampler)
        if mixing is not None:
            mixing.check()
            check_sampler_settings(mixing.sampler)

    def partial_fit(self, X, y, classes=None, **fit_params) -> CNNClassifier:
        """Continue training a fitted network on ``X, y`` (``fit`` if unfitted).

        Runs ``max_epochs`` more epochs (one when it is None) with the same
        early stopping; with ``updates`` set, the cosine runs over the updates
        of those epochs. Labels must be among ``classes_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), (n, H, W) or (n, C, H, W)
        y : array-like of shape (n_samples,)
        classes : ignored
            Present for scikit-learn's API; classes are fixed by the first fit.
        **fit_params
            Passed to skorch.

        Returns
        -------
        self
        """
        if not hasattr(self, "classes_inferred_"):
            return self.fit(X, y, **fit_params)
        self._device = resolve_device(self.device)
        Xt = self._images_from(X, reset=False)
        y = np.asarray(y)
        unknown = np.setdiff1d(y, self.classes_inferred_)
        if len(unknown):
            raise ValueError(f"y holds labels unseen in the first fit: {unknown[:5]}.")
        y_encoded = np.searchsorted(self.classes_inferred_, y)
        n_synthetic = 0
        if self.oversampler is not None:
            n_synthetic = self._fit_oversampler(Xt, y_encoded, draw_seed(self.random_state))
        epochs = 1 if self.max_epochs is None else int(self.max_epochs)
        if self.updates is not None:
            n_rows = self._n_train_real(y_encoded) + n_synthetic
            self.n_updates_planned_ = epochs * self._updates_per_epoch(n_rows)
        self._train_seeded(Xt, y_encoded, draw_seed(self.random_state), epochs=epochs, **fit_params)
        self.n_epochs_ = len(self.history)
        return self

    def _n_train_real(self, y: np.ndarray) -> int:
        """Real training rows of a fit on labels ``y`` (all of them with a custom split)."""
        if self.train_split is not None:
            return len(y)
        _, counts = np.unique(y, return_counts=True)
        return len(y) - sum(_n_valid(int(n), self.validation_fraction) for n in counts)

    def _update_budget(self, n_real: int) -> int:
        """The updates of ``updates``: the int, or the ``"auto"`` rule on ``n_real`` rows."""
        if isinstance(self.updates, str):  # "auto"
            extra = AUTO_AUGMENTED_EXTRA if self.augment is not None else 0
            return AUTO_UPDATES[0] + extra + AUTO_UPDATES[1] * n_real
        return int(self.updates)

    def _updates_per_epoch(self, n_rows: int) -> int:
        return max(1, math.ceil(n_rows / self.batch_size))

    def _planned_training(self, y: np.ndarray, n_synthetic: int) -> tuple[int, int | None]:
        """Epochs of a fit on labels ``y`` and the updates they make (None by epochs)."""
        n_real = self._n_train_real(y)
        per_epoch = self._updates_per_epoch(n_real + n_synthetic)
        if self.updates is None:
            early = dict(self.callbacks_).get("early_stopping")
            min_steps = getattr(early, "min_steps", 0)
            epochs = 0
            if min_steps and self._validates():
                # Room for patience after min_steps, the only epochs that can be restored.
                epochs = math.ceil(int(min_steps) / per_epoch) + int(early.patience)
            return max(int(self.max_epochs), epochs), None
        epochs = math.ceil(self._update_budget(n_real) / per_epoch)
        if self.max_epochs is not None:
            epochs = min(epochs, int(self.max_epochs))
        return epochs, epochs * per_epoch

    def _check_training_settings(self) -> None:
        early = self.get_params_for("callbacks__early_stopping")
        if early and not self._validates():
            settings = ", ".join(f"callbacks__early_stopping__{k}" for k in sorted(early))
            raise ValueError(
                f"{settings} set, but validation_fraction=0 holds no rows out: there is "
                "no early stopping. Set validation_fraction > 0 or drop them."
            )
        if self.updates is None and self.max_epochs is None:
            raise ValueError(
                f"{type(self).__name__}(updates=None) trains by epochs and needs max_epochs, "
                "an int; got max_epochs=None."
            )

    def _validates(self) -> bool:
        return self.validation_fraction > 0 or self.train_split is not None

    def initialize_module(self):
        kwargs = self.get_params_for("module")
        if isinstance(self.module, type):
            kwargs.setdefault("in_shape", self.image_shape_)
            kwargs.setdefault("n_classes", self._n_classes)
        self.module_ = self.initialized_instance(self.module, kwargs)
        # NHWC convolutions run ~1.3x faster on CPU (benchmarks/bench_cnn.py).
        self.module_.to(memory_format=torch.channels_last)
        return self

    def get_split_datasets(self, X, y=None, **fit_params):
        if self.train_split is not None:
            return super().get_split_datasets(X, y, **fit_params)
        valid = _validation_indices(y.cpu().numpy(), self.validation_fraction, self._split_seed)
        self.validation_indices_ = valid
        mask = torch.ones(len(X), dtype=torch.bool)
        mask[torch.as_tensor(valid, dtype=torch.int64)] = False
        mask = mask.to(X.device)
        train = TensorData(*self._with_synthetic(X[mask], y[mask]))
        return train, (TensorData(X[~mask], y[~mask]) if len(valid) else None)

    def train_step_single(self, batch, **fit_params):
        Xi, yi, *weight = batch
        if self.augment is not None:
            generators = getattr(self, "_generators", None)
            Xi = self.augment(Xi, generator=generators["augment"] if generators else None)
        if not weight:
            return super().train_step_single((Xi, yi), **fit_params)
        self._set_training(True)
        y_pred = self.infer(Xi, **fit_params)
        loss = self._weighted_loss(y_pred, yi, weight[0])
        loss.backward()
        return {"loss": loss, "y_pred": y_pred}


#: ``updates="auto"``: ``AUTO_UPDATES[0] + AUTO_UPDATES[1] * n`` updates for ``n``
#: real training rows, chosen on the development set (docs/ablation.md, round 11),
#: and ``AUTO_AUGMENTED_EXTRA`` more with an ``augment``, which converges more
#: slowly (round 12).
AUTO_UPDATES: tuple[int, int] = (2000, 20)
AUTO_AUGMENTED_EXTRA: int = 3000


def _n_valid(n: int, fraction: float) -> int:
    """Validation rows of a class of ``n`` rows: the CNN's rule, at least one."""
    return n_validation_rows(n, fraction, at_least_one=True)


def _validation_indices(y: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Stratified validation rows: ``round(fraction * n_c)``, clipped to [1, n_c - 1]."""
    rng = np.random.RandomState(seed)
    picked = []
    for label in np.unique(y):
        rows = np.flatnonzero(y == label)
        k = _n_valid(len(rows), fraction)
        if k:
            picked.append(rng.choice(rows, size=k, replace=False))
    return np.sort(np.concatenate(picked)) if picked else np.empty(0, dtype=int)


CNNClassifier.__init__.__signature__ = signature_with_skorch_defaults(CNNClassifier.__init__)

"""CNNClassifier: the paper's CNN as a scikit-learn compatible skorch net."""

from __future__ import annotations

import contextlib
import inspect
import math
import signal
import threading
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import clone
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    StrOptions,
    validate_parameter_constraints,
)
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data
from skorch import NeuralNet, NeuralNetClassifier
from skorch.callbacks import EpochTimer, PassthroughScoring, PrintLog
from torch import nn

from ._utils import (
    check_sampler_settings,
    draw_seed,
    flatten_images,
    resolve_device,
    resolve_image_shape,
    square_side,
)
from .callbacks import CosineOverFit, RestoreBestEarlyStopping
from .nn import PaperCNN
from .nn.early_stopping import n_validation_rows
from .nn.seeds import make_generator, seeded_torch
from .synthetic import as_synthetic_rows


@contextlib.contextmanager
def _noting_ctrl_c():
    """Record a Ctrl-C (SIGINT) while the block runs; yields a dict with ``"hit"``.

    skorch's training loop swallows ``KeyboardInterrupt``, the signal callbacks
    use to end training, so a user's Ctrl-C would end ``fit`` as if it had
    finished. Only a handler sees the difference. Python delivers signals to the
    main thread only; elsewhere, or where SIGINT is ignored, nothing is recorded.
    """
    noted = {"hit": False}
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or not callable(previous):
        yield noted
        return

    def handler(signum, frame):
        noted["hit"] = True
        previous(signum, frame)

    signal.signal(signal.SIGINT, handler)
    try:
        yield noted
    finally:
        signal.signal(signal.SIGINT, previous)


class _TensorData(torch.utils.data.Dataset):
    """Whole-array dataset: batches are slices, not per-sample collation.

    ``weight`` (optional) holds a loss weight per row; batches then carry it as a
    third element.
    """

    def __init__(
        self, X: torch.Tensor, y: torch.Tensor | None, weight: torch.Tensor | None = None
    ) -> None:
        self.X, self.y, self.weight = X, y, weight

    def __len__(self) -> int:
        return len(self.X)

    def __getitem__(self, i):
        return self.X[i], (self.y[i] if self.y is not None else torch.empty(0))


class _TensorBatches:
    """Iterate ``(X, y)`` mini-batches by slicing tensors already on the device.

    skorch's default DataLoader collates sample by sample, which costs more
    than the paper's small CNN step on tiny batches.
    """

    def __init__(self, data: _TensorData, batch_size: int, generator=None) -> None:
        self.data, self.batch_size, self.generator = data, batch_size, generator

    def __len__(self) -> int:
        return math.ceil(len(self.data) / self.batch_size)

    def __iter__(self):
        X, y, w = self.data.X, self.data.y, self.data.weight
        n = len(X)
        order = None
        if self.generator is not None:
            order = torch.randperm(n, generator=self.generator).to(X.device)
        for start in range(0, n, self.batch_size):
            if order is None:
                idx = slice(start, start + self.batch_size)
            else:
                idx = order[start : start + self.batch_size]
            if w is None:
                yield X[idx], (y[idx] if y is not None else None)
            else:
                yield X[idx], y[idx], w[idx]


class CNNClassifier(NeuralNetClassifier):
    """The paper's CNN as a scikit-learn classifier (a skorch ``NeuralNetClassifier``).

    Trains :class:`skvae.nn.PaperCNN` with Adam and cross-entropy, with early
    stopping on a stratified validation split drawn from the training data only
    and the best epoch's weights restored, as in Garay-Maestre et al. (2019).
    Validates its input like any scikit-learn estimator and accepts labels of any
    type.

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
        ``min_steps`` sets the training length instead.)
    max_epochs : int, default=100
        Most epochs; raised to the epochs ``min_steps`` needs plus ``patience``
        when that is more. Not used when ``updates`` is set.
    updates : int, "auto" or None, default=None
        Train for a number of optimiser updates instead of epochs, with the
        learning rate falling from ``lr`` to 0 along a cosine over them (the
        ``"lr_scheduler"`` callback, :class:`skvae.callbacks.CosineOverFit`; replace or
        drop it with ``callbacks__lr_scheduler=...``). The updates are rounded
        up to whole epochs (``n_updates_planned_``). ``"auto"`` grows the budget
        with the data: ``2000 + 20 * n`` updates for ``n`` real training rows
        (generated rows add none, so a net with an ``oversampler`` makes as
        many updates as one without). With ``validation_fraction > 0`` early
        stopping may still end training sooner; with ``0`` every labelled row
        trains and the last update's weights are kept. None trains by epochs.
    patience : int, default=10
        Epochs without a better validation score before stopping (the paper: 10).
    min_steps : int, default=0
        Least optimiser updates before early stopping may stop. The restored
        weights also come from an epoch that ended after ``min_steps`` updates:
        on a handful of validation images the loss is often lowest after a few
        epochs, and restoring those weights undoes most of the training.
    validation_fraction : float, default=0.2
        Share of each class held out for early stopping, stratified and drawn
        with ``random_state``. Every class with at least 2 rows gives at least
        one validation row and keeps at least one training row, so 5 rows per
        class work. ``0`` trains for ``max_epochs`` without validation.
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
    Early stopping is the ``"early_stopping"`` callback,
    :class:`~skvae.callbacks.RestoreBestEarlyStopping`; its other settings are
    reached as ``callbacks__early_stopping__monitor="valid_acc"`` (rank epochs by
    validation accuracy instead of loss).

    Ctrl-C during ``fit`` stops training and raises ``KeyboardInterrupt``
    (after the best epoch so far is restored). Plain skorch would return from
    ``fit`` with the half-trained network, so a grid search or
    ``skvae reproduce`` would go on and keep that network's scores.

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
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "updates": [None, StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "patience": [Interval(Integral, 1, None, closed="left")],
        "min_steps": [Interval(Integral, 0, None, closed="left")],
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
        max_epochs: int = 100,
        updates=None,
        patience: int = 10,
        min_steps: int = 0,
        validation_fraction: float = 0.2,
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
        self.patience = patience
        self.min_steps = min_steps
        self.validation_fraction = validation_fraction
        self.precision = precision
        self.random_state = random_state
        self.oversampler = oversampler

    # skorch sets these public attributes in __init__; scikit-learn requires
    # __init__ to set parameters only, so they live under private names.
    def _private(name):  # noqa: N805 - a class-body helper, not a method
        key = "_" + name.rstrip("_")
        return property(
            lambda self: self.__dict__.get(key),
            lambda self, value: self.__dict__.__setitem__(key, value),
        )

    history_ = _private("history_")
    initialized_ = _private("initialized_")
    virtual_params_ = _private("virtual_params_")
    del _private

    def set_params(self, **params) -> CNNClassifier:
        """Set parameters, as skorch's ``set_params``; ``callbacks`` is checked in ``fit``.

        skorch builds the callbacks inside ``set_params``, so a bad ``callbacks``
        value raised there and left the other parameters half set; scikit-learn
        asks estimators to validate in ``fit``. On a net not initialised yet, a
        plain ``callbacks`` list (without ``callbacks__*`` keys) is stored as given.
        """
        if (
            "callbacks" in params
            and not self.initialized_
            and not any(key.startswith("callbacks__") for key in params)
        ):
            self.callbacks = params.pop("callbacks")
        return super().set_params(**params)

    def _get_param_names(self):
        return [k for k in self.__dict__ if not k.startswith("_") and not k.endswith("_")]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.input_tags.allow_nan = False
        tags.non_deterministic = False
        return tags

    @property
    def _default_callbacks(self):
        # No per-epoch accuracy scoring: it would predict the validation set a
        # second time every epoch. Early stopping is added in fit.
        return [
            ("epoch_timer", EpochTimer()),
            ("train_loss", PassthroughScoring(name="train_loss", on_train=True)),
            ("valid_loss", PassthroughScoring(name="valid_loss")),
            ("print_log", PrintLog()),
        ]

    def get_default_callbacks(self):
        callbacks = list(self._default_callbacks)
        if self.updates is not None:
            callbacks.append(("lr_scheduler", CosineOverFit()))
        if self._validates():
            callbacks.append(
                (
                    "early_stopping",
                    RestoreBestEarlyStopping(patience=self.patience, min_steps=self.min_steps),
                )
            )
        return callbacks

    # ---------------------------------------------------------------- input
    def _images_from(self, X, *, reset: bool):
        """Validate ``X`` like scikit-learn and return a float32 image tensor."""
        X, nd_shape = flatten_images(X)
        X = validate_data(
            self, X, reset=reset, dtype=[np.float32, np.float64], ensure_min_samples=1
        )
        if reset:
            self.image_shape_ = self._resolve_shape(nd_shape, X.shape[1])
        elif nd_shape is not None and tuple(nd_shape) != tuple(self.image_shape_):
            raise ValueError(
                f"X holds images of shape {nd_shape} but {type(self).__name__} was "
                f"fitted on images of shape {self.image_shape_}."
            )
        # pandas may hand over read-only arrays, which torch warns about sharing.
        X = np.require(X, requirements="W")
        Xt = torch.as_tensor(X, dtype=torch.float32).reshape(len(X), *self.image_shape_)
        return Xt.to(self._device, memory_format=torch.channels_last)

    def _resolve_shape(self, nd_shape, n_features: int) -> tuple[int, int, int]:
        if self.image_shape is not None:
            shape = resolve_image_shape(self.image_shape, n_features)
            if nd_shape is not None and shape != tuple(nd_shape):
                raise ValueError(
                    f"image_shape={self.image_shape!r} does not match the shape of the "
                    f"images in X, {nd_shape}."
                )
            return shape
        if nd_shape is not None:
            return tuple(int(s) for s in nd_shape)
        side = square_side(n_features)
        return (1, side, side) if side is not None else (1, 1, n_features)

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
        if self.updates is None:
            epochs, self.n_updates_planned_ = self._n_epochs_needed(y_encoded, n_synthetic), None
        else:
            budget = self._update_budget(y_encoded)
            epochs, self.n_updates_planned_ = self._epochs_for_updates(
                y_encoded, n_synthetic, budget
            )
        self._train(Xt, y_encoded, seed, epochs=epochs, **fit_params)
        self.classes_inferred_ = classes
        early = dict(self.callbacks_).get("early_stopping")
        restored = early is not None and early.best_epoch_ > 0
        self.best_epoch_ = early.best_epoch_ if restored else len(self.history)
        self.n_epochs_ = len(self.history)
        return self

    def _validate_constraints(self) -> None:
        # Not skorch's _validate_params, which checks parameter names after initialize.
        validate_parameter_constraints(
            self._parameter_constraints,
            {k: getattr(self, k) for k in self._parameter_constraints},
            caller_name=type(self).__name__,
        )

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

        Runs ``max_epochs`` more epochs with the same early stopping; labels must
        be among ``classes_``.

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
        if self.oversampler is not None:
            self._fit_oversampler(Xt, y_encoded, draw_seed(self.random_state))
        self._train(
            Xt, y_encoded, draw_seed(self.random_state), epochs=self.max_epochs, **fit_params
        )
        self.n_epochs_ = len(self.history)
        return self

    def _train(self, Xt: torch.Tensor, y_encoded: np.ndarray, seed: int, **fit_params) -> None:
        """Run skorch's training loop with seeded split, shuffling and augmentation."""
        yt = torch.as_tensor(y_encoded, dtype=torch.int64).to(self._device)
        seeds = _derived_seeds(seed)
        self._split_seed = int(seeds[0])
        self._generators = {
            "shuffle": make_generator(int(seeds[1])),
            "augment": make_generator(int(seeds[2])),
        }
        self._synthetic_rng = np.random.RandomState(int(seeds[1]))
        self._synthetic_epoch = 0
        self._synthetic_live = getattr(self, "_synthetic", None) is not None
        try:
            with _noting_ctrl_c() as ctrl_c, seeded_torch(int(seeds[3])):
                # (seeded_torch: dropout draws from torch's global RNG)
                super().partial_fit(Xt, yt, **fit_params)
            if ctrl_c["hit"]:
                # Half-trained: stop the caller (a grid, a search) too.
                raise KeyboardInterrupt("CNNClassifier.fit was interrupted")
        finally:
            del self._generators  # torch generators do not pickle
            self.__dict__.pop("_synthetic", None)  # generated rows are not kept

    def _fit_oversampler(self, Xt: torch.Tensor, y_encoded: np.ndarray, seed: int) -> int:
        """Fit the ``oversampler``'s sampler on the real rows; keep the rows it adds."""
        self.__dict__.pop("_synthetic", None)
        self._mixing = as_synthetic_rows(self.oversampler)
        if self._mixing is None:
            return 0
        if self.train_split is not None:
            raise ValueError(
                "oversampler needs the built-in validation split (train_split=None), "
                "so that generated rows never enter the validation rows."
            )
        X_real = Xt.reshape(len(Xt), -1).cpu().numpy()
        X_new, y_new = self._mixing.fit_generate(X_real, y_encoded, seed)
        self.oversampler_ = self._mixing.sampler_
        y_new = y_new.astype(np.int64)
        self.n_synthetic_ = np.bincount(y_new, minlength=self._n_classes)
        self._synthetic = (
            torch.as_tensor(X_new, dtype=torch.float32)
            .reshape(len(X_new), *self.image_shape_)
            .to(self._device, memory_format=torch.channels_last),
            torch.as_tensor(y_new).to(self._device),
        )
        return len(X_new)

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        super().on_epoch_begin(net, dataset_train, dataset_valid, **kwargs)
        live = getattr(self, "_synthetic_live", False) and isinstance(dataset_train, _TensorData)
        if not (live and self._mixing.refresh):
            return
        if self._synthetic_epoch > 0:  # the first epoch uses fit_resample's rows
            n_new = int(self.n_synthetic_.sum())
            if n_new:
                # Overwrite the generated rows at the end of the training split.
                fresh = self._mixing.fresh(self.n_synthetic_, self._synthetic_rng)
                dataset_train.X[-n_new:] = torch.as_tensor(fresh, dtype=torch.float32).reshape(
                    n_new, *self.image_shape_
                )
                dataset_train.y[-n_new:] = torch.as_tensor(
                    np.repeat(np.arange(self._n_classes), self.n_synthetic_)
                ).to(self._device)
        self._synthetic_epoch += 1

    def _n_train_real(self, y: np.ndarray) -> int:
        """Real training rows of a fit on labels ``y`` (all of them with a custom split)."""
        if self.train_split is not None:
            return len(y)
        _, counts = np.unique(y, return_counts=True)
        return len(y) - sum(self._n_valid_of_class(int(n)) for n in counts)

    def _update_budget(self, y: np.ndarray) -> int:
        """The updates of ``updates``: the int, or the ``"auto"`` rule on the real rows."""
        if isinstance(self.updates, str):  # "auto"
            base, per_row = AUTO_UPDATES
            return base + per_row * self._n_train_real(y)
        return int(self.updates)

    def _updates_per_epoch(self, n_rows: int) -> int:
        return max(1, math.ceil(n_rows / self.batch_size))

    def _epochs_for_updates(
        self, y: np.ndarray, n_synthetic: int, n_updates: int
    ) -> tuple[int, int]:
        """Whole epochs that make at least ``n_updates`` updates, and the updates they make."""
        per_epoch = self._updates_per_epoch(self._n_train_real(y) + n_synthetic)
        epochs = math.ceil(n_updates / per_epoch)
        return epochs, epochs * per_epoch

    def _n_epochs_needed(self, y: np.ndarray, n_synthetic: int = 0) -> int:
        epochs, _ = self._epochs_for_updates(y, n_synthetic, int(self.min_steps))
        if self.min_steps and self._validates():
            # Room for patience after min_steps, the only epochs that can be restored.
            epochs += int(self.patience)
        return max(int(self.max_epochs), epochs)

    def _validates(self) -> bool:
        return self.validation_fraction > 0 or self.train_split is not None

    def _n_valid_of_class(self, n: int) -> int:
        """Validation rows of a class of ``n`` rows: the CNN's rule, at least one."""
        return n_validation_rows(n, self.validation_fraction, at_least_one=True)

    def initialize_module(self):
        kwargs = self.get_params_for("module")
        if isinstance(self.module, type):
            kwargs.setdefault("in_shape", self.image_shape_)
            kwargs.setdefault("n_classes", self._n_classes)
        self.module_ = self.initialized_instance(self.module, kwargs)
        # NHWC convolutions run ~1.3x faster on CPU (benchmarks/bench_cnn.py).
        self.module_.to(memory_format=torch.channels_last)
        return self

    def _validation_indices(self, y: np.ndarray) -> np.ndarray:
        """Stratified validation rows: ``round(fraction * n_c)``, clipped to [1, n_c - 1]."""
        rng = np.random.RandomState(self._split_seed)
        picked = []
        for label in np.unique(y):
            rows = np.flatnonzero(y == label)
            k = self._n_valid_of_class(len(rows))
            if k:
                picked.append(rng.choice(rows, size=k, replace=False))
        return np.sort(np.concatenate(picked)) if picked else np.empty(0, dtype=int)

    def get_split_datasets(self, X, y=None, **fit_params):
        if self.train_split is not None:
            return super().get_split_datasets(X, y, **fit_params)
        valid = self._validation_indices(y.cpu().numpy())
        self.validation_indices_ = valid
        mask = torch.ones(len(X), dtype=torch.bool)
        mask[torch.as_tensor(valid, dtype=torch.int64)] = False
        mask = mask.to(X.device)
        X_train, y_train, weight = X[mask], y[mask], None
        synthetic = getattr(self, "_synthetic", None)
        if synthetic is not None:
            X_syn, y_syn = synthetic
            if self._mixing.weight != 1:
                weight = torch.ones(len(X_train) + len(X_syn), device=X.device)
                weight[len(X_train) :] = self._mixing.weight
            X_train = torch.cat([X_train, X_syn]).contiguous(memory_format=torch.channels_last)
            y_train = torch.cat([y_train, y_syn])
        train = _TensorData(X_train, y_train, weight)
        return train, (_TensorData(X[~mask], y[~mask]) if len(valid) else None)

    def get_dataset(self, X, y=None):
        if torch.is_tensor(X):
            return _TensorData(X, y)
        return super().get_dataset(X, y)

    def get_iterator(self, dataset, training=False):
        if isinstance(dataset, _TensorData):
            generators = getattr(self, "_generators", None)
            generator = generators["shuffle"] if training and generators else None
            batch_size = self.batch_size if training else max(self.batch_size, 512)
            return _TensorBatches(dataset, batch_size, generator)
        return super().get_iterator(dataset, training=training)

    def infer(self, x, **fit_params):
        if self.precision != "bf16":
            return super().infer(x, **fit_params)
        device_type = torch.device(self._device).type
        with torch.autocast(device_type, dtype=torch.bfloat16):
            out = super().infer(x, **fit_params)
        return out.float()  # float32 logits for the loss and the probabilities

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

    def _weighted_loss(self, y_pred, y_true, weight: torch.Tensor) -> torch.Tensor:
        """Weighted mean of the criterion's per-row losses."""
        criterion = self.criterion_
        if not hasattr(criterion, "reduction"):
            raise TypeError(
                "SyntheticRows(weight != 1) needs a criterion with a `reduction` attribute "
                f"(as torch's losses have); {type(criterion).__name__} has none."
            )
        reduction, criterion.reduction = criterion.reduction, "none"
        try:
            losses = criterion(y_pred, y_true)
        finally:
            criterion.reduction = reduction
        return (losses * weight).sum() / weight.sum().clamp_min(1e-12)

    # -------------------------------------------------------------- predict
    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), (n, H, W) or (n, C, H, W)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self, "classes_inferred_")
        self._device = resolve_device(self.device)
        Xt = self._images_from(X, reset=False)
        with torch.inference_mode():
            return super().predict_proba(Xt)

    def predict(self, X) -> np.ndarray:
        """Predicted class labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), (n, H, W) or (n, C, H, W)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]


#: ``updates="auto"``: ``AUTO_UPDATES[0] + AUTO_UPDATES[1] * n`` updates for ``n``
#: real training rows (the candidate recipe of docs/ablation.md, round 11).
AUTO_UPDATES: tuple[int, int] = (2000, 20)


def _derived_seeds(seed: int) -> np.ndarray:
    """Seeds of the validation split, shuffling, augmentation and dropout."""
    return np.random.RandomState(seed).randint(2**31 - 1, size=4)


def _signature_with_skorch_defaults(init) -> inspect.Signature:
    """``init``'s signature plus the skorch parameters it takes through ``**kwargs``.

    scikit-learn's repr shows a parameter unless it equals the default in the
    ``__init__`` signature; without their skorch defaults listed, every repr
    (and every ``cv_results_`` entry) showed ``callbacks=None, classes=None,
    compile=False, dataset=...`` that nobody changed.
    """
    own = inspect.signature(init)
    params = [p for p in own.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    taken = {p.name for p in params}
    extra = []
    for base in (NeuralNetClassifier, NeuralNet):
        for p in inspect.signature(base.__init__).parameters.values():
            if p.name in taken or p.default is inspect.Parameter.empty:
                continue
            default = None if p.name == "train_split" else p.default  # CNNClassifier's own
            extra.append(p.replace(kind=inspect.Parameter.KEYWORD_ONLY, default=default))
            taken.add(p.name)
    kwargs = own.parameters["kwargs"]
    return own.replace(parameters=[*params, *extra, kwargs])


CNNClassifier.__init__.__signature__ = _signature_with_skorch_defaults(CNNClassifier.__init__)

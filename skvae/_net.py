"""TensorNet: a skorch classifier that is a well-behaved scikit-learn estimator on images.

What :class:`~skvae.CNNClassifier` needs from skorch beyond the paper's CNN:
parameters that scikit-learn can read and clone, validated image input, whole
tensors batched by slicing instead of collated sample by sample, bfloat16
forward passes, seeded training that a Ctrl-C stops for good.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import signal
import threading

import numpy as np
import torch
from sklearn.utils._param_validation import validate_parameter_constraints
from sklearn.utils.validation import check_is_fitted, validate_data
from skorch import NeuralNet, NeuralNetClassifier
from skorch.callbacks import EpochTimer, PassthroughScoring, PrintLog

from ._utils import flatten_images, resolve_device, resolve_image_shape, square_side
from .nn.seeds import make_generator, seeded_torch


@contextlib.contextmanager
def noting_ctrl_c():
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


class TensorData(torch.utils.data.Dataset):
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


class TensorBatches:
    """Iterate ``(X, y)`` mini-batches by slicing tensors already on the device.

    skorch's default DataLoader collates sample by sample, which costs more
    than the paper's small CNN step on tiny batches.
    """

    def __init__(self, data: TensorData, batch_size: int, generator=None) -> None:
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


def derived_seeds(seed: int) -> np.ndarray:
    """Seeds of the validation split, shuffling, augmentation and dropout."""
    return np.random.RandomState(seed).randint(2**31 - 1, size=4)


class TensorNet(NeuralNetClassifier):
    """A skorch classifier of images that scikit-learn can validate, clone and search.

    Subclasses set ``image_shape``, ``precision``, ``random_state`` and
    ``_parameter_constraints``, and call :meth:`_images_from` and
    :meth:`_train_seeded` from their ``fit``.
    """

    _parameter_constraints: dict = {}

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

    def set_params(self, **params):
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
        # second time every epoch.
        return [
            ("epoch_timer", EpochTimer()),
            ("train_loss", PassthroughScoring(name="train_loss", on_train=True)),
            ("valid_loss", PassthroughScoring(name="valid_loss")),
            ("print_log", PrintLog()),
        ]

    def _validate_constraints(self) -> None:
        # Not skorch's _validate_params, which checks parameter names after initialize.
        validate_parameter_constraints(
            self._parameter_constraints,
            {k: getattr(self, k) for k in self._parameter_constraints},
            caller_name=type(self).__name__,
        )

    # ---------------------------------------------------------------- input
    def _images_from(self, X, *, reset: bool):
        """Validate ``X`` like scikit-learn and return a float32 image tensor."""
        X, nd_shape = flatten_images(X)
        X = validate_data(
            self, X, reset=reset, dtype=[np.float32, np.float64], ensure_min_samples=1
        )
        if reset:
            self.image_shape_ = image_shape_of(self.image_shape, nd_shape, X.shape[1])
        elif nd_shape is not None and tuple(nd_shape) != tuple(self.image_shape_):
            raise ValueError(
                f"X holds images of shape {nd_shape} but {type(self).__name__} was "
                f"fitted on images of shape {self.image_shape_}."
            )
        # pandas may hand over read-only arrays, which torch warns about sharing.
        X = np.require(X, requirements="W")
        Xt = torch.as_tensor(X, dtype=torch.float32).reshape(len(X), *self.image_shape_)
        return Xt.to(self._device, memory_format=torch.channels_last)

    # ---------------------------------------------------------------- train
    def _train_seeded(
        self, Xt: torch.Tensor, y_encoded: np.ndarray, seed: int, **fit_params
    ) -> None:
        """Run skorch's training loop with seeded split, shuffling, augmentation, dropout."""
        yt = torch.as_tensor(y_encoded, dtype=torch.int64).to(self._device)
        seeds = derived_seeds(seed)
        self._split_seed = int(seeds[0])
        self._generators = {
            "shuffle": make_generator(int(seeds[1])),
            "augment": make_generator(int(seeds[2])),
        }
        self._on_train_seeded(int(seeds[1]))
        try:
            with noting_ctrl_c() as ctrl_c, seeded_torch(int(seeds[3])):
                # (seeded_torch: dropout draws from torch's global RNG)
                super().partial_fit(Xt, yt, **fit_params)
            if ctrl_c["hit"]:
                # Half-trained: stop the caller (a grid, a search) too.
                raise KeyboardInterrupt(f"{type(self).__name__}.fit was interrupted")
        finally:
            del self._generators  # torch generators do not pickle
            self._on_train_done()

    def _on_train_seeded(self, seed: int) -> None:
        """Hook: training is about to start; ``seed`` is the shuffling stream's."""

    def _on_train_done(self) -> None:
        """Hook: training ended, normally or not."""

    def get_dataset(self, X, y=None):
        if torch.is_tensor(X):
            return TensorData(X, y)
        return super().get_dataset(X, y)

    def get_iterator(self, dataset, training=False):
        if isinstance(dataset, TensorData):
            generators = getattr(self, "_generators", None)
            generator = generators["shuffle"] if training and generators else None
            batch_size = self.batch_size if training else max(self.batch_size, 512)
            return TensorBatches(dataset, batch_size, generator)
        return super().get_iterator(dataset, training=training)

    def infer(self, x, **fit_params):
        if self.precision != "bf16":
            return super().infer(x, **fit_params)
        device_type = torch.device(self._device).type
        with torch.autocast(device_type, dtype=torch.bfloat16):
            out = super().infer(x, **fit_params)
        return out.float()  # float32 logits for the loss and the probabilities

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


def image_shape_of(image_shape, nd_shape, n_features: int) -> tuple[int, int, int]:
    """The ``(C, H, W)`` a net reads rows as: its ``image_shape`` setting, else ``X``'s own.

    ``nd_shape`` is the shape of the images when ``X`` came as an image array.
    Flat rows without a setting are square one-channel images when
    ``n_features`` is a perfect square, ``1 x n_features`` images otherwise.
    """
    if image_shape is not None:
        shape = resolve_image_shape(image_shape, n_features)
        if nd_shape is not None and shape != tuple(nd_shape):
            raise ValueError(
                f"image_shape={image_shape!r} does not match the shape of the "
                f"images in X, {nd_shape}."
            )
        return shape
    if nd_shape is not None:
        return tuple(int(s) for s in nd_shape)
    side = square_side(n_features)
    return (1, side, side) if side is not None else (1, 1, n_features)


def signature_with_skorch_defaults(init) -> inspect.Signature:
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
            default = None if p.name == "train_split" else p.default  # TensorNet's own
            extra.append(p.replace(kind=inspect.Parameter.KEYWORD_ONLY, default=default))
            taken.add(p.name)
    kwargs = own.parameters["kwargs"]
    return own.replace(parameters=[*params, *extra, kwargs])

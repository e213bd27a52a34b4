"""VAEOversampler: one VAE per class behind imbalanced-learn's ``fit_resample``."""

from __future__ import annotations

from collections import Counter, OrderedDict
from dataclasses import asdict
from numbers import Integral, Real

import numpy as np
import torch
from imblearn.over_sampling.base import BaseOverSampler
from imblearn.utils import check_sampling_strategy, check_target_type
from imblearn.utils._validation import ArraysTransformer
from sklearn.base import _fit_context, clone
from sklearn.preprocessing import label_binarize
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, check_memory, validate_data

from ._categorical import (
    decode,
    encode,
    fit_categories,
    one_hot_groups,
    resolve_categorical_features,
)
from ._network import VAE_PARAMETER_CONSTRAINTS, make_vae, read_image_shape, resolve_training
from ._removed import RejectsRemovedParameters
from ._utils import draw_seed, flatten_images, plain_label, resolve_device
from .generation import make_generation
from .nn import VAE
from .nn.fitting import (
    VAETraining,
    fit_class_vaes,
    fit_conditional_vae,
    fit_vae,
    from_vae_units,
    to_vae_units,
)
from .nn.seeds import seeded_torch

_IMBLEARN_STRATEGIES = {"auto", "minority", "not minority", "not majority", "all"}

#: What a fit_resample learns, dropped by the next fit or fit_resample; some
#: (``filter_acceptance_``) exist only with some parameters.
_FITTED = (
    "image_shape_",
    "categorical_features_",
    "categories_",
    "classes_",
    "vaes_",
    "histories_",
    "scalers_",
    "generation_",
    "filter_",
    "filter_acceptance_",
)


class VAEOversampler(RejectsRemovedParameters, BaseOverSampler):
    """Over-sample every class with its own variational auto-encoder.

    The method of Garay-Maestre, Gallego and Calvo-Zaragoza (2019), "Data
    Augmentation via Variational Auto-Encoders": one VAE is trained on each
    class's rows only; decoding codes drawn from its latent space gives new rows
    that carry that class's label.

    Parameters
    ----------
    latent : int, default=3
        Size of each VAE's latent space (the paper: 2, 3, 4 or 8).
    sampling_strategy : "augment", float, str, dict or callable, default="augment"
        How many rows to generate per class.

        - ``"augment"`` (default, skvae's own): every class ends with
          ``n_max + extra`` rows, ``n_max`` being the largest class count and
          ``extra`` set by ``augment_size``. On balanced data (the paper's case)
          this adds ``extra`` rows to every class; on imbalanced data it balances
          first, then adds ``extra``. It never resamples nothing.
        - anything else is passed to imbalanced-learn and keeps its semantics
          exactly (``"auto"``, ``"minority"``, ``"not minority"``,
          ``"not majority"``, ``"all"``, a float for binary problems, a dict
          ``{class: n_samples_after}``, or a callable ``y -> dict``). Note that
          on balanced data these add nothing.
    augment_size : int or float, default=1.0
        ``extra`` for ``sampling_strategy="augment"``: an ``int`` is a number of
        synthetic rows per class, a ``float`` a multiple of ``n_max`` (``1.0``
        doubles a balanced data set). Ignored by other strategies.
    image_shape : "auto", None or tuple of int, default="auto"
        How to read a row of ``X``: ``(H, W)`` or ``(C, H, W)``, channels first,
        with even ``H`` and ``W``; the data must lie in [0, 1]. ``"auto"`` reads
        rows as square one-channel images when ``n_features`` is the square of an
        even number of at least 8 and every value lies in [0, 1] (MNIST's 784,
        digits' 64), and as tabular features otherwise: 16 or 36 min-max scaled
        features stay a table, not a 4 x 4 or 6 x 6 image; unscaled 8-bit pixels
        (whole numbers in [0, 255]) stay a table too, with a warning. ``None``
        always means tabular.
    vae : {"auto", "conv", "mlp", "conditional"} or callable, default="auto"
        The network. ``"conv"`` is the paper's :class:`~skvae.nn.ConvVAE`
        (needs an image shape), ``"mlp"`` an :class:`~skvae.nn.MLPVAE` with a
        Gaussian likelihood on standardised features, ``"auto"`` picks by
        ``image_shape``. ``"conditional"`` trains one conditional VAE
        (:class:`~skvae.nn.ConditionalConvVAE` or
        :class:`~skvae.nn.ConditionalMLPVAE`) on the rows of all classes, also
        those of a class that gets no new rows, instead of one VAE per class
        (the paper); see the user guide. A callable
        ``vae(input_shape, latent) -> skvae.nn.VAE`` brings one's own encoder
        and decoder (see :class:`skvae.nn.VAE`); a ``"bernoulli"`` likelihood
        needs data in [0, 1], a ``"gaussian"`` one is fed standardised features.
    training : dict, VAETraining or None, default=None
        How each VAE trains: a :class:`~skvae.nn.fitting.VAETraining` (also
        ``skvae.VAETraining``), or a dict of some of its fields over the
        defaults, e.g. ``{"max_epochs": 50, "lr": 3e-4}``. None is the paper's
        recipe: RMSprop at 1e-3, mini-batches of 100, early stopping with
        patience 20 on 15 % of each class's rows, at most 200 epochs, KL weight 1.
    generation : {"decode", "sample", "posterior", "residual"} or strategy, default="decode"
        How a class's trained VAE makes rows, a strategy of :mod:`skvae.generation`:
        ``"decode"`` :class:`~skvae.generation.Decode` (the paper: decoded prior
        draws; ``Decode(latent_sampler="uniform")`` is the authors' code),
        ``"sample"`` :class:`~skvae.generation.LikelihoodSample` (tabular data:
        the likelihood's draws), ``"posterior"`` :class:`~skvae.generation.Posterior`
        (decoded draws around real rows' codes), ``"residual"``
        :class:`~skvae.generation.Residual` (real rows plus a learned change).
        A clone is fitted per class by ``fit_resample`` (``generation_``) after
        the VAEs train, so ``memory`` ignores it.
    categorical_features : array-like of int or bool, or None, default=None
        Columns of ``X`` holding category codes (numbers, e.g. from an
        ``OrdinalEncoder``), as indices or a boolean mask, like ``SMOTENC``'s.
        The VAE models each as a one-hot group with a categorical likelihood
        beside the Gaussian of the standardised other columns; a new row takes
        each column's most probable category (``generation="sample"`` draws
        it), always one seen in ``X``. Tabular rows and ``vae`` ``"auto"``,
        ``"mlp"`` or ``"conditional"`` only. None: all columns continuous.
    filter : ClassifierFilter or None, default=None
        Keep only generated rows that a classifier of the real rows assigns to
        their class (:class:`~skvae.generation.ClassifierFilter`); None keeps all.
    device : str, default="cpu"
        ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"``. Fitted VAEs are kept on
        the CPU, so a sampler fitted on a GPU pickles and loads anywhere.
    memory : str, object with the joblib.Memory interface or None, default=None
        Cache of the trained class-VAEs (a directory or a :class:`joblib.Memory`),
        as in ``Pipeline(memory=...)``: a ``fit_resample`` with the same rows,
        VAE settings and ``random_state`` loads them and returns what training
        would. ``generation``, ``filter`` and ``verbose`` are not in the key.
        None (default) caches nothing. A ``vae`` callable must pickle.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, splits, training noise and generation. The same
        value gives the same output on CPU; global RNG state is left untouched.
    verbose : int, default=0
        ``1`` prints one line per class, ``2`` also every epoch.

    Attributes
    ----------
    sampling_strategy_ : OrderedDict
        Number of rows generated per class.
    classes_ : ndarray
        Sorted class labels.
    vaes_ : dict
        Fitted :class:`skvae.nn.VAE` (on the CPU, in eval mode) per class that
        ``sampling_strategy_`` gives rows to generate. A class it leaves alone
        (e.g. the majority class with ``"auto"``) gets no VAE: training one
        would cost the most there and generate nothing. With
        ``vae="conditional"``, each is a :class:`~skvae.nn.ClassConditionedVAE`,
        a view of the one shared model.
    histories_ : dict
        Per class in ``vaes_``, the :class:`skvae.nn.TrainResult` of its training
        (with ``vae="conditional"``, the shared model's, the same for every class).
    generation_ : dict
        Per class in ``vaes_``, the generation strategy fitted on its VAE.
    filter_ : ClassifierFilter or None
        The fitted ``filter`` (None without).
    filter_acceptance_ : dict
        Per class, the share of drawn rows the filter kept in ``fit_resample``
        (only with ``filter``).
    n_features_in_ : int
        Number of features seen during fit.
    image_shape_ : tuple of int or None
        The image shape used, or ``None`` for tabular data.
    categorical_features_ : ndarray of int
        Indices of the categorical columns (empty without).
    categories_ : list of ndarray
        The categories of each column of ``categorical_features_``, sorted.

    See Also
    --------
    skvae.nn.fitting.fit_class_vaes : the training of the class-VAEs, on arrays.

    Examples
    --------
    >>> from skvae import VAEOversampler
    >>> from skvae.datasets import load_digits
    >>> X, y = load_digits(return_X_y=True)
    >>> X, y = X[:100], y[:100]
    >>> sampler = VAEOversampler(latent=2, training={"max_epochs": 2},
    ...                          augment_size=3, random_state=0)
    >>> X_res, y_res = sampler.fit_resample(X, y)
    >>> X_res.shape  # every class up to the largest (12), then 3 more each
    (150, 64)
    >>> sampler.sample(5, y[0]).shape
    (5, 64)
    """

    _parameter_constraints: dict = {
        **VAE_PARAMETER_CONSTRAINTS,
        "sampling_strategy": [
            Interval(Real, 0, 1, closed="right"),
            StrOptions(_IMBLEARN_STRATEGIES | {"augment"}),
            dict,
            callable,
        ],
        "augment_size": [
            Interval(Integral, 0, None, closed="left"),
            Interval(Real, 0, None, closed="left"),
        ],
        "vae": [StrOptions({"auto", "conv", "mlp", "conditional"}), callable],
        "generation": [
            StrOptions({"decode", "sample", "posterior", "residual"}),
            HasMethods(["check", "fit", "generate"]),
        ],
        "categorical_features": [None, "array-like"],
        "filter": [None, HasMethods(["fit", "select"])],
        "memory": [None, str, HasMethods(["cache"])],
    }

    def __init__(
        self,
        latent: int = 3,
        *,
        sampling_strategy="augment",
        augment_size: int | float = 1.0,
        image_shape="auto",
        vae="auto",
        training=None,
        generation="decode",
        categorical_features=None,
        filter=None,
        device="cpu",
        memory=None,
        random_state=None,
        verbose: int = 0,
    ) -> None:
        super().__init__(sampling_strategy=sampling_strategy)
        self.latent = latent
        self.augment_size = augment_size
        self.image_shape = image_shape
        self.vae = vae
        self.training = training
        self.generation = generation
        self.categorical_features = categorical_features
        self.filter = filter
        self.device = device
        self.memory = memory
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ API
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, **params) -> VAEOversampler:
        """Validate the input and compute ``sampling_strategy_`` (no training).

        Use :meth:`fit_resample`; ``fit`` exists for imbalanced-learn's API.
        """
        X, y, _ = self._check_X_y(X, y)
        X, y, _ = self._labelled(X, y)
        # No VAEs are trained here: drop an earlier fit_resample's, so that
        # sample() cannot answer with models of other data.
        self._forget_fit()
        self.sampling_strategy_ = self._sampling_targets(y)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_resample(self, X, y, **params):
        """Train one VAE per class to over-sample; return the data with generated rows added.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), (n, H, W) or (n, C, H, W)
            Training rows (numpy, pandas or lists), or an image array as
            :class:`~skvae.CNNClassifier` takes it: its images are read with the
            array's own shape (with ``image_shape="auto"``) and returned as rows
            of ``C * H * W`` values, as imbalanced-learn's samplers return 2-D ``X``.
        y : array-like of shape (n_samples,)
            Class labels.

        Returns
        -------
        X_resampled : array-like of shape (n_samples_new, n_features)
            The original rows first, then the generated rows class by class in
            sorted class order; same container as ``X``. float32 ``X`` stays
            float32, any other dtype (e.g. uint8 pixels) comes back float64.
        y_resampled : array-like of shape (n_samples_new,)
            The matching labels.
        """
        check_classification_targets(y)
        arrays_transformer = ArraysTransformer(X, y)
        X, y, binarize_y = self._check_X_y(X, y)
        X, y, X_unlabeled = self._labelled(X, y)
        self.sampling_strategy_ = self._sampling_targets(y)
        X_res, y_res = self._fit_resample(X, y, X_unlabeled=X_unlabeled)
        if binarize_y:
            y_res = label_binarize(y_res, classes=np.unique(y))
        return arrays_transformer.transform(X_res, y_res)

    def sample(self, n_samples: int, class_label, random_state=None) -> np.ndarray:
        """Generate ``n_samples`` rows of one class with the fitted VAE.

        Parameters
        ----------
        n_samples : int
            Number of rows to generate.
        class_label : object
            A label seen during fit.
        random_state : int, RandomState instance or None, default=None
            Seeds the latent draws.

        Returns
        -------
        ndarray of shape (n_samples, n_features), float32
            With a ``filter``, the rows it accepts (see
            :class:`~skvae.generation.ClassifierFilter`).
        """
        n_samples = _check_sample_request(self, n_samples, class_label)
        rng = np.random.RandomState(draw_seed(random_state))
        return self._generate(n_samples, class_label, rng)[0]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Dense, finite, numeric rows only: a VAE cannot train on sparse, NaN or text.
        tags.input_tags.sparse = False
        tags.input_tags.allow_nan = False
        tags.input_tags.string = False
        return tags

    def check_settings(self) -> None:
        """Raise on settings no fit could run with, before any data.

        Checks the values of every parameter, the fields of ``training``, the
        device, and the settings of the ``generation`` strategy and the
        ``filter``. A grid of many fits calls it once up front instead of
        failing in each.
        """
        self._validate_params()
        _checked_settings(self)

    # ------------------------------------------------------------ internals
    def _forget_fit(self) -> None:
        for name in _FITTED:
            self.__dict__.pop(name, None)

    def _check_X_y(self, X, y, accept_sparse=None):
        y, binarize_y = check_target_type(y, indicate_one_vs_all=True)
        # Image arrays, as CNNClassifier takes them, become rows: imbalanced-learn's
        # samplers take and return 2-D X.
        X, self._array_image_shape = flatten_images(X)
        X, y = validate_data(
            self,
            X=X,
            y=y,
            reset=True,
            accept_sparse=False,
            dtype=[np.float64, np.float32],
            ensure_min_samples=2,
        )
        n_classes = len(np.unique(y))
        if n_classes < 2:
            raise ValueError(
                f"VAEOversampler needs at least 2 classes in y, got {n_classes} class."
            )
        return X, y, binarize_y

    def _labelled(self, X, y) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """The labelled rows and labels, and the unlabelled rows (None: every row has a label)."""
        return X, y, None

    def _sampling_targets(self, y) -> OrderedDict:
        """Rows to generate per class, sorted by class."""
        if isinstance(self.sampling_strategy, str) and self.sampling_strategy == "augment":
            targets = _augment_targets(y, self.augment_size)
        else:
            strategy = check_sampling_strategy(self.sampling_strategy, y, self._sampling_type)
            targets = strategy.items()
        return OrderedDict((plain_label(c), n) for c, n in targets)

    def _fit_resample(self, X, y, X_unlabeled=None, **params):
        training, device, generation = _checked_settings(self)
        rng = np.random.RandomState(draw_seed(self.random_state))
        self._forget_fit()
        self.image_shape_ = read_image_shape(
            X, self.image_shape, getattr(self, "_array_image_shape", None)
        )
        self.classes_ = np.unique(y)
        X_vae, groups = _categories_as_one_hot(self, _stacked(X, X_unlabeled))
        X_vae, X_vae_unlabeled = X_vae[: len(X)], (None if X_unlabeled is None else X_vae[len(X) :])
        # Fail before training, not after: does the strategy suit this network?
        with seeded_torch(0):
            generation.check(_probe_vae(self, X_vae.shape[1], groups))
        train = _train_vaes
        if self.memory is not None:
            train = check_memory(self.memory).cache(_train_vaes, ignore=["verbose"])
        # The key of memory: what shapes the trained VAEs (besides rows and stream).
        settings = {"latent": self.latent, "vae": self.vae, **asdict(training)}
        if groups:
            settings["categorical"] = groups
        state = rng.get_state()
        strategy, shape = self.sampling_strategy_, self.image_shape_
        args = (settings, X_vae, y, strategy, shape, device, state, X_vae_unlabeled)
        kwargs = dict(verbose=self.verbose)
        if self.verbose and _in_cache(train, args, kwargs):
            print("[VAEOversampler] class-VAEs loaded from memory (same rows and settings)")
        fitted, rng_state = train(*args, **kwargs)
        rng.set_state(rng_state)  # generation goes on from where training left the stream
        self.vaes_, self.histories_, self.scalers_, self.generation_ = {}, {}, {}, {}
        for label, (vae, result, rows, codes, scaler) in fitted.items():
            self.vaes_[label], self.histories_[label] = vae, result
            if scaler is not None:
                self.scalers_[label] = scaler
            self.generation_[label] = clone(generation, safe=False).fit(vae, rows, codes)
        self.filter_ = None
        if self.filter is not None:
            self.filter_ = clone(self.filter, safe=False).fit(X, y)
            self.filter_acceptance_ = {}
        return self._resampled(X, y, rng)

    def _resampled(self, X, y, rng) -> tuple[np.ndarray, np.ndarray]:
        """``X, y`` followed by the generated rows of each class, in class order."""
        X_parts, y_parts = [X], [y]
        for label, n_new in self.sampling_strategy_.items():
            if n_new <= 0:
                continue
            rows, acceptance = self._generate(n_new, label, rng)
            if acceptance is not None:
                self.filter_acceptance_[label] = acceptance
            X_parts.append(rows.astype(X.dtype))
            y_parts.append(np.full(n_new, label, dtype=y.dtype))
        return np.concatenate(X_parts), np.concatenate(y_parts)

    def _generate(self, n_samples: int, label, rng) -> tuple[np.ndarray, float | None]:
        """``n_samples`` new rows of one class, filtered if ``filter_``; and the acceptance."""
        if getattr(self, "filter_", None) is None:
            return self._draw(n_samples, label, rng), None
        return self.filter_.select(lambda k: self._draw(k, label, rng), n_samples, label)

    def _draw(self, n_samples: int, label, rng) -> np.ndarray:
        """``n_samples`` rows from the class's generation strategy, in the data's units."""
        if n_samples == 0:  # draws nothing, so the generator's stream is untouched
            return np.empty((0, self.n_features_in_), dtype=np.float32)
        out = self.generation_[label].generate(n_samples, rng)
        out = from_vae_units(out, self.scalers_.get(label))
        if len(getattr(self, "categorical_features_", ())):
            out = decode(out, self.categorical_features_, self.categories_, self.n_features_in_)
        return out.astype(np.float32, copy=False)


def _checked_settings(sampler: VAEOversampler):
    """The resolved training, device and generation strategy; raise on bad ones."""
    training = resolve_training(sampler.training, type(sampler).__name__)
    device = resolve_device(sampler.device)
    generation = make_generation(sampler.generation)
    generation.check()
    if sampler.filter is not None and hasattr(sampler.filter, "check"):
        sampler.filter.check()
    return training, device, generation


def _probe_vae(sampler: VAEOversampler, n_features: int, groups: tuple) -> VAE:
    """An untrained network of the kind each class of a fit generates with."""
    conditional = sampler.vae == "conditional"
    vae = make_vae(
        sampler.vae,
        sampler.latent,
        sampler.image_shape_,
        n_features,
        n_classes=len(sampler.classes_) if conditional else None,
        image_shape_setting=sampler.image_shape,
        categorical=groups,
    )
    return vae.for_class(0) if conditional else vae


def _categories_as_one_hot(sampler: VAEOversampler, X: np.ndarray) -> tuple[np.ndarray, tuple]:
    """The rows the VAEs train on and their one-hot groups; sets the categorical attributes."""
    columns = resolve_categorical_features(sampler.categorical_features, X.shape[1])
    sampler.categorical_features_ = columns
    sampler.categories_ = fit_categories(X, columns)
    if not len(columns):
        return X, ()
    # make_vae refuses the networks that cannot model the groups (before training).
    encoded = encode(X, columns, sampler.categories_)
    return encoded, one_hot_groups(X.shape[1], sampler.categories_)


def _stacked(X: np.ndarray, X_unlabeled: np.ndarray | None) -> np.ndarray:
    return X if X_unlabeled is None else np.concatenate([X, X_unlabeled])


def _augment_targets(y, augment_size) -> list[tuple]:
    """``sampling_strategy="augment"``: each class up to ``n_max + extra`` rows."""
    counts = Counter(y)
    n_max = max(counts.values())
    if isinstance(augment_size, Integral):
        extra = int(augment_size)
    else:
        extra = int(round(float(augment_size) * n_max))
    return [(c, n_max + extra - counts[c]) for c in sorted(counts)]


def _check_sample_request(sampler: VAEOversampler, n_samples, class_label) -> int:
    """``n_samples`` as an int, after checking that ``sampler`` can make them."""
    check_is_fitted(
        sampler,
        "vaes_",
        msg=(
            "This %(name)s has no trained VAEs: call fit_resample first (fit only "
            "validates the input, as in imbalanced-learn)."
        ),
    )
    if class_label not in sampler.vaes_:
        if class_label in sampler.classes_:
            raise ValueError(
                f"No VAE was trained for class {plain_label(class_label)!r}: sampling_strategy="
                f"{sampler.sampling_strategy!r} (augment_size={sampler.augment_size!r}) gave "
                "it no rows to generate. The classes with a VAE are "
                f"{[c for c in sampler.classes_.tolist() if c in sampler.vaes_]}; "
                "sampling_strategy='augment' with augment_size > 0 trains one for "
                "every class."
            )
        raise ValueError(
            f"Unknown class {plain_label(class_label)!r}; the fitted classes are "
            f"{sampler.classes_.tolist()}."
        )
    if not isinstance(n_samples, Integral) or isinstance(n_samples, bool):
        raise TypeError(f"n_samples must be an integer, got {n_samples!r}.")
    if n_samples < 0:
        raise ValueError(f"n_samples must be >= 0, got {n_samples}.")
    return int(n_samples)


def _train_vaes(
    settings: dict,
    X: np.ndarray,
    y: np.ndarray,
    sampling_strategy: OrderedDict,
    image_shape,
    device: torch.device,
    rng_state: tuple,
    X_unlabeled: np.ndarray | None = None,
    *,
    verbose: int = 0,
) -> tuple[dict, tuple]:
    """Train the VAEs of every class to generate for; the stream's state after.

    ``settings`` holds ``latent``, ``vae`` and the fields of
    :class:`~skvae.nn.fitting.VAETraining`. Returns ``{label: (vae, result,
    rows, codes, scaler)}``, ``rows`` being the class's rows in the VAE's
    units. With ``X_unlabeled`` (an array, maybe empty), one VAE trains on every
    row, labelled or not, and each class gets it with its own rows and codes.
    A module-level function of plain arguments, so that ``joblib.Memory`` can
    hash a call and cache its result.
    """
    settings = dict(settings)
    vae, latent = settings.pop("vae"), settings.pop("latent")
    categorical = settings.pop("categorical", ())
    training = VAETraining(**settings)

    def build(n_classes: int | None = None) -> VAE:
        return make_vae(
            vae, latent, image_shape, X.shape[1], n_classes=n_classes, categorical=categorical
        )

    rng = np.random.RandomState()
    rng.set_state(rng_state)
    classes = np.unique(y)
    targets = [label for label in classes if sampling_strategy.get(label, 0)]
    show = _epoch_printer(verbose)
    if vae == "conditional" or X_unlabeled is not None:
        seed = int(rng.randint(2**31 - 1))
        fitted = {}
        common = (targets, seed, training, device, verbose)
        if targets and X_unlabeled is not None:
            fitted = _train_shared(build, X, y, X_unlabeled, *common)
        elif targets:
            fitted = _train_conditional(build, X, y, *common)
        return fitted, rng.get_state()
    # One seed per class, drawn for every class, so that a class's VAE does
    # not depend on which other classes get one.
    seeds = {label: int(rng.randint(2**31 - 1)) for label in classes}
    seeds = {label: seed for label, seed in seeds.items() if sampling_strategy.get(label, 0)}
    models = fit_class_vaes(
        build,
        X,
        y,
        seeds,
        training,
        device=device,
        callback=None if show is None else (lambda label, e: show(f"class {label!r}", e)),
    )
    fitted = {}
    for label, model in models.items():
        if verbose:
            _print_fit(f"class {plain_label(label)!r}", model)
        rows = to_vae_units(X[y == label], model.scaler)
        fitted[label] = (model.vae, model.result, rows, model.codes, model.scaler)
    return fitted, rng.get_state()


def _train_conditional(build, X, y, targets, seed, training, device, verbose) -> dict:
    """Train one conditional VAE on every class; per class to generate for, its view."""
    classes = np.unique(y)
    show = _epoch_printer(verbose)
    model = fit_conditional_vae(
        lambda: build(n_classes=len(classes)),
        X,
        np.searchsorted(classes, y),
        seed,
        training,
        device=device,
        callback=None if show is None else (lambda e: show("conditional VAE", e)),
    )
    if verbose:
        _print_fit(f"conditional VAE on {len(classes)} classes", model)

    def view(label):
        return model.vae.for_class(int(np.searchsorted(classes, label)))

    return _per_class(model, view, X, y, targets)


def _train_shared(build, X, y, X_unlabeled, targets, seed, training, device, verbose) -> dict:
    """Train one VAE on the rows of every class and the unlabelled ones; per class, its rows."""
    show = _epoch_printer(verbose)
    model = fit_vae(
        build,
        np.concatenate([X, X_unlabeled]),
        seed,
        training,
        device=device,
        callback=None if show is None else (lambda e: show("shared VAE", e)),
    )
    if verbose:
        _print_fit(f"shared VAE on {len(X)} labelled and {len(X_unlabeled)} unlabelled rows", model)
    # The labelled rows come first, so their codes are the first len(X).
    return _per_class(model, lambda label: model.vae, X, y, targets)


def _per_class(model, vae_of, X, y, targets) -> dict:
    """Per class to generate for, one model's ``(vae, result, rows, codes, scaler)``."""
    fitted = {}
    for label in targets:
        members = np.flatnonzero(y == label)
        rows = to_vae_units(X[members], model.scaler)
        codes = model.codes[members]
        fitted[label] = (vae_of(label), model.result, rows, codes, model.scaler)
    return fitted


def _epoch_printer(verbose: int):
    """The per-epoch printer of ``verbose=2``, or None."""
    if not (verbose and verbose > 1):
        return None

    def show(name: str, entry: dict) -> None:
        print(f"[VAEOversampler] {name} {entry}")

    return show


def _print_fit(name: str, model) -> None:
    """The ``verbose`` summary line of one VAE's training."""
    result = model.result
    print(
        f"[VAEOversampler] {name}: {model.n_train} train / {model.n_valid} valid rows, "
        f"{len(result.history)} epochs, {result.n_steps} steps, best loss "
        f"{result.best_loss:.4g} at epoch {result.best_epoch} ({model.seconds:.1f}s)"
    )


def _in_cache(cached, args: tuple, kwargs: dict) -> bool:
    """Whether a ``memory.cache`` function holds this call (False if it cannot say)."""
    check = getattr(cached, "check_call_in_cache", None)
    return bool(check(*args, **kwargs)) if check is not None else False

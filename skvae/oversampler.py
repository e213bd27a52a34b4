"""VAEOversampler: one VAE per class behind imbalanced-learn's ``fit_resample``."""

from __future__ import annotations

import time
import warnings
from collections import Counter, OrderedDict
from numbers import Integral, Real

import numpy as np
import torch
from imblearn.over_sampling.base import BaseOverSampler
from imblearn.utils import check_sampling_strategy, check_target_type
from imblearn.utils._validation import ArraysTransformer
from sklearn.base import _fit_context, clone
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import label_binarize
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, check_memory, validate_data

from ._utils import (
    draw_seed,
    flatten_images,
    make_generator,
    plain_label,
    resolve_device,
    resolve_image_shape,
    seeded_torch,
    square_side,
)
from .latent import make_latent_sampler
from .nn import (
    MLPVAE,
    VAE,
    ConditionalConvVAE,
    ConditionalMLPVAE,
    ConvVAE,
    train_vae,
    train_vaes_batched,
)
from .nn.batched import batchable
from .nn.early_stopping import n_validation_rows

_IMBLEARN_STRATEGIES = {"auto", "minority", "not minority", "not majority", "all"}
# Smallest side that image_shape="auto" reads as a square image.
_MIN_AUTO_SIDE = 8


def _looks_like_pixels(X: np.ndarray) -> bool:
    """Whole numbers in [0, 255] beyond 1: probably unscaled 8-bit pixels."""
    return bool(X.min() >= 0 and 1 < X.max() <= 255 and np.all(np.mod(X, 1) == 0))


class VAEOversampler(BaseOverSampler):
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
    vae : {"auto", "conv", "mlp"} or callable, default="auto"
        The network. ``"conv"`` is the paper's :class:`~skvae.nn.ConvVAE`
        (needs an image shape), ``"mlp"`` an :class:`~skvae.nn.MLPVAE` with a
        Gaussian likelihood on standardised features, ``"auto"`` picks by
        ``image_shape``. A callable ``vae(input_shape, latent) -> skvae.nn.VAE``
        brings one's own encoder and decoder (see :class:`skvae.nn.VAE`); a
        ``"bernoulli"`` likelihood needs data in [0, 1], a ``"gaussian"`` one is
        fed standardised features.
    beta : float, default=1.0
        Weight of the KL term in the ELBO.
    max_epochs : int, default=200
        Most epochs per class-VAE (unless ``min_steps`` needs more).
    min_steps : int, default=0
        Least optimiser steps per class-VAE before early stopping may stop. A
        class of 4 images makes one step per epoch; epochs alone under-train it.
    patience : int, default=20
        Epochs without improvement of the validation loss before stopping.
    lr : float, default=1e-3
        RMSprop learning rate (the paper).
    batch_size : int, default=100
        Mini-batch size (the paper).
    precision : {"fp32", "bf16"}, default="fp32"
        ``"bf16"`` trains the VAEs with their forward pass and loss under
        ``torch.autocast`` with bfloat16 (CPU or GPU); weights, optimiser and
        generation stay float32.
    batched : bool, default=False
        Train the class-VAEs together with :func:`skvae.nn.train_vaes_batched`
        (one vectorised step for all classes) instead of one after the other.
        Each class-VAE still sees exactly its own rows, shuffles, noise and
        early stopping; results agree with ``batched=False`` to float rounding,
        not bit for bit. It saves per-step overhead, which pays for small
        networks (1.7-1.9x faster for 8x8 digits at 5-10 rows per class on one
        CPU thread) but not for the paper's ConvVAE on 28x28 MNIST (0.9-1.15x
        on one CPU thread), whose stacked dense-layer gradients cost more than
        the overhead saved. When the
        class-VAEs cannot be stacked (see :func:`skvae.nn.batched.batchable`,
        e.g. a ``vae`` callable returning different networks per class) they
        are trained one by one, with a warning.
    validation_fraction : float, default=0.15
        Share of each class held out for early stopping (the paper: 15%). The
        class gets ``round(validation_fraction * n_c)`` validation rows; when that
        is 0 (e.g. fewer than 4 rows at 0.15) or would leave no training row, the
        class trains on all its rows and early stopping watches the training loss.
    pretrain : {None, "pooled"}, default=None
        ``"pooled"`` first trains one VAE on the rows of all classes (same
        budget and split rule) and starts every class-VAE from its weights, so a
        class of a few rows fine-tunes a model of the whole data set instead of
        starting from scratch. Each class-VAE then still trains on its own
        class only. None (the paper) starts each from random weights.
    conditional : bool, default=False
        Train one conditional VAE on the rows of all classes instead of one VAE
        per class (the paper): the class is an input of its encoder and decoder
        (:class:`~skvae.nn.ConditionalConvVAE` for images,
        :class:`~skvae.nn.ConditionalMLPVAE` for tables). Its decoder learns
        strokes from every class, and the latent code carries the variation
        within a class, learned across classes. Every class's rows train it,
        also those of a class that gets no new rows. Each class still holds out
        ``round(validation_fraction * n_c)`` validation rows; ``max_epochs``,
        ``min_steps`` and ``patience`` apply to the one model, and tabular rows
        are standardised over all classes. Not with ``pretrain``,
        ``batched=True`` or a ``vae`` callable.
    latent_sampler : {"prior", "uniform", "gmm"} or sampler, default="prior"
        Where codes are drawn: the prior N(0, I) (the paper),
        :class:`~skvae.latent.UniformSampler` (the authors' code),
        :class:`~skvae.latent.GaussianMixtureSampler` on the class's codes, or an
        instance such as ``PriorSampler(scale=0.7)`` (a truncated prior).
    decode_temperature : float, default=1.0
        Generated images are ``sigmoid(logits / decode_temperature)`` of the
        decoder's Bernoulli logits. 1 (the paper) gives the likelihood's mean,
        which for a VAE trained on a few images is a blurred average; below 1
        pushes every pixel toward 0 or 1, so strokes come out crisp. Read when
        rows are generated (``fit_resample``, ``sample``), so it can be changed
        on a fitted sampler. Images only: a VAE with a Gaussian likelihood
        (tabular data) needs 1.
    generation : {"decode", "sample", "residual"}, default="decode"
        How a new row is made. ``"decode"`` (the paper): the decoder's output
        for a code drawn by ``latent_sampler``, the likelihood's mean.
        ``"sample"``: a draw from the likelihood at that code instead of its
        mean: the decoded mean plus Gaussian noise of the learned per-feature
        scale (``exp(log_scale)``), so the new rows spread about as widely as the
        real ones where the mean alone is under-dispersed. Gaussian likelihood
        (tabular data) only. ``"residual"``: a real row
        ``x`` of the class, drawn at random, plus the change the decoder makes
        between ``x``'s posterior mean code and a draw from its posterior,
        ``x + g(z) - g(mu(x))`` with ``z ~ N(mu(x), sigma(x)^2)`` (clipped to
        [0, 1] for images). The VAE then supplies a learned variation while the
        real row keeps its sharp strokes, instead of a blurred class average.
        ``latent_sampler`` is not used and must stay ``"prior"``.
    filter_threshold : float or None, default=None
        Keep only generated rows that a classifier trained on the real rows
        given to ``fit_resample`` assigns to their intended class with a
        probability of at least this value; rejected rows are replaced by new
        draws (up to ``max_filter_rounds`` rounds, then the most probable
        rejected rows fill the gap, with a warning). None keeps every row.
    filter_estimator : classifier or None, default=None
        The real-data classifier of ``filter_threshold`` (anything with
        ``predict_proba``); None means
        ``LogisticRegression(C=0.1, max_iter=1000)`` on the rows as they are.
    max_filter_rounds : int, default=20
        Most rounds of draws per class when filtering.
    device : str, default="cpu"
        ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"``. Fitted VAEs are kept on
        the CPU, so a sampler fitted on a GPU pickles and loads anywhere.
    memory : str, object with the joblib.Memory interface or None, default=None
        Cache of the trained class-VAEs, as scikit-learn's ``Pipeline(memory=...)``
        caches fitted transformers: a directory path or a :class:`joblib.Memory`.
        A ``fit_resample`` on the same rows with the same training settings
        (the parameters that shape the VAEs, the rows each class gets and the
        ``random_state`` stream) loads the VAEs instead of training them again,
        and gives the same output as training would. Generation settings
        (``decode_temperature``, ``generation``, ``filter_*``) and ``verbose``
        are not part of the key, so a search over them trains the VAEs once per
        data split. None (default) caches nothing. A ``vae`` callable must
        pickle to be hashed.
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
        ``conditional=True``, each is a :class:`~skvae.nn.ClassConditionedVAE`,
        a view of the one shared model.
    histories_ : dict
        Per class in ``vaes_``, the :class:`skvae.nn.TrainResult` of its training
        (with ``conditional=True``, the shared model's, the same for every class).
    latent_samplers_ : dict
        Per class in ``vaes_``, the fitted latent sampler.
    anchors_ : dict
        With ``generation="residual"``, per class the real rows the new rows
        start from (in the VAE's input scaling); absent otherwise.
    pretrain_history_ : TrainResult or None
        The pooled VAE's training with ``pretrain="pooled"``, else None.
    filter_ : classifier or None
        The fitted real-data classifier of ``filter_threshold`` (None without).
    filter_acceptance_ : dict
        Per class, the share of drawn rows the filter kept in ``fit_resample``
        (only with ``filter_threshold``).
    n_features_in_ : int
        Number of features seen during fit.
    image_shape_ : tuple of int or None
        The image shape used, or ``None`` for tabular data.

    Examples
    --------
    >>> from skvae import VAEOversampler
    >>> from skvae.datasets import load_digits
    >>> X, y = load_digits(return_X_y=True)
    >>> X, y = X[:100], y[:100]
    >>> sampler = VAEOversampler(latent=2, max_epochs=2, augment_size=3,
    ...                          random_state=0)
    >>> X_res, y_res = sampler.fit_resample(X, y)
    >>> X_res.shape  # every class up to the largest (12), then 3 more each
    (150, 64)
    >>> sampler.sample(5, y[0]).shape
    (5, 64)

    With ``memory``, a second fit on the same rows loads the VAEs the first trained:

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as cache:
    ...     cached = VAEOversampler(latent=2, max_epochs=2, augment_size=3,
    ...                             random_state=0, memory=cache)
    ...     X_first, _ = cached.fit_resample(X, y)
    ...     X_again, _ = cached.fit_resample(X, y)
    >>> bool((X_first == X_again).all() and (X_first == X_res).all())
    True
    """

    _parameter_constraints: dict = {
        "latent": [Interval(Integral, 1, None, closed="left")],
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
        "image_shape": [StrOptions({"auto"}), None, tuple, list],
        "vae": [StrOptions({"auto", "conv", "mlp"}), callable],
        "beta": [Interval(Real, 0, None, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "min_steps": [Interval(Integral, 0, None, closed="left")],
        "patience": [Interval(Integral, 0, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "precision": [StrOptions({"fp32", "bf16"})],
        "batched": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "pretrain": [None, StrOptions({"pooled"})],
        "conditional": ["boolean"],
        "latent_sampler": [
            StrOptions({"prior", "uniform", "gmm"}),
            HasMethods(["fit", "sample"]),
        ],
        "decode_temperature": [Interval(Real, 0, None, closed="neither")],
        "generation": [StrOptions({"decode", "sample", "residual"})],
        "filter_threshold": [None, Interval(Real, 0, 1, closed="both")],
        "filter_estimator": [None, HasMethods(["fit", "predict_proba"])],
        "max_filter_rounds": [Interval(Integral, 1, None, closed="left")],
        "device": [str, torch.device],
        "memory": [None, str, HasMethods(["cache"])],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        latent: int = 3,
        *,
        sampling_strategy="augment",
        augment_size: int | float = 1.0,
        image_shape="auto",
        vae="auto",
        beta: float = 1.0,
        max_epochs: int = 200,
        min_steps: int = 0,
        patience: int = 20,
        lr: float = 1e-3,
        batch_size: int = 100,
        precision: str = "fp32",
        batched: bool = False,
        validation_fraction: float = 0.15,
        pretrain=None,
        conditional: bool = False,
        latent_sampler="prior",
        decode_temperature: float = 1.0,
        generation: str = "decode",
        filter_threshold: float | None = None,
        filter_estimator=None,
        max_filter_rounds: int = 20,
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
        self.beta = beta
        self.max_epochs = max_epochs
        self.min_steps = min_steps
        self.patience = patience
        self.lr = lr
        self.batch_size = batch_size
        self.precision = precision
        self.batched = batched
        self.validation_fraction = validation_fraction
        self.pretrain = pretrain
        self.conditional = conditional
        self.latent_sampler = latent_sampler
        self.decode_temperature = decode_temperature
        self.generation = generation
        self.filter_threshold = filter_threshold
        self.filter_estimator = filter_estimator
        self.max_filter_rounds = max_filter_rounds
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
        self.sampling_strategy_ = self._sampling_targets(y)
        X_res, y_res = self._fit_resample(X, y)
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
            With a ``filter_threshold``, the rows the real-data classifier
            accepts (see the parameter).
        """
        check_is_fitted(
            self,
            "vaes_",
            msg=(
                "This %(name)s has no trained VAEs: call fit_resample first (fit only "
                "validates the input, as in imbalanced-learn)."
            ),
        )
        if class_label not in self.vaes_:
            if class_label in self.classes_:
                raise ValueError(
                    f"No VAE was trained for class {plain_label(class_label)!r}: sampling_strategy="
                    f"{self.sampling_strategy!r} (augment_size={self.augment_size!r}) gave "
                    "it no rows to generate. The classes with a VAE are "
                    f"{[c for c in self.classes_.tolist() if c in self.vaes_]}; "
                    "sampling_strategy='augment' with augment_size > 0 trains one for "
                    "every class."
                )
            raise ValueError(
                f"Unknown class {plain_label(class_label)!r}; the fitted classes are "
                f"{self.classes_.tolist()}."
            )
        if not isinstance(n_samples, Integral) or isinstance(n_samples, bool):
            raise TypeError(f"n_samples must be an integer, got {n_samples!r}.")
        n_samples = int(n_samples)
        if n_samples < 0:
            raise ValueError(f"n_samples must be >= 0, got {n_samples}.")
        rng = np.random.RandomState(draw_seed(random_state))
        if getattr(self, "filter_", None) is None:
            return self._decode_draws(n_samples, class_label, rng)
        return self._filtered_draws(n_samples, class_label, rng)[0]

    def _filtered_draws(self, n_samples: int, class_label, rng) -> tuple[np.ndarray, float]:
        """Draw until the filter accepts ``n_samples`` rows; return them and the rate."""
        column = int(np.flatnonzero(self.filter_.classes_ == class_label)[0])
        kept, rejected, n_drawn = [], [], 0
        n_kept = 0
        for _ in range(self.max_filter_rounds):
            if n_kept >= n_samples:
                break
            batch = self._decode_draws(max(2 * (n_samples - n_kept), 16), class_label, rng)
            proba = self.filter_.predict_proba(batch)[:, column]
            ok = proba >= self.filter_threshold
            kept.append(batch[ok])
            rejected.append((batch[~ok], proba[~ok]))
            n_kept += int(ok.sum())
            n_drawn += len(batch)
        rate = n_kept / max(n_drawn, 1)
        out = np.concatenate(kept)[:n_samples] if kept else self._decode_draws(0, class_label, rng)
        if len(out) < n_samples:
            warnings.warn(
                f"Class {plain_label(class_label)!r}: the filter accepted {len(out)} of the "
                f"{n_samples} rows requested after {self.max_filter_rounds} rounds "
                f"(acceptance {rate:.1%}); the most probable rejected rows fill the gap. "
                "Lower filter_threshold or raise max_filter_rounds.",
                UserWarning,
                stacklevel=3,
            )
            rows = np.concatenate([r for r, _ in rejected])
            proba = np.concatenate([p for _, p in rejected])
            best = np.argsort(-proba, kind="stable")[: n_samples - len(out)]
            out = np.concatenate([out, rows[best]])
        return out, rate

    def _decode_draws(self, n_samples: int, class_label, rng) -> np.ndarray:
        """``n_samples`` new rows of one class, as ``generation`` says."""
        if n_samples == 0:  # draws nothing, so the generator's stream is untouched
            return np.empty((0, self.n_features_in_), dtype=np.float32)
        if self.generation == "residual":
            out = self._residual_draws(n_samples, class_label, rng)
        else:
            vae = self.vaes_[class_label]
            z = self.latent_samplers_[class_label].sample(n_samples, rng)
            with torch.inference_mode():
                z = torch.as_tensor(z, dtype=torch.float32)
                out = vae.generate(z, self.decode_temperature)
            out = out.reshape(n_samples, -1).numpy()
            if self.generation == "sample":
                # In the VAE's (standardised) units, as its likelihood models them.
                scale = torch.exp(vae.log_scale.detach().clamp(-5.0, 5.0)).reshape(-1).numpy()
                out = out + rng.standard_normal(out.shape).astype(np.float32) * scale
        if class_label in self.scalers_:
            mean, scale = self.scalers_[class_label]
            out = out * scale + mean
        return out.astype(np.float32, copy=False)

    def _residual_draws(self, n_samples: int, class_label, rng) -> np.ndarray:
        """Real rows plus the decoder's change from their code to a posterior draw."""
        if not hasattr(self, "anchors_"):
            raise ValueError(
                "generation='residual' starts from the real rows, which are kept only by "
                "a fit with generation='residual'; refit the sampler with it."
            )
        vae = self.vaes_[class_label]
        anchors = self.anchors_[class_label]
        x = torch.as_tensor(anchors[rng.randint(len(anchors), size=n_samples)])
        eps = torch.as_tensor(rng.standard_normal((n_samples, vae.latent)), dtype=torch.float32)
        with torch.inference_mode():
            mu, logvar = vae.encode(x.reshape(n_samples, *vae.input_shape))
            z = mu + eps * torch.exp(0.5 * logvar)
            change = vae.generate(z, self.decode_temperature) - vae.generate(
                mu, self.decode_temperature
            )
            out = x + change.reshape(n_samples, -1)
            if vae.likelihood == "bernoulli":
                out = out.clamp(0.0, 1.0)
        return out.numpy()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Dense, finite, numeric rows only: a VAE cannot train on sparse, NaN or text.
        tags.input_tags.sparse = False
        tags.input_tags.allow_nan = False
        tags.input_tags.string = False
        return tags

    # ------------------------------------------------------------ internals
    #: What a fit_resample learns, dropped by the next fit or fit_resample; some
    #: (``anchors_``, ``filter_acceptance_``) exist only with some parameters.
    _FITTED = (
        "image_shape_",
        "classes_",
        "vaes_",
        "histories_",
        "scalers_",
        "latent_samplers_",
        "pretrain_history_",
        "anchors_",
        "filter_",
        "filter_acceptance_",
    )

    def _check_settings(self) -> None:
        """Raise on settings no fit could run with (values, device), before training."""
        self._validate_params()
        resolve_device(self.device)
        if self.conditional:
            self._check_conditional()

    def _forget_fit(self) -> None:
        for name in self._FITTED:
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

    def _sampling_targets(self, y) -> OrderedDict:
        """Rows to generate per class, sorted by class."""
        if isinstance(self.sampling_strategy, str) and self.sampling_strategy == "augment":
            counts = Counter(y)
            n_max = max(counts.values())
            if isinstance(self.augment_size, Integral):
                extra = int(self.augment_size)
            else:
                extra = int(round(float(self.augment_size) * n_max))
            targets = ((c, n_max + extra - counts[c]) for c in sorted(counts))
        else:
            strategy = check_sampling_strategy(self.sampling_strategy, y, self._sampling_type)
            targets = strategy.items()
        return OrderedDict((plain_label(c), n) for c, n in targets)

    def _resolve_image_shape(self, X) -> tuple[int, int, int] | None:
        n_features = X.shape[1]
        in_unit = bool(X.min() >= 0.0 and X.max() <= 1.0)
        image_shape = self.image_shape
        array_shape = getattr(self, "_array_image_shape", None)
        if image_shape is None:
            return None
        if array_shape is not None:
            if isinstance(image_shape, str):  # "auto": the array's own shape
                image_shape = array_shape
            elif resolve_image_shape(image_shape, n_features) != array_shape:
                raise ValueError(
                    f"image_shape={image_shape!r} does not match the shape of the images "
                    f"in X, {array_shape}."
                )
        if isinstance(image_shape, str):  # "auto"
            side = square_side(n_features)
            # Below 8 x 8 (scikit-learn's digits) a square count of features in
            # [0, 1] is far more likely a min-max scaled table than an image.
            if side is not None and side % 2 == 0 and side >= _MIN_AUTO_SIDE:
                if in_unit:
                    return (1, side, side)
                if _looks_like_pixels(X):
                    warnings.warn(
                        f"X has {side}x{side} features of whole numbers in [0, 255], like "
                        "8-bit images, but image_shape='auto' reads images only from data "
                        "in [0, 1]: X is treated as a table (MLP VAE). Divide by 255 to "
                        "treat it as images, or set image_shape=None to silence this.",
                        UserWarning,
                        stacklevel=4,
                    )
            return None
        shape = resolve_image_shape(image_shape, n_features)
        if shape[1] % 2 or shape[2] % 2:
            raise ValueError(
                f"image_shape={image_shape!r}: the convolutional VAE needs an even "
                "height and width."
            )
        if not in_unit:
            raise ValueError(
                "Image data must lie in [0, 1] (the VAE's binary cross-entropy needs it); "
                f"X spans [{X.min():.4g}, {X.max():.4g}]. Scale it, e.g. divide 8-bit "
                "images by 255, or set image_shape=None for tabular data."
            )
        return shape

    def _build_vae(self, image_shape, n_features: int, n_classes: int | None = None) -> VAE:
        vae = self._new_vae(image_shape, n_features, n_classes)
        self._check_temperature(vae)  # fail before training, not after
        return vae

    def _check_temperature(self, vae: VAE) -> None:
        """Only Bernoulli logits have a temperature; only a Gaussian has a scale to sample."""
        if self.generation == "sample" and vae.likelihood != "gaussian":
            raise ValueError(
                "generation='sample' adds the noise of a Gaussian likelihood (tabular "
                f"data); this VAE's likelihood is {vae.likelihood!r}: use "
                "generation='decode' for images."
            )
        if self.decode_temperature != 1 and vae.likelihood != "bernoulli":
            raise ValueError(
                f"decode_temperature={self.decode_temperature} needs a VAE with the "
                f"'bernoulli' likelihood (images in [0, 1]); this one's is "
                f"{vae.likelihood!r}. Use decode_temperature=1 for tabular data."
            )

    def _train_all(self, X, y, rng, device: torch.device) -> None:
        """Train the VAEs of every class to generate for (the work ``memory`` caches)."""
        self.vaes_, self.histories_, self.scalers_, self.latent_samplers_ = {}, {}, {}, {}
        self.pretrain_history_ = None
        if self.conditional:
            self._fit_conditional(X, y, int(rng.randint(2**31 - 1)), device)
        else:
            self._fit_per_class(X, y, rng, device)

    def _new_vae(self, image_shape, n_features: int, n_classes: int | None = None) -> VAE:
        """The network ``vae`` names; a conditional one on ``n_classes`` if given."""
        if callable(self.vae):
            input_shape = image_shape if image_shape is not None else (n_features,)
            vae = self.vae(input_shape, self.latent)
            if not isinstance(vae, VAE):
                raise TypeError(
                    f"vae callable must return a skvae.nn.VAE, got {type(vae).__name__}."
                )
            return vae
        kind = self.vae
        if kind == "auto":
            kind = "conv" if image_shape is not None else "mlp"
        if kind == "conv":
            if image_shape is None:
                raise ValueError(
                    "vae='conv' needs image data: set image_shape=(C, H, W) with data in "
                    f"[0, 1] (image_shape={self.image_shape!r} read X's {n_features} "
                    "features as a table; 'auto' needs a square, even side of at least "
                    f"{_MIN_AUTO_SIDE} and values in [0, 1])."
                )
            if n_classes is not None:
                return ConditionalConvVAE(image_shape, n_classes, self.latent)
            return ConvVAE(image_shape, self.latent)
        if n_classes is not None:
            return ConditionalMLPVAE(n_features, n_classes, self.latent)
        return MLPVAE(n_features, self.latent)

    def _fit_resample(self, X, y, **params):
        if self.generation == "residual" and not (
            isinstance(self.latent_sampler, str) and self.latent_sampler == "prior"
        ):
            raise ValueError(
                "generation='residual' draws codes from each real row's posterior, so "
                f"latent_sampler={self.latent_sampler!r} would be ignored; leave it at "
                "'prior' or use generation='decode'."
            )
        if self.conditional:
            self._check_conditional()
        rng = np.random.RandomState(draw_seed(self.random_state))
        device = resolve_device(self.device)
        self._forget_fit()
        self.image_shape_ = self._resolve_image_shape(X)
        self.classes_ = np.unique(y)
        train = _train_vaes
        if self.memory is not None:
            # verbose and decode_temperature do not change what the VAEs learn.
            train = check_memory(self.memory).cache(
                _train_vaes, ignore=["verbose", "decode_temperature"]
            )
        args = (
            {name: getattr(self, name) for name in _TRAINING_PARAMS},
            X,
            y,
            self.sampling_strategy_,
            self.image_shape_,
            device,
            rng.get_state(),
        )
        kwargs = dict(decode_temperature=self.decode_temperature, verbose=self.verbose)
        if self.verbose and _in_cache(train, args, kwargs):
            print("[VAEOversampler] class-VAEs loaded from memory (same rows and settings)")
        trained, rng_state = train(*args, **kwargs)
        for name, value in trained.items():
            setattr(self, name, value)
        rng.set_state(rng_state)  # generation goes on from where training left the stream
        for vae in self.vaes_.values():
            self._check_temperature(vae)  # a cached VAE was not built with these settings
        if self.generation == "residual":
            self.anchors_ = {}
            for label in self.vaes_:
                rows = X[y == label].astype(np.float32)
                if label in self.scalers_:
                    mean, scale = self.scalers_[label]
                    rows = (rows - mean) / scale
                self.anchors_[label] = rows
        self.filter_ = None
        if self.filter_threshold is not None:
            estimator = self.filter_estimator
            if estimator is None:
                estimator = LogisticRegression(C=0.1, max_iter=1000)
            self.filter_ = clone(estimator).fit(X, y)
            self.filter_acceptance_ = {}

        X_parts, y_parts = [X], [y]
        for label, n_new in self.sampling_strategy_.items():
            if n_new <= 0:
                continue
            if self.filter_ is None:
                rows = self._decode_draws(n_new, label, rng)
            else:
                rows, self.filter_acceptance_[label] = self._filtered_draws(n_new, label, rng)
            X_parts.append(rows.astype(X.dtype))
            y_parts.append(np.full(n_new, label, dtype=y.dtype))
        return np.concatenate(X_parts), np.concatenate(y_parts)

    def _fit_per_class(self, X, y, rng, device: torch.device) -> None:
        """The paper's way: one VAE per class to generate for, on that class's rows."""
        init_state = None
        if self.pretrain == "pooled":
            # One VAE on every class's rows first: the class-VAEs start from what
            # all the data teaches about strokes, not from random weights.
            pooled, self.pretrain_history_, *_ = self._train_vae(
                X, int(rng.randint(2**31 - 1)), device, None, name="pooled"
            )
            init_state = pooled.state_dict()
        # One seed per class, drawn for every class, so that a class's VAE does
        # not depend on which other classes get one.
        seeds = {label: int(rng.randint(2**31 - 1)) for label in self.classes_}
        seeds = {
            label: seed for label, seed in seeds.items() if self.sampling_strategy_.get(label, 0)
        }
        if not (self.batched and self._fit_classes_batched(X, y, seeds, device, init_state)):
            for label, seed in seeds.items():
                self._fit_class(label, X[y == label], seed, device, init_state)

    def _check_conditional(self) -> None:
        """Refuse settings that have no meaning with one shared conditional VAE."""
        if self.pretrain is not None:
            raise ValueError(
                f"conditional=True trains one VAE on all classes already; pretrain="
                f"{self.pretrain!r} pre-trains class-VAEs. Use one or the other."
            )
        if self.batched:
            raise ValueError(
                "conditional=True trains one VAE for all classes; batched=True stacks "
                "class-VAEs. Use one or the other."
            )
        if callable(self.vae):
            raise ValueError(
                "conditional=True builds its own conditional network "
                "(skvae.nn.ConditionalConvVAE or ConditionalMLPVAE); vae must be "
                "'auto', 'conv' or 'mlp', not a callable."
            )

    def _fit_conditional(self, X, y, seed: int, device: torch.device) -> None:
        """Train one conditional VAE on all rows; each class to generate for gets a view."""
        targets = [label for label in self.classes_ if self.sampling_strategy_.get(label, 0)]
        if not targets:
            return
        start = time.perf_counter()
        index = np.searchsorted(self.classes_, y)
        with seeded_torch(seed):
            cvae = self._build_vae(self.image_shape_, X.shape[1], n_classes=len(self.classes_))
        data, scaler = self._scale_rows(X, cvae, "X")
        generator = make_generator(seed)
        rows = torch.as_tensor(data).reshape(len(data), *cvae.input_shape)
        packed = cvae.pack(rows, torch.as_tensor(index)).to(device)
        # Each class holds out its own share, as its class-VAE would.
        valid = torch.zeros(len(y), dtype=torch.bool)
        for k in range(len(self.classes_)):
            members = torch.as_tensor(np.flatnonzero(index == k))
            order = torch.randperm(len(members), generator=generator)
            valid[members[order[: self._n_valid_rows(len(members))]]] = True
        valid = valid.to(device)

        def show_epoch(entry: dict) -> None:
            print(f"[VAEOversampler] conditional VAE {entry}")

        cvae.to(device)
        result = train_vae(
            cvae,
            packed[~valid],
            packed[valid] if bool(valid.any()) else None,
            **self._training_kwargs(),
            generator=generator,
            callback=show_epoch if self.verbose and self.verbose > 1 else None,
        )
        codes = self._encode_and_release(cvae, packed)
        for label in targets:
            k = int(np.searchsorted(self.classes_, label))
            self._store_class(label, cvae.for_class(k), result, codes[index == k], scaler)
        if self.verbose:
            n_valid = int(valid.sum())
            self._print_fit(
                f"conditional VAE on {len(self.classes_)} classes",
                len(y) - n_valid,
                n_valid,
                result,
                f"{time.perf_counter() - start:.1f}s",
            )

    def _fit_class(
        self, label, X_class: np.ndarray, seed: int, device: torch.device, init_state=None
    ) -> None:
        """Train, store and fit the latent sampler of one class's VAE."""
        start = time.perf_counter()
        vae, result, codes, scaler, n_valid = self._train_vae(
            X_class, seed, device, init_state, name=f"class {plain_label(label)!r}"
        )
        self._store_class(label, vae, result, codes, scaler)
        if self.verbose:
            seconds = time.perf_counter() - start
            self._print_fit(
                f"class {plain_label(label)!r}",
                len(X_class) - n_valid,
                n_valid,
                result,
                f"{seconds:.1f}s",
            )

    @staticmethod
    def _print_fit(name: str, n_train: int, n_valid: int, result, timing: str) -> None:
        """The ``verbose`` summary line of one VAE's training."""
        print(
            f"[VAEOversampler] {name}: {n_train} train / {n_valid} valid rows, "
            f"{len(result.history)} epochs, {result.n_steps} steps, best loss "
            f"{result.best_loss:.4g} at epoch {result.best_epoch} ({timing})"
        )

    def _store_class(self, label, vae, result, codes, scaler) -> None:
        """Keep one class's VAE, training result, scaler and fitted latent sampler."""
        self.vaes_[label] = vae
        self.histories_[label] = result
        if scaler is not None:
            self.scalers_[label] = scaler
        self.latent_samplers_[label] = make_latent_sampler(self.latent_sampler).fit(codes)

    def _fit_classes_batched(self, X, y, seeds, device: torch.device, init_state) -> bool:
        """Train the classes' VAEs together (``batched=True``); False if they cannot be.

        ``seeds`` maps each class to train to its seed. Each class is prepared
        exactly as :meth:`_train_vae` prepares it (same seed, initialisation,
        scaling, split and generator), so each VAE sees what the per-class loop
        would show it.
        """
        if not seeds:
            return True
        start = time.perf_counter()
        names = [f"class {plain_label(label)!r}" for label in seeds]
        parts = [
            self._prepare_vae(X[y == label], seed, device, init_state, name)
            for (label, seed), name in zip(seeds.items(), names)
        ]
        reason = batchable([part[0] for part in parts])
        if reason is not None:
            warnings.warn(
                f"batched=True: the class-VAEs cannot be trained together ({reason}); "
                "training them one by one.",
                UserWarning,
                stacklevel=4,
            )
            return False

        def show_epoch(k: int, entry: dict) -> None:
            print(f"[VAEOversampler] {names[k]} {entry}")

        results = train_vaes_batched(
            [part[0] for part in parts],
            [part[1] for part in parts],
            [part[2] for part in parts],
            **self._training_kwargs(),
            generators=[part[4] for part in parts],
            callback=show_epoch if self.verbose and self.verbose > 1 else None,
        )
        seconds = time.perf_counter() - start
        for label, (vae, X_train, _, Xt, _, scaler, n_valid), result in zip(seeds, parts, results):
            codes = self._encode_and_release(vae, Xt)
            self._store_class(label, vae, result, codes, scaler)
            if self.verbose:
                self._print_fit(
                    f"class {plain_label(label)!r}",
                    len(X_train),
                    n_valid,
                    result,
                    f"all classes together: {seconds:.1f}s",
                )
        return True

    def _training_kwargs(self) -> dict:
        """The training recipe shared by the per-class and the batched trainer."""
        return dict(
            max_epochs=self.max_epochs,
            min_steps=self.min_steps,
            patience=self.patience,
            lr=self.lr,
            batch_size=self.batch_size,
            beta=self.beta,
            precision=self.precision,
        )

    def _train_vae(self, X_part: np.ndarray, seed: int, device: torch.device, init_state, name):
        """Build (optionally from ``init_state``) and train one VAE on ``X_part``.

        Returns the VAE (on the CPU), its TrainResult, the codes of ``X_part``,
        the ``(mean, scale)`` of a Gaussian likelihood (else None) and the
        number of validation rows.
        """
        vae, X_train, X_valid, Xt, generator, scaler, n_valid = self._prepare_vae(
            X_part, seed, device, init_state, name
        )

        def show_epoch(entry: dict) -> None:
            print(f"[VAEOversampler] {name} {entry}")

        result = train_vae(
            vae,
            X_train,
            X_valid,
            **self._training_kwargs(),
            generator=generator,
            callback=show_epoch if self.verbose and self.verbose > 1 else None,
        )
        codes = self._encode_and_release(vae, Xt)
        return vae, result, codes, scaler, n_valid

    def _prepare_vae(self, X_part: np.ndarray, seed: int, device: torch.device, init_state, name):
        """Build one VAE and its data as :meth:`_train_vae` trains them.

        Returns the VAE (on ``device``), its training rows, its validation rows
        (None without), all rows ``Xt`` as a tensor, the seeded generator (the
        split already drawn from it), the Gaussian scaler (or None) and the
        number of validation rows.
        """
        n_features = X_part.shape[1]
        with seeded_torch(seed):
            vae = self._build_vae(self.image_shape_, n_features)
        if init_state is not None:
            vae.load_state_dict(init_state)
        data, scaler = self._scale_rows(X_part, vae, name)
        generator = make_generator(seed)
        Xt = torch.as_tensor(data).reshape(len(data), *vae.input_shape).to(device)
        n = len(Xt)
        n_valid = self._n_valid_rows(n)
        order = torch.randperm(n, generator=generator).to(device)
        X_valid, X_train = Xt[order[:n_valid]], Xt[order[n_valid:]]
        vae.to(device)
        return vae, X_train, X_valid if n_valid else None, Xt, generator, scaler, n_valid

    def _n_valid_rows(self, n: int) -> int:
        """Validation rows of a class of ``n`` rows: the VAEs' rule."""
        return n_validation_rows(n, self.validation_fraction)

    @staticmethod
    def _scale_rows(X_part: np.ndarray, vae: VAE, name: str):
        """float32 rows as ``vae`` trains on them, and the Gaussian ``(mean, scale)`` or None."""
        # C order: a DataFrame's column-major values would change the rounding.
        data = np.ascontiguousarray(X_part, dtype=np.float32)
        if vae.likelihood == "gaussian":
            mean = data.mean(axis=0)
            scale = data.std(axis=0)
            scale[scale < 1e-8] = 1.0
            return (data - mean) / scale, (mean, scale)
        if data.min() < 0 or data.max() > 1:
            raise ValueError(
                "A VAE with a bernoulli likelihood needs data in [0, 1]; "
                f"{name} spans [{data.min():.4g}, {data.max():.4g}]."
            )
        return data, None

    @staticmethod
    def _encode_and_release(vae: VAE, Xt: torch.Tensor) -> np.ndarray:
        """Codes of ``Xt`` (for the latent sampler); moves ``vae`` to the CPU."""
        with torch.inference_mode():
            codes, _ = vae.encode(Xt)
        vae.cpu()
        return codes.cpu().numpy()


#: The parameters that shape the trained VAEs: with the rows, the classes to
#: generate for, the image shape, the device and the random stream they form
#: ``memory``'s key. The others only act before training (``sampling_strategy``
#: and ``augment_size`` through ``sampling_strategy_``, ``image_shape``,
#: ``device`` and ``random_state`` through their resolved values) or after it.
_TRAINING_PARAMS = (
    "latent",
    "vae",
    "beta",
    "max_epochs",
    "min_steps",
    "patience",
    "lr",
    "batch_size",
    "precision",
    "batched",
    "validation_fraction",
    "pretrain",
    "conditional",
    "latent_sampler",
)
_TRAINED = ("vaes_", "histories_", "scalers_", "latent_samplers_", "pretrain_history_")


def _train_vaes(
    params: dict,
    X: np.ndarray,
    y: np.ndarray,
    sampling_strategy: OrderedDict,
    image_shape,
    device: torch.device,
    rng_state: tuple,
    *,
    decode_temperature: float = 1.0,
    verbose: int = 0,
) -> tuple[dict, tuple]:
    """Train a :class:`VAEOversampler`'s VAEs; its fitted attributes and the stream's state.

    A module-level function of plain arguments, so that ``joblib.Memory`` can
    hash a call and cache its result.
    """
    sampler = VAEOversampler(**params, decode_temperature=decode_temperature, verbose=verbose)
    sampler.sampling_strategy_ = sampling_strategy
    sampler.image_shape_ = image_shape
    sampler.classes_ = np.unique(y)
    rng = np.random.RandomState()
    rng.set_state(rng_state)
    sampler._train_all(X, y, rng, device)
    return {name: getattr(sampler, name) for name in _TRAINED}, rng.get_state()


def _in_cache(cached, args: tuple, kwargs: dict) -> bool:
    """Whether a ``memory.cache`` function holds this call (False if it cannot say)."""
    check = getattr(cached, "check_call_in_cache", None)
    return bool(check(*args, **kwargs)) if check is not None else False

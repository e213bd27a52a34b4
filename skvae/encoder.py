"""VAEEncoder: one VAE over all rows as a scikit-learn transformer."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils.validation import check_is_fitted, validate_data

from ._network import VAE_PARAMETER_CONSTRAINTS, make_vae, read_image_shape, resolve_training
from ._removed import RejectsRemovedParameters
from ._utils import draw_seed, resolve_device
from .nn.fitting import fit_vae, from_vae_units, to_vae_units


class VAEEncoder(
    RejectsRemovedParameters, ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator
):
    """Encode rows into a VAE's latent space, and decode codes back.

    One VAE (the same networks as :class:`VAEOversampler`'s, trained the same
    way) is fitted on all rows, labels ignored. ``transform`` returns the means
    of the encoder's posterior, ``inverse_transform`` decodes codes into rows.
    Use it to plot a 2-D latent space, or to compose with other tools, e.g.
    SMOTE in latent space then ``inverse_transform``. (imbalanced-learn forbids
    one pipeline step being both a sampler and a transformer, hence a class of
    its own.)

    Parameters
    ----------
    latent : int, default=2
        Size of the latent space (the number of output features).
    image_shape : "auto", None or tuple of int, default="auto"
        How to read a row, as in :class:`VAEOversampler`: ``"auto"`` reads rows
        as square one-channel images when ``n_features`` is the square of an
        even number of at least 8 and the data lie in [0, 1], as tabular
        features otherwise.
    vae : {"auto", "conv", "mlp"} or callable, default="auto"
        The network, as in :class:`VAEOversampler`.
    training : dict, VAETraining or None, default=None
        How the VAE trains, as in :class:`VAEOversampler`: a
        :class:`~skvae.nn.fitting.VAETraining`, a dict of some of its fields
        over the defaults, or None for the defaults.
    device : str, default="cpu"
        ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"``; the fitted VAE is
        kept on the CPU.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, the split and training noise.
    verbose : int, default=0
        ``2`` prints every epoch.

    Attributes
    ----------
    vae_ : skvae.nn.VAE
        The fitted VAE (on the CPU, in eval mode).
    history_ : skvae.nn.TrainResult
        What its training did.
    image_shape_ : tuple of int or None
        The image shape used, or None for tabular data.
    n_features_in_ : int
        Number of features seen during fit.

    Examples
    --------
    >>> from skvae import VAEEncoder
    >>> from skvae.datasets import load_digits
    >>> X, y = load_digits(return_X_y=True)
    >>> enc = VAEEncoder(latent=2, training={"max_epochs": 3}, random_state=0).fit(X[:200])
    >>> Z = enc.transform(X[:5])
    >>> Z.shape, enc.inverse_transform(Z).shape
    ((5, 2), (5, 64))
    >>> list(enc.get_feature_names_out())
    ['vaeencoder0', 'vaeencoder1']
    """

    # The same networks and training recipe as VAEOversampler: the same rules.
    _parameter_constraints: dict = dict(VAE_PARAMETER_CONSTRAINTS)

    def __init__(
        self,
        latent: int = 2,
        *,
        image_shape="auto",
        vae="auto",
        training=None,
        device="cpu",
        random_state=None,
        verbose: int = 0,
    ) -> None:
        self.latent = latent
        self.image_shape = image_shape
        self.vae = vae
        self.training = training
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None) -> VAEEncoder:
        """Train the VAE on all rows of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored

        Returns
        -------
        self
        """
        X = validate_data(self, X, dtype=[np.float64, np.float32], ensure_min_samples=2)
        # The same network choice and training recipe as VAEOversampler's.
        self.image_shape_ = read_image_shape(X, self.image_shape, None)
        fitted = fit_vae(
            lambda: make_vae(
                self.vae,
                self.latent,
                self.image_shape_,
                X.shape[1],
                image_shape_setting=self.image_shape,
            ),
            X,
            draw_seed(self.random_state),
            resolve_training(self.training, type(self).__name__),
            device=resolve_device(self.device),
            name="VAEEncoder",
            callback=_print_epoch if self.verbose and self.verbose > 1 else None,
        )
        self.vae_, self.history_, self._scaler = fitted.vae, fitted.result, fitted.scaler
        self._n_features_out = int(self.latent)
        return self

    def transform(self, X) -> np.ndarray:
        """Latent means of the rows of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, latent)
        """
        check_is_fitted(self, "vae_")
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        if self.vae_.likelihood == "bernoulli" and len(X) and (X.min() < 0 or X.max() > 1):
            # fit refused such data; codes of it would be silently meaningless.
            raise ValueError(
                "This VAEEncoder was fitted on data in [0, 1] (a Bernoulli likelihood); "
                f"X spans [{X.min():.4g}, {X.max():.4g}]. Scale it as the training data "
                "were, e.g. divide 8-bit images by 255."
            )
        data = to_vae_units(X, self._scaler)
        inputs = torch.as_tensor(data).reshape(len(data), *self.vae_.input_shape)
        with torch.inference_mode():
            codes, _ = self.vae_.encode(inputs)
        return codes.numpy().astype(X.dtype)

    def inverse_transform(self, X) -> np.ndarray:
        """Decode latent codes into rows (the decoder's mean).

        Parameters
        ----------
        X : array-like of shape (n_samples, latent)
            Codes, e.g. from :meth:`transform`.

        Returns
        -------
        ndarray of shape (n_samples, n_features)
        """
        check_is_fitted(self, "vae_")
        Z = np.asarray(X, dtype=np.float32)
        if Z.ndim != 2 or Z.shape[1] != self.latent:
            raise ValueError(
                f"inverse_transform expects codes of shape (n_samples, {self.latent}), "
                f"got {Z.shape}."
            )
        with torch.inference_mode():
            out = self.vae_.generate(torch.as_tensor(Z)).reshape(len(Z), self.n_features_in_)
        return from_vae_units(out.numpy(), self._scaler).astype(np.float64)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.input_tags.allow_nan = False
        return tags


def _print_epoch(entry: dict) -> None:
    print(f"[VAEEncoder] {entry}")

"""SemiSupervisedVAEOversampler: one VAE learnt from labelled and unlabelled rows."""

from __future__ import annotations

import numpy as np

from .generation import Decode, make_generation
from .latent import PriorSampler, UniformSampler, make_latent_sampler
from .oversampler import VAEOversampler

#: The label of a row without one: scikit-learn's semi-supervised convention.
UNLABELED = -1

# Latent samplers that ignore the class's codes: from one VAE of every class they
# would draw rows of any class.
_CLASS_BLIND = (PriorSampler, UniformSampler)


class SemiSupervisedVAEOversampler(VAEOversampler):
    """Over-sample every class with one VAE that has also seen unlabelled rows.

    Rows labelled ``-1`` carry no class (scikit-learn's semi-supervised
    convention, as in :class:`~sklearn.semi_supervised.SelfTrainingClassifier`).
    One VAE learns the data's manifold from every row, labelled or not; each
    class's new rows are drawn around the codes of its labelled rows
    (``generation="posterior"``), so the many unlabelled rows shape the decoder
    and the few labels say where each class lies. ``fit_resample`` returns the
    labelled rows, then the generated ones: unlabelled rows train the VAE and
    are not returned. With no ``-1`` in ``y`` it trains the one VAE on the
    labelled rows of every class.

    :class:`VAEOversampler` (one VAE per class) treats ``-1`` as an ordinary
    class; choosing this class is the opt-in.

    Parameters
    ----------
    latent : int, default=3
        Size of the VAE's latent space.
    sampling_strategy : "augment", float, str, dict or callable, default="augment"
        As in :class:`VAEOversampler`, counted over the labelled rows.
    augment_size : int or float, default=1.0
        As in :class:`VAEOversampler`, counted over the labelled rows.
    image_shape : "auto", None or tuple of int, default="auto"
        As in :class:`VAEOversampler`.
    vae : {"auto", "conv", "mlp"} or callable, default="auto"
        The network, as in :class:`VAEOversampler`; ``"conditional"`` needs a
        label for every row and is refused.
    training : dict, VAETraining or None, default=None
        As in :class:`VAEOversampler`; early stopping holds out rows of the
        whole data, labelled or not.
    generation : {"posterior", "residual", "decode", "sample"} or strategy, default="posterior"
        As in :class:`VAEOversampler`, fitted per class on the class's labelled
        rows and their codes. A strategy must draw near the class's codes:
        ``"decode"`` and ``"sample"`` with the prior or uniform latent sampler
        are refused (they would draw rows of any class);
        ``Decode(latent_sampler="gmm")`` fits the class's codes.
    categorical_features : array-like of int or bool, or None, default=None
        As in :class:`VAEOversampler`; categories are read from every row.
    filter : ClassifierFilter or None, default=None
        As in :class:`VAEOversampler`, fitted on the labelled rows.
    device : str, default="cpu"
        As in :class:`VAEOversampler`.
    memory : str, object with the joblib.Memory interface or None, default=None
        As in :class:`VAEOversampler`; the unlabelled rows are in the key.
    random_state : int, RandomState instance or None, default=None
        As in :class:`VAEOversampler`.
    verbose : int, default=0
        ``1`` prints one line for the VAE, ``2`` also every epoch.

    Attributes
    ----------
    sampling_strategy_, classes_, vaes_, histories_, generation_, filter_, n_features_in_, \
image_shape_, categorical_features_, categories_
        As in :class:`VAEOversampler`; ``classes_`` holds the labelled classes,
        and every entry of ``vaes_`` (and ``histories_``) is the one shared VAE
        (and its training).
    n_unlabeled_ : int
        Unlabelled rows seen by the last fit.

    Examples
    --------
    >>> import numpy as np
    >>> from skvae import SemiSupervisedVAEOversampler
    >>> from skvae.datasets import load_digits
    >>> X, y = load_digits(return_X_y=True)
    >>> y = np.where(np.arange(len(y)) < 100, y, -1)  # 100 labels, 1,697 unlabelled
    >>> sampler = SemiSupervisedVAEOversampler(latent=2, training={"max_epochs": 2},
    ...                                        random_state=0)
    >>> X_res, y_res = sampler.fit_resample(X, y)
    >>> X_res.shape, int((y_res == -1).sum())  # 100 labelled + 140 generated rows
    ((240, 64), 0)
    """

    def __init__(
        self,
        latent: int = 3,
        *,
        sampling_strategy="augment",
        augment_size: int | float = 1.0,
        image_shape="auto",
        vae="auto",
        training=None,
        generation="posterior",
        categorical_features=None,
        filter=None,
        device="cpu",
        memory=None,
        random_state=None,
        verbose: int = 0,
    ) -> None:
        super().__init__(
            latent,
            sampling_strategy=sampling_strategy,
            augment_size=augment_size,
            image_shape=image_shape,
            vae=vae,
            training=training,
            generation=generation,
            categorical_features=categorical_features,
            filter=filter,
            device=device,
            memory=memory,
            random_state=random_state,
            verbose=verbose,
        )

    def check_settings(self) -> None:
        """Raise on settings no fit could run with, before any data.

        :meth:`VAEOversampler.check_settings`, and a ``vae`` and ``generation``
        that can use one VAE of every class.
        """
        super().check_settings()
        self._check_one_vae_settings()

    def _check_one_vae_settings(self) -> None:
        """Raise on a ``vae`` or ``generation`` that one VAE of every class cannot serve."""
        if self.vae == "conditional":
            raise ValueError(
                "vae='conditional' needs a label for every row; SemiSupervisedVAEOversampler "
                "trains one unconditional VAE: use 'auto', 'conv', 'mlp' or a callable."
            )
        generation = make_generation(self.generation)
        if isinstance(generation, Decode):
            sampler = make_latent_sampler(generation.latent_sampler)
            if isinstance(sampler, _CLASS_BLIND):
                raise ValueError(
                    f"generation={self.generation!r} draws codes from "
                    f"{type(sampler).__name__}, which ignores the class: from one VAE of "
                    "every class it would make rows of any class. Use 'posterior', "
                    "'residual' or Decode(latent_sampler='gmm')."
                )

    def _labelled(self, X, y):
        unlabeled = _unlabeled_mask(y)
        labelled = ~unlabeled
        if len(np.unique(y[labelled])) < 2:
            raise ValueError(
                f"SemiSupervisedVAEOversampler needs at least 2 labelled classes in y (rows "
                f"not labelled {UNLABELED}); got {np.unique(y[labelled]).tolist()}."
            )
        self.n_unlabeled_ = int(unlabeled.sum())
        return X[labelled], y[labelled], X[unlabeled]

    def _fit_resample(self, X, y, X_unlabeled=None, **params):
        # fit_resample validated the parameters and split off X_unlabeled (maybe empty);
        # the base class checks its own settings.
        self._check_one_vae_settings()
        return super()._fit_resample(X, y, X_unlabeled=X_unlabeled, **params)


def _unlabeled_mask(y: np.ndarray) -> np.ndarray:
    """True for rows labelled -1; labels that are not numbers are never -1."""
    y = np.asarray(y)
    if y.dtype.kind not in "iuf":
        return np.zeros(len(y), dtype=bool)
    return y == UNLABELED

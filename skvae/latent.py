"""Latent samplers: where in a class-VAE's latent space new samples are drawn.

Each sampler is a small scikit-learn style object (parameters in ``__init__``,
``fit`` on the class's encoded training samples, ``sample`` draws codes), so it
clones and grid-searches like any parameter of :class:`skvae.VAEOversampler`.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.mixture import GaussianMixture


class PriorSampler(BaseEstimator):
    """Draw codes from the prior N(0, scale^2 I) (the paper; ``scale < 1`` truncates).

    Parameters
    ----------
    scale : float, default=1.0
        Standard deviation of the draws. Below 1 keeps samples near the prior's
        mode: fewer odd-looking digits, less diversity.

    Examples
    --------
    >>> import numpy as np
    >>> PriorSampler(scale=0.5).fit(np.zeros((4, 2))).sample(3, np.random.RandomState(0)).shape
    (3, 2)
    """

    def __init__(self, scale: float = 1.0) -> None:
        self.scale = scale

    def fit(self, codes: np.ndarray) -> PriorSampler:
        """Remember the latent size of ``codes`` of shape ``(n, latent)``."""
        if not self.scale > 0:
            raise ValueError(f"scale must be > 0, got {self.scale!r}.")
        self.latent_ = int(np.asarray(codes).shape[1])
        return self

    def sample(self, n: int, rng: np.random.RandomState) -> np.ndarray:
        """``n`` codes of shape ``(n, latent)``."""
        return self.scale * rng.standard_normal((n, self.latent_))


class UniformSampler(BaseEstimator):
    """Draw codes uniformly from the box [-bound, bound]^latent.

    The authors' public code used ``Uniform(-1.5, 1.5)`` instead of the prior.

    Parameters
    ----------
    bound : float, default=1.5
        Half-width of the box.

    Examples
    --------
    >>> import numpy as np
    >>> z = UniformSampler(1.5).fit(np.zeros((4, 2))).sample(100, np.random.RandomState(0))
    >>> bool(np.abs(z).max() <= 1.5)
    True
    """

    def __init__(self, bound: float = 1.5) -> None:
        self.bound = bound

    def fit(self, codes: np.ndarray) -> UniformSampler:
        """Remember the latent size of ``codes`` of shape ``(n, latent)``."""
        if not self.bound > 0:
            raise ValueError(f"bound must be > 0, got {self.bound!r}.")
        self.latent_ = int(np.asarray(codes).shape[1])
        return self

    def sample(self, n: int, rng: np.random.RandomState) -> np.ndarray:
        """``n`` codes of shape ``(n, latent)``."""
        return rng.uniform(-self.bound, self.bound, size=(n, self.latent_))


class GaussianMixtureSampler(BaseEstimator):
    """Draw codes from a Gaussian mixture fitted to the class's encoded samples.

    This follows the aggregate posterior rather than the prior: with few training
    images a VAE's prior holds regions its decoder never learnt, while the codes
    of the real images mark where it did.

    Parameters
    ----------
    n_components : int, default=3
        Mixture components; capped at the number of encoded samples.
    reg_covar : float, default=1e-3
        Added to the covariances' diagonal, keeping tiny classes well posed.

    Examples
    --------
    >>> import numpy as np
    >>> codes = np.random.RandomState(0).normal(5, 0.1, size=(20, 2))
    >>> z = GaussianMixtureSampler(2).fit(codes).sample(50, np.random.RandomState(0))
    >>> bool(abs(z.mean() - 5) < 0.5)
    True
    """

    def __init__(self, n_components: int = 3, reg_covar: float = 1e-3) -> None:
        self.n_components = n_components
        self.reg_covar = reg_covar

    def fit(self, codes: np.ndarray) -> GaussianMixtureSampler:
        """Fit the mixture on ``codes`` of shape ``(n, latent)``."""
        codes = np.asarray(codes, dtype=np.float64)
        self.latent_ = codes.shape[1]
        if len(codes) < 2:
            # One code: a single Gaussian of variance reg_covar around it.
            self.weights_ = np.ones(1)
            self.means_ = codes[:1].copy()
            self.covariances_ = self.reg_covar * np.eye(self.latent_)[None]
            return self
        k = max(1, min(int(self.n_components), len(codes)))
        mixture = GaussianMixture(
            k, covariance_type="full", reg_covar=self.reg_covar, random_state=0
        ).fit(codes)
        self.weights_, self.means_ = mixture.weights_, mixture.means_
        self.covariances_ = mixture.covariances_
        return self

    def sample(self, n: int, rng: np.random.RandomState) -> np.ndarray:
        """``n`` codes of shape ``(n, latent)``."""
        counts = rng.multinomial(n, self.weights_ / self.weights_.sum())
        parts = [
            rng.multivariate_normal(self.means_[k], self.covariances_[k], size=c)
            for k, c in enumerate(counts)
        ]
        z = np.concatenate(parts) if parts else np.empty((0, self.latent_))
        return z[rng.permutation(len(z))]


_NAMED_SAMPLERS = {
    "prior": PriorSampler,
    "uniform": UniformSampler,
    "gmm": GaussianMixtureSampler,
}


def make_latent_sampler(spec) -> BaseEstimator:
    """Resolve ``"prior"``, ``"uniform"``, ``"gmm"`` or a sampler instance."""
    if isinstance(spec, str):
        if spec not in _NAMED_SAMPLERS:
            raise ValueError(
                f"latent_sampler must be one of {sorted(_NAMED_SAMPLERS)} or a sampler "
                f"object, got {spec!r}."
            )
        return _NAMED_SAMPLERS[spec]()
    if not (hasattr(spec, "fit") and hasattr(spec, "sample")):
        raise TypeError(
            "latent_sampler must be a name or an object with fit(codes) and "
            f"sample(n, rng), got {type(spec).__name__}."
        )
    from sklearn.base import clone

    # safe=False: a plain object with fit/sample (no get_params) is deep-copied.
    return clone(spec, safe=False)

"""How a fitted VAE makes new rows, and which generated rows are kept.

A *generation strategy* is what :class:`~skvae.VAEOversampler`'s ``generation``
parameter takes. The oversampler clones it once per class and fits the clone
on that class's trained VAE, its rows and their codes; the fitted clone then
makes rows with ``generate(n, rng)``. Rows are in the VAE's own units
(standardised features for a Gaussian likelihood); the oversampler maps them
back.

- :class:`Decode` (``"decode"``, the paper): decode codes drawn from a latent
  sampler; the likelihood's mean.
- :class:`LikelihoodSample` (``"sample"``): a draw from the Gaussian likelihood
  at such a code, the mean plus noise of the learned scale.
- :class:`Posterior` (``"posterior"``): decode a draw from the posterior
  q(z | x) of a real row of the class, optionally widened.
- :class:`Residual` (``"residual"``): a real row plus the decoder's change
  from its code to a draw from its posterior.

A *filter* (the ``filter`` parameter) keeps only generated rows that a
classifier of the real rows assigns to their class: :class:`ClassifierFilter`.
A new strategy is one class here with ``check(vae=None)`` (raise on settings
it cannot generate with, before any training), ``fit(vae, rows, codes)`` and
``generate(n, rng)``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import torch
from sklearn.base import BaseEstimator, clone
from sklearn.linear_model import LogisticRegression

from ._utils import plain_label
from .latent import make_latent_sampler


def _check_temperature(temperature: float, vae) -> None:
    if vae is not None and temperature != 1 and vae.likelihood != "bernoulli":
        raise ValueError(
            f"temperature={temperature} needs a VAE with the 'bernoulli' likelihood "
            f"(images in [0, 1]); this one's is {vae.likelihood!r}. Use temperature=1 "
            "for tabular data."
        )


def _check_positive(name: str, value: float) -> None:
    if not value > 0:
        raise ValueError(f"{name} must be > 0, got {value!r}.")


class Decode(BaseEstimator):
    """Decode codes drawn from a latent sampler: the paper's generation.

    Parameters
    ----------
    latent_sampler : {"prior", "uniform", "gmm"} or sampler, default="prior"
        Where codes are drawn: the prior N(0, I) (the paper),
        :class:`~skvae.latent.UniformSampler` (the authors' code),
        :class:`~skvae.latent.GaussianMixtureSampler` on the class's codes, or
        an instance such as ``PriorSampler(scale=0.7)`` (a truncated prior).
    temperature : float, default=1.0
        Rows are ``sigmoid(logits / temperature)`` of the decoder's Bernoulli
        logits. 1 (the paper) gives the likelihood's mean, which for a VAE
        trained on a few images is a blurred average; below 1 pushes every
        pixel toward 0 or 1. Images only: a Gaussian likelihood needs 1.

    Attributes
    ----------
    vae_ : skvae.nn.VAE
        The class's VAE.
    latent_sampler_ : object
        The latent sampler, fitted on the class's codes.
    """

    def __init__(self, latent_sampler="prior", temperature: float = 1.0) -> None:
        self.latent_sampler = latent_sampler
        self.temperature = temperature

    def check(self, vae=None) -> None:
        """Raise if this strategy cannot generate with ``vae`` (before training it).

        Without ``vae``, checks the settings alone.
        """
        _check_positive("temperature", self.temperature)
        _check_temperature(self.temperature, vae)
        make_latent_sampler(self.latent_sampler)

    def fit(self, vae, rows: np.ndarray, codes: np.ndarray) -> Decode:
        """Keep ``vae`` and fit the latent sampler on ``codes`` (``rows`` unused)."""
        self.check(vae)
        self.vae_ = vae
        self.latent_sampler_ = make_latent_sampler(self.latent_sampler).fit(codes)
        return self

    def generate(self, n: int, rng: np.random.RandomState) -> np.ndarray:
        """``n`` new rows, flat, float32, in the VAE's units."""
        z = self.latent_sampler_.sample(n, rng)
        with torch.inference_mode():
            out = self.vae_.generate(torch.as_tensor(z, dtype=torch.float32), self.temperature)
        return out.reshape(n, -1).numpy()


class LikelihoodSample(Decode):
    """A draw from the Gaussian likelihood at a decoded code, not its mean.

    The decoded mean plus Gaussian noise of the learned per-feature scale
    (``exp(log_scale)``), so new rows spread about as widely as the real ones
    where the mean alone is under-dispersed; a category of each categorical
    group drawn from its decoded probabilities, as a one-hot. Gaussian
    likelihood (tabular data) only.

    Parameters
    ----------
    latent_sampler : {"prior", "uniform", "gmm"} or sampler, default="prior"
        Where codes are drawn, as in :class:`Decode`.
    """

    #: The likelihood's own scale: a Gaussian decodes at temperature 1 only.
    temperature = 1.0

    def __init__(self, latent_sampler="prior") -> None:
        self.latent_sampler = latent_sampler

    def check(self, vae=None) -> None:
        if vae is not None and vae.likelihood != "gaussian":
            raise ValueError(
                "generation='sample' adds the noise of a Gaussian likelihood (tabular "
                f"data); this VAE's likelihood is {vae.likelihood!r}: use "
                "generation='decode' for images."
            )
        super().check(vae)

    def generate(self, n: int, rng: np.random.RandomState) -> np.ndarray:
        mean = super().generate(n, rng)
        scale = torch.exp(self.vae_.log_scale.detach().clamp(-5.0, 5.0)).reshape(-1).numpy()
        out = mean + rng.standard_normal(mean.shape).astype(np.float32) * scale
        # A categorical group's mean is its probabilities: draw one category per row.
        for start, stop in self.vae_.categorical:
            cumulative = np.cumsum(mean[:, start:stop], axis=1)
            u = rng.random_sample((n, 1)) * cumulative[:, -1:]
            drawn = np.minimum((cumulative < u).sum(axis=1), stop - start - 1)
            out[:, start:stop] = np.eye(stop - start, dtype=out.dtype)[drawn]
        return out


class _AroundRealRows(BaseEstimator):
    """Base of the strategies that start from the class's real rows."""

    def check(self, vae=None) -> None:
        """Raise if this strategy cannot generate with ``vae`` (without: the settings alone)."""
        _check_positive("temperature", self.temperature)
        _check_temperature(self.temperature, vae)

    def fit(self, vae, rows: np.ndarray, codes: np.ndarray):
        """Keep ``vae`` and the real ``rows`` (``codes`` unused)."""
        self.check(vae)
        self.vae_ = vae
        self.anchors_ = np.ascontiguousarray(rows, dtype=np.float32)
        return self


class Residual(_AroundRealRows):
    """A real row plus the decoder's change from its code to a posterior draw.

    ``x + g(z) - g(mu(x))`` with ``x`` a real row of the class drawn at random
    and ``z ~ N(mu(x), sigma(x)^2)``, clipped to [0, 1] for images. The VAE
    supplies a learned variation while the real row keeps its sharp strokes.

    Parameters
    ----------
    temperature : float, default=1.0
        Decoder temperature of both decodes, as in :class:`Decode`.

    Attributes
    ----------
    vae_ : skvae.nn.VAE
        The class's VAE.
    anchors_ : ndarray
        The class's real rows (in the VAE's units) new rows start from.
    """

    def __init__(self, temperature: float = 1.0) -> None:
        self.temperature = temperature

    def generate(self, n: int, rng: np.random.RandomState) -> np.ndarray:
        """``n`` new rows, flat, float32, in the VAE's units."""
        vae = self.vae_
        x, mu, z = _posterior_draws(vae, self.anchors_, n, rng, widen=1.0)
        with torch.inference_mode():
            change = vae.generate(z, self.temperature) - vae.generate(mu, self.temperature)
            out = x + change.reshape(n, -1)
            if vae.likelihood == "bernoulli":
                out = out.clamp(0.0, 1.0)
        return out.numpy()


class Posterior(_AroundRealRows):
    """Decode a draw from the posterior of a real row: new rows around real ones.

    ``g(z)`` with ``z ~ N(mu(x), (widen * sigma(x))^2)`` and ``x`` a real row
    of the class drawn at random: codes where the class's rows are, not where
    the prior puts mass the few real rows never reached. ``widen`` above 1
    strays further from each real row.

    Parameters
    ----------
    widen : float, default=1.0
        Factor on the posterior's standard deviation (> 0); 1 is the posterior.
    temperature : float, default=1.0
        Decoder temperature, as in :class:`Decode`.

    Attributes
    ----------
    vae_ : skvae.nn.VAE
        The class's VAE.
    anchors_ : ndarray
        The class's real rows (in the VAE's units) whose posteriors are drawn from.
    """

    def __init__(self, widen: float = 1.0, temperature: float = 1.0) -> None:
        self.widen = widen
        self.temperature = temperature

    def check(self, vae=None) -> None:
        _check_positive("widen", self.widen)
        super().check(vae)

    def generate(self, n: int, rng: np.random.RandomState) -> np.ndarray:
        """``n`` new rows, flat, float32, in the VAE's units."""
        _, _, z = _posterior_draws(self.vae_, self.anchors_, n, rng, widen=float(self.widen))
        with torch.inference_mode():
            return self.vae_.generate(z, self.temperature).reshape(n, -1).numpy()


def _posterior_draws(vae, anchors: np.ndarray, n: int, rng: np.random.RandomState, widen: float):
    """``n`` real rows drawn from ``anchors``, their posterior means and a code drawn near each."""
    x = torch.as_tensor(anchors[rng.randint(len(anchors), size=n)])
    eps = torch.as_tensor(rng.standard_normal((n, vae.latent)), dtype=torch.float32)
    with torch.inference_mode():
        mu, logvar = vae.encode(x.reshape(n, *vae.input_shape))
        return x, mu, mu + widen * eps * torch.exp(0.5 * logvar)


_NAMED = {
    "decode": Decode,
    "sample": LikelihoodSample,
    "posterior": Posterior,
    "residual": Residual,
}


def make_generation(spec):
    """A fresh strategy from a name of ``_NAMED`` (``"decode"``, ...) or an instance."""
    if isinstance(spec, str):
        if spec not in _NAMED:
            raise ValueError(
                f"generation must be one of {sorted(_NAMED)} or a strategy object, got {spec!r}."
            )
        return _NAMED[spec]()
    if not all(hasattr(spec, name) for name in ("check", "fit", "generate")):
        raise TypeError(
            "generation must be a name or an object with check(vae=None), fit(vae, rows, "
            f"codes) and generate(n, rng), got {type(spec).__name__}."
        )
    return clone(spec, safe=False)


class ClassifierFilter(BaseEstimator):
    """Keep generated rows that a classifier of the real rows assigns to their class.

    Rows whose predicted probability of their intended class is below
    ``threshold`` are replaced by new draws, for up to ``max_rounds`` rounds;
    then the most probable rejected rows fill the gap, with a warning.

    Parameters
    ----------
    estimator : classifier or None, default=None
        Anything with ``fit`` and ``predict_proba``, cloned and fitted on the
        real rows; None means ``LogisticRegression(C=0.1, max_iter=1000)``.
    threshold : float, default=0.5
        Least probability of the intended class a kept row has.
    max_rounds : int, default=20
        Most rounds of draws per class.

    Attributes
    ----------
    estimator_ : classifier
        The fitted classifier.
    """

    def __init__(self, estimator=None, threshold: float = 0.5, max_rounds: int = 20) -> None:
        self.estimator = estimator
        self.threshold = threshold
        self.max_rounds = max_rounds

    def check(self) -> None:
        """Raise on settings no fit could run with."""
        if not 0 <= self.threshold <= 1:
            raise ValueError(f"threshold must lie in [0, 1], got {self.threshold!r}.")
        if int(self.max_rounds) < 1:
            raise ValueError(f"max_rounds must be >= 1, got {self.max_rounds!r}.")
        if self.estimator is not None and not hasattr(self.estimator, "predict_proba"):
            raise TypeError(
                f"estimator needs predict_proba, and {type(self.estimator).__name__} has none."
            )

    def fit(self, X: np.ndarray, y: np.ndarray) -> ClassifierFilter:
        """Fit the classifier on the real rows."""
        self.check()
        estimator = self.estimator
        if estimator is None:
            estimator = LogisticRegression(C=0.1, max_iter=1000)
        self.estimator_ = clone(estimator).fit(X, y)
        return self

    def select(self, draw: Callable[[int], np.ndarray], n: int, label) -> tuple[np.ndarray, float]:
        """``n`` rows of class ``label`` from ``draw(k)``; also the share accepted."""
        column = int(np.flatnonzero(self.estimator_.classes_ == label)[0])
        kept, rejected, n_drawn, n_kept = [], [], 0, 0
        for _ in range(int(self.max_rounds)):
            if n_kept >= n:
                break
            batch = draw(max(2 * (n - n_kept), 16))
            proba = self.estimator_.predict_proba(batch)[:, column]
            ok = proba >= self.threshold
            kept.append(batch[ok])
            rejected.append((batch[~ok], proba[~ok]))
            n_kept += int(ok.sum())
            n_drawn += len(batch)
        rate = n_kept / max(n_drawn, 1)
        out = np.concatenate(kept)[:n] if kept else draw(0)
        if len(out) < n:
            warnings.warn(
                f"Class {plain_label(label)!r}: the filter accepted {len(out)} of the "
                f"{n} rows requested after {self.max_rounds} rounds (acceptance "
                f"{rate:.1%}); the most probable rejected rows fill the gap. Lower "
                "threshold or raise max_rounds.",
                UserWarning,
                stacklevel=4,
            )
            rows = np.concatenate([r for r, _ in rejected])
            proba = np.concatenate([p for _, p in rejected])
            best = np.argsort(-proba, kind="stable")[: n - len(out)]
            out = np.concatenate([out, rows[best]])
        return out, rate

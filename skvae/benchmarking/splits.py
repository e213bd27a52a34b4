"""A class's rows split into training and validation rows, as skvae's VAE fits split them.

The VAE benchmarks time :func:`~skvae.nn.train_vae` itself, so they need the
split that :func:`~skvae.nn.fitting.fit_vae` (and hence
:class:`~skvae.VAEOversampler`) makes before calling it. :func:`vae_split` is
that split: :func:`~skvae.nn.fitting.split_rows` with the generator
:func:`~skvae.nn.seeds.make_generator` makes of the fit's seed.
"""

from __future__ import annotations

import torch

from ..nn.fitting import split_rows
from ..nn.seeds import make_generator

__all__ = ["vae_split"]


def vae_split(
    X: torch.Tensor, fraction: float, seed: int
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Rows of one class split into (train, valid) as ``fit_vae`` splits them.

    Parameters
    ----------
    X : torch.Tensor
        The class's rows (first dimension).
    fraction : float
        The ``validation_fraction``; ``round(fraction * n)`` rows are held out,
        none when that would leave no training row.
    seed : int
        The fit's seed: the rows are the ones ``fit_vae(..., seed)`` holds out.

    Returns
    -------
    train : torch.Tensor
    valid : torch.Tensor or None
        None when no row is held out.
    """
    return split_rows(X, fraction, make_generator(seed))

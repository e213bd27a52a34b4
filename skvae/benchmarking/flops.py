"""FLOPs of the paper's networks, counted rather than estimated.

:func:`count_flops` runs a callable under
``torch.utils.flop_counter.FlopCounterMode``: matmuls and convolutions, forward
and backward, 2 FLOPs per multiply-add; element-wise ops, pooling and the
optimiser are not counted. :func:`cnn_flops_per_image` and
:func:`vae_flops_per_image` apply it to :class:`~skvae.nn.PaperCNN` and
:class:`~skvae.nn.ConvVAE` on MNIST-sized images.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch.utils.flop_counter import FlopCounterMode

__all__ = [
    "MNIST_SHAPE",
    "cnn_flops_per_image",
    "count_flops",
    "forward_flops_per_image",
    "gflops",
    "vae_flops_per_image",
]

#: (C, H, W) of an MNIST image.
MNIST_SHAPE = (1, 28, 28)


def count_flops(fn: Callable[[], object]) -> int:
    """FLOPs of ``fn()`` as counted by ``FlopCounterMode``.

    Counts matmuls and convolutions (transposed ones included), forward and, if
    ``fn`` calls ``backward``, backward (only the gradients autograd actually
    computes). 2 FLOPs per multiply-add.

    Parameters
    ----------
    fn : callable
        Called once without arguments.

    Returns
    -------
    int
    """
    with FlopCounterMode(display=False) as counter:
        fn()
    return int(counter.get_total_flops())


def forward_flops_per_image(
    module: torch.nn.Module, image_shape: Sequence[int], batch: int = 8
) -> float:
    """FLOPs of one forward pass of ``module`` per input image.

    Parameters
    ----------
    module : torch.nn.Module
    image_shape : sequence of int
        Shape of one input, e.g. :data:`MNIST_SHAPE`.
    batch : int, default=8
        Images of the counted pass (zeros, without gradients).

    Returns
    -------
    float
    """
    x = torch.zeros(batch, *image_shape)
    with torch.no_grad():
        return count_flops(lambda: module(x)) / batch


def cnn_flops_per_image(batch: int = 16) -> tuple[float, float]:
    """FLOPs per MNIST image of the paper's CNN (10 classes).

    The training step is forward + backward of the cross-entropy loss with an
    Adam update (which adds no matmul or convolution FLOPs).

    Parameters
    ----------
    batch : int, default=16
        Images of the counted batch.

    Returns
    -------
    train : float
        FLOPs of a training step per image.
    forward : float
        FLOPs of a forward pass per image.
    """
    import torch.nn.functional as F

    from ..nn import PaperCNN

    with torch.random.fork_rng():
        torch.manual_seed(0)
        module = PaperCNN(MNIST_SHAPE, 10)
    optimizer = torch.optim.Adam(module.parameters(), lr=1e-3)
    x = torch.rand(batch, *MNIST_SHAPE)
    t = torch.randint(0, 10, (batch,))

    def step():
        loss = F.cross_entropy(module(x), t)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return count_flops(step) / batch, forward_flops_per_image(module, MNIST_SHAPE, batch)


def vae_flops_per_image(latent: int = 3, batch: int = 16) -> tuple[float, float, float]:
    """FLOPs per MNIST image of the :class:`~skvae.nn.ConvVAE`.

    Parameters
    ----------
    latent : int, default=3
        Latent size.
    batch : int, default=16
        Images of the counted batch.

    Returns
    -------
    train : float
        FLOPs per image of a training step: forward + backward of the VAE loss
        with an RMSprop update.
    forward : float
        FLOPs per image of the loss forward (a validation pass).
    decode : float
        FLOPs per generated image of ``VAE.generate``.
    """
    from ..nn import ConvVAE

    with torch.random.fork_rng():
        torch.manual_seed(0)
        vae = ConvVAE(MNIST_SHAPE, latent)
    x = torch.rand(batch, *MNIST_SHAPE)
    optimizer = torch.optim.RMSprop(vae.parameters(), lr=1e-3)

    def step():
        loss = vae.loss(x).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    train = count_flops(step) / batch
    with torch.no_grad():
        forward = count_flops(lambda: vae.loss(x)) / batch
    z = torch.randn(batch, latent)
    decode = count_flops(lambda: vae.generate(z)) / batch
    return train, forward, decode


def gflops(images_per_s: float, flops_per_image: float) -> float:
    """Achieved GFLOP/s of ``images_per_s`` images of ``flops_per_image`` FLOPs each."""
    return images_per_s * flops_per_image / 1e9

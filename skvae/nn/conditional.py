"""A class-conditional VAE shared by all classes, and its per-class view.

Not in the paper, which trains one VAE per class. A conditional VAE (Sohn et al.,
2015) sees the class as an input of its encoder and decoder, so one decoder learns
strokes from every class's rows and the latent code is left to carry what varies
within a class (slant, width, thickness), learned across all of them.

The label travels *inside* the input tensor, as ``n_classes`` one-hot channels
(images) or columns (tables) after the data. :func:`skvae.nn.train_vae` and
:func:`skvae.nn.evaluate_vae` then train it as any :class:`~skvae.nn.VAE`, and the
encoder reads the label as the usual conditional conv encoder does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from .vae import (
    VAE,
    conv_decoder,
    conv_encoder,
    init_alive,
    keras_init,
    mlp_decoder,
    mlp_encoder,
    standard_normal,
)


class ConditionalVAE(VAE):
    """A Gaussian-latent VAE whose encoder and decoder also see the class.

    Inputs are *packed*: the data of shape ``(N, *input_shape)`` followed by the
    one-hot class along dimension 1 (see :meth:`pack`), so the generic training
    loop needs no label path. The decoder receives the code with the one-hot
    class appended.

    Parameters
    ----------
    encoder : torch.nn.Module
        Maps packed inputs ``(N, input_shape[0] + n_classes, *input_shape[1:])``
        to ``(N, encoder_dim)`` features.
    decoder : torch.nn.Module
        Maps ``(N, latent + n_classes)`` to the likelihood's parameter of shape
        ``(N, *input_shape)``.
    latent : int
        Size of the latent space.
    encoder_dim : int
        Number of features the encoder outputs.
    input_shape : tuple of int
        Shape of one sample *without* the label, e.g. ``(1, 28, 28)`` or ``(20,)``.
    n_classes : int
        Number of classes.
    likelihood : {"bernoulli", "gaussian"}, default="bernoulli"
        As in :class:`~skvae.nn.VAE`.
    categorical : sequence of (int, int), default=()
        As in :class:`~skvae.nn.VAE`, over the features without the label.

    Examples
    --------
    >>> import torch
    >>> from skvae.nn import ConditionalConvVAE
    >>> cvae = ConditionalConvVAE((1, 8, 8), n_classes=3, latent=2)
    >>> x = cvae.pack(torch.rand(4, 1, 8, 8), torch.tensor([0, 1, 2, 0]))
    >>> x.shape, cvae.loss(x).shape
    (torch.Size([4, 4, 8, 8]), torch.Size([4]))
    >>> cvae.for_class(2).sample(5).shape
    torch.Size([5, 1, 8, 8])
    """

    def __init__(
        self,
        encoder: nn.Module,
        decoder: nn.Module,
        *,
        latent: int,
        encoder_dim: int,
        input_shape: tuple[int, ...],
        n_classes: int,
        likelihood: str = "bernoulli",
        categorical: Sequence[tuple[int, int]] = (),
    ) -> None:
        if int(n_classes) < 1:
            raise ValueError(f"n_classes must be >= 1, got {n_classes}.")
        super().__init__(
            encoder,
            decoder,
            latent=latent,
            encoder_dim=encoder_dim,
            input_shape=input_shape,
            likelihood=likelihood,
            categorical=categorical,
        )
        self.n_classes = int(n_classes)

    def pack(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """``x`` of shape ``(N, *input_shape)`` with the one-hot ``labels`` appended.

        ``labels`` are class indices in ``[0, n_classes)``. For images the one-hot
        class fills ``n_classes`` constant channels; for tables, columns.
        """
        onehot = nn.functional.one_hot(labels.long(), self.n_classes).to(x.dtype)
        extra = onehot.reshape(len(x), self.n_classes, *([1] * (x.dim() - 2)))
        return torch.cat([x, extra.expand(-1, -1, *x.shape[2:])], dim=1)

    def augment_batch(
        self, x: torch.Tensor, augment: Callable, generator: torch.Generator | None
    ) -> torch.Tensor:
        """A packed batch with its data augmented and its class channels untouched."""
        c = self.input_shape[0]
        return torch.cat([augment(x[:, :c], generator=generator), x[:, c:]], dim=1)

    def unpack(self, packed: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Split a packed batch into the data and its one-hot class."""
        c = self.input_shape[0]
        onehot = packed[:, c:].flatten(2)[:, :, 0] if packed.dim() > 2 else packed[:, c:]
        return packed[:, :c], onehot

    def _decoder_input(self, z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        # The decoder sees the class beside the code.
        return torch.cat([z, self.unpack(x)[1].to(z.dtype)], dim=1)

    def _reconstruction_target(self, x: torch.Tensor) -> torch.Tensor:
        # The label rides in the input but is not reconstructed.
        return self.unpack(x)[0]

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        raise TypeError("A ConditionalVAE samples one class at a time: use for_class(k).sample(n).")

    def for_class(self, index: int) -> ClassConditionedVAE:
        """A view of this model bound to class ``index`` (shares its weights)."""
        return ClassConditionedVAE(self, index)


class ClassConditionedVAE(nn.Module):
    """One class's view of a :class:`ConditionalVAE`, used like a class-VAE.

    It takes and returns unpacked data and plain codes, as a
    :class:`~skvae.nn.VAE` trained on that class alone would, so code written
    for per-class VAEs (latent samplers, residual generation, filters) works
    with a shared conditional model. Views of one model share its weights.

    Parameters
    ----------
    model : ConditionalVAE
        The shared model.
    index : int
        The class index in ``[0, model.n_classes)``.
    """

    def __init__(self, model: ConditionalVAE, index: int) -> None:
        super().__init__()
        if not 0 <= int(index) < model.n_classes:
            raise ValueError(f"index must lie in [0, {model.n_classes}), got {index}.")
        self.model = model
        self.index = int(index)

    @property
    def latent(self) -> int:
        return self.model.latent

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self.model.input_shape

    @property
    def likelihood(self) -> str:
        return self.model.likelihood

    @property
    def categorical(self) -> tuple[tuple[int, int], ...]:
        return self.model.categorical

    @property
    def log_scale(self) -> torch.Tensor:
        """The shared Gaussian likelihood's per-feature log-scale (Gaussian models only)."""
        return self.model.log_scale

    def _with_class(self, z: torch.Tensor) -> torch.Tensor:
        """Codes ``z`` with this class's one-hot appended: the decoder's input."""
        onehot = torch.zeros(len(z), self.model.n_classes, dtype=z.dtype, device=z.device)
        onehot[:, self.index] = 1
        return torch.cat([z, onehot], dim=1)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior mean and log-variance of rows ``x`` of this class."""
        labels = torch.full((len(x),), self.index, device=x.device)
        return self.model.encode(self.model.pack(x, labels))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """The likelihood's raw parameter for codes ``z`` of this class."""
        return self.model.decode(self._with_class(z))

    @torch.inference_mode()
    def generate(self, z: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
        """Decode codes ``z`` to samples of this class (see :meth:`VAE.generate`)."""
        return self.model.generate(self._with_class(z), temperature)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Decode ``n`` draws from the prior N(0, I) as this class."""
        param = next(self.model.parameters())
        return self.generate(
            standard_normal((n, self.latent), generator, param.device, param.dtype)
        )


class ConditionalConvVAE(ConditionalVAE):
    """The paper's :class:`~skvae.nn.ConvVAE`, conditioned on the class.

    The one-hot class enters the encoder as ``n_classes`` constant channels and
    the decoder's first layer beside the code; the layers are otherwise the
    paper's.

    Parameters
    ----------
    image_shape : tuple of int
        ``(C, H, W)`` with even ``H`` and ``W``.
    n_classes : int
        Number of classes.
    latent : int, default=3
        Size of the latent space.
    hidden : int, default=128
        Width of the fully connected layers.
    filters : int, default=64
        Channels of the inner convolutions.
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int],
        n_classes: int,
        latent: int = 3,
        *,
        hidden: int = 128,
        filters: int = 64,
    ) -> None:
        c, h, w = (int(s) for s in image_shape)
        k = int(n_classes)
        encoder = conv_encoder(c + k, h, w, hidden=hidden, filters=filters)
        decoder = conv_decoder(latent + k, c, h, w, hidden=hidden, filters=filters)
        super().__init__(
            encoder,
            decoder,
            latent=latent,
            encoder_dim=hidden,
            input_shape=(c, h, w),
            n_classes=k,
            likelihood="bernoulli",
        )
        keras_init(self)
        init_alive(encoder[1])


class ConditionalMLPVAE(ConditionalVAE):
    """The fully connected :class:`~skvae.nn.MLPVAE`, conditioned on the class.

    Parameters
    ----------
    n_features : int
        Number of input features (without the class).
    n_classes : int
        Number of classes.
    latent : int, default=3
        Size of the latent space.
    hidden : tuple of int, default=(128, 64)
        Widths of the encoder's hidden layers; the decoder mirrors them.
    likelihood : {"gaussian", "bernoulli"}, default="gaussian"
        As in :class:`~skvae.nn.MLPVAE`.
    categorical : sequence of (int, int), default=()
        One-hot column ranges of the features (class excluded) with a
        categorical likelihood, as in :class:`~skvae.nn.VAE`.
    """

    def __init__(
        self,
        n_features: int,
        n_classes: int,
        latent: int = 3,
        *,
        hidden: tuple[int, ...] = (128, 64),
        likelihood: str = "gaussian",
        categorical: Sequence[tuple[int, int]] = (),
    ) -> None:
        k = int(n_classes)
        super().__init__(
            mlp_encoder(int(n_features) + k, hidden),
            mlp_decoder(int(latent) + k, n_features, hidden),
            latent=latent,
            encoder_dim=int(hidden[-1]) if hidden else int(n_features) + k,
            input_shape=(int(n_features),),
            n_classes=k,
            likelihood=likelihood,
            categorical=categorical,
        )
        keras_init(self)

"""Variational auto-encoders in plain torch: the paper's ConvVAE, an MLPVAE, the ELBO.

Nothing here knows about scikit-learn; :class:`skvae.VAEOversampler` translates
arrays and random states into these modules.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import nn
from torch.nn import functional as F

# Bounds on the encoder's log-variance. Unbounded, RMSprop at lr 1e-3 can drive it
# to +-inf on tiny classes and poison the loss with NaN (seen at 250 MNIST images).
LOGVAR_MIN = -10.0
LOGVAR_MAX = 6.0

_LIKELIHOODS = ("bernoulli", "gaussian")


class VAE(nn.Module):
    """A Gaussian-latent VAE around any encoder and decoder.

    Parameters
    ----------
    encoder : torch.nn.Module
        Maps a batch of inputs of shape ``(N, *input_shape)`` to features of shape
        ``(N, encoder_dim)``.
    decoder : torch.nn.Module
        Maps latent codes of shape ``(N, latent)`` to the likelihood's parameter of
        shape ``(N, *input_shape)``: logits for ``"bernoulli"``, means for
        ``"gaussian"``.
    latent : int
        Size of the latent space.
    encoder_dim : int
        Number of features the encoder outputs; two linear heads map them to the
        posterior mean and log-variance.
    input_shape : tuple of int
        Shape of one sample, e.g. ``(1, 28, 28)`` or ``(20,)``.
    likelihood : {"bernoulli", "gaussian"}, default="bernoulli"
        ``"bernoulli"`` is the paper's pixel-wise binary cross-entropy (data in
        [0, 1]); ``"gaussian"`` has a learned per-feature scale and suits
        standardised tabular data.
    categorical : sequence of (int, int), default=()
        Column ranges ``[start, stop)`` of one-hot groups in a flat
        ``"gaussian"`` input (a categorical feature each). Their decoder outputs
        are logits of a categorical likelihood (cross-entropy, not a Gaussian),
        and the likelihood's mean there is the softmax, the probability of each
        category. Ranges may not overlap.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from skvae.nn import VAE
    >>> vae = VAE(nn.Sequential(nn.Linear(4, 8), nn.ReLU()), nn.Linear(2, 4),
    ...           latent=2, encoder_dim=8, input_shape=(4,), likelihood="gaussian")
    >>> vae.sample(3, generator=torch.Generator().manual_seed(0)).shape
    torch.Size([3, 4])
    """

    #: One-hot column ranges with a categorical likelihood (also what models
    #: pickled before the option existed read).
    categorical: tuple[tuple[int, int], ...] = ()

    def __init__(
        self,
        encoder: nn.Module,
        decoder: nn.Module,
        *,
        latent: int,
        encoder_dim: int,
        input_shape: tuple[int, ...],
        likelihood: str = "bernoulli",
        categorical: Sequence[tuple[int, int]] = (),
    ) -> None:
        super().__init__()
        if likelihood not in _LIKELIHOODS:
            raise ValueError(f"likelihood must be one of {_LIKELIHOODS}, got {likelihood!r}.")
        self.categorical = check_categorical_groups(categorical, likelihood, tuple(input_shape))
        self.encoder = encoder
        self.decoder = decoder
        self.latent = int(latent)
        self.input_shape = tuple(input_shape)
        self.likelihood = likelihood
        self.mean_head = nn.Linear(encoder_dim, self.latent)
        self.logvar_head = nn.Linear(encoder_dim, self.latent)
        if likelihood == "gaussian":
            self.log_scale = nn.Parameter(torch.zeros(self.input_shape))

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior mean and (bounded) log-variance of ``x``."""
        h = self.encoder(x)
        logvar = self.logvar_head(h).clamp(LOGVAR_MIN, LOGVAR_MAX)
        return self.mean_head(h), logvar

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """The likelihood's raw parameter: logits (bernoulli) or means (gaussian)."""
        return self.decoder(z)

    def mean(self, params: torch.Tensor) -> torch.Tensor:
        """The likelihood's mean, i.e. what a generated sample is.

        Sigmoid of the logits (bernoulli); the means (gaussian), with each
        categorical group's softmax in its columns.
        """
        if self.likelihood == "bernoulli":
            return torch.sigmoid(params)
        if not self.categorical:
            return params
        out = params.clone()
        for start, stop in self.categorical:
            out[:, start:stop] = torch.softmax(params[:, start:stop], dim=1)
        return out

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None):
        """Encode, draw one reparameterised code, decode.

        Returns ``(params, mu, logvar)``.
        """
        mu, logvar = self.encode(x)
        eps = standard_normal(mu.shape, generator, mu.device, mu.dtype)
        z = mu + eps * torch.exp(0.5 * logvar)
        return self.decode(self._decoder_input(z, x)), mu, logvar

    def augment_batch(
        self, x: torch.Tensor, augment: Callable, generator: torch.Generator | None
    ) -> torch.Tensor:
        """A training batch ``x`` after ``augment(x, generator=generator)``."""
        return augment(x, generator=generator)

    def _decoder_input(self, z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """What the decoder gets for codes ``z`` of inputs ``x``: the codes here."""
        return z

    def _reconstruction_target(self, x: torch.Tensor) -> torch.Tensor:
        """The part of an input the likelihood scores: all of it here."""
        return x

    def reconstruction_nll(self, x: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        """Per-sample negative log-likelihood, summed over features."""
        if self.likelihood == "bernoulli":
            nll = F.binary_cross_entropy_with_logits(params, x, reduction="none")
        else:
            log_scale = self.log_scale.clamp(-5.0, 5.0)
            nll = (
                0.5 * ((x - params) * torch.exp(-log_scale)) ** 2
                + log_scale
                + 0.5 * math.log(2 * math.pi)
            )
            if self.categorical:
                return self._mixed_nll(x, params, nll)
        return nll.flatten(1).sum(1)

    def _mixed_nll(self, x: torch.Tensor, params: torch.Tensor, gaussian: torch.Tensor):
        """Gaussian NLL of the other columns plus each one-hot group's cross-entropy."""
        continuous = torch.ones(gaussian.shape[-1], dtype=gaussian.dtype, device=x.device)
        total = 0.0
        for start, stop in self.categorical:
            continuous[start:stop] = 0.0
            log_p = torch.log_softmax(params[:, start:stop], dim=1)
            total = total - (x[:, start:stop] * log_p).sum(1)
        return total + (gaussian * continuous).sum(1)

    def loss(
        self,
        x: torch.Tensor,
        beta: float = 1.0,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Per-sample negative ELBO: reconstruction NLL + ``beta`` * KL."""
        params, mu, logvar = self(x, generator)
        target = self._reconstruction_target(x)
        return self.reconstruction_nll(target, params) + beta * kl_divergence(mu, logvar)

    @torch.inference_mode()
    def generate(self, z: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
        """Decode latent codes ``z`` to samples (the likelihood's mean).

        ``temperature`` divides the Bernoulli logits before the sigmoid: below 1
        it pushes each pixel toward 0 or 1, sharpening the blurred means a VAE
        decodes; 1 is the plain mean. A Gaussian likelihood has no such knob.
        """
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}.")
        params = self.decode(z)
        if temperature != 1.0:
            if self.likelihood != "bernoulli":
                raise ValueError(
                    "temperature != 1 needs the 'bernoulli' likelihood (image data); "
                    f"this VAE's likelihood is {self.likelihood!r}."
                )
            params = params / temperature
        return self.mean(params)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Decode ``n`` draws from the prior N(0, I)."""
        param = next(self.parameters())
        return self.generate(
            standard_normal((n, self.latent), generator, param.device, param.dtype)
        )


def check_categorical_groups(
    groups: Sequence[tuple[int, int]], likelihood: str, input_shape: tuple[int, ...]
) -> tuple[tuple[int, int], ...]:
    """``groups`` as sorted ``(start, stop)`` int pairs; raise on ranges a VAE cannot model."""
    checked = sorted((int(start), int(stop)) for start, stop in groups)
    if not checked:
        return ()
    if likelihood != "gaussian" or len(input_shape) != 1:
        raise ValueError(
            "categorical groups need a 'gaussian' likelihood over flat rows; got "
            f"likelihood={likelihood!r}, input_shape={input_shape}."
        )
    end = 0
    for start, stop in checked:
        if not end <= start < stop <= input_shape[0]:
            raise ValueError(
                f"categorical groups must be non-overlapping ranges within the "
                f"{input_shape[0]} features, got {checked}."
            )
        end = stop
    return tuple(checked)


def standard_normal(shape, generator, device, dtype) -> torch.Tensor:
    """Standard normal noise from ``generator`` (which may live on another device)."""
    if generator is None:
        return torch.randn(shape, device=device, dtype=dtype)
    noise = torch.randn(shape, generator=generator, device=generator.device)
    return noise.to(device=device, dtype=dtype)


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) per sample."""
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1)


class ConvVAE(VAE):
    """The paper's convolutional VAE (Table 1 and the authors' Keras code).

    Encoder: Conv(C, 2x2, same) -> Conv(filters, 2x2, stride 2) ->
    Conv(filters, 3x3, same) x 2 -> Flatten -> FC(hidden) -> mean / log-variance.
    Decoder: FC(hidden) -> FC(filters * H/2 * W/2) -> reshape ->
    ConvT(filters, 3x3, same) x 2 -> ConvT(filters, 3x3, stride 2, valid) ->
    Conv(C, 2x2, valid) -> sigmoid (applied by :meth:`VAE.mean`). ReLU elsewhere.

    Parameters
    ----------
    image_shape : tuple of int
        ``(C, H, W)`` with even ``H`` and ``W``.
    latent : int, default=3
        Size of the latent space.
    hidden : int, default=128
        Width of the fully connected layers.
    filters : int, default=64
        Channels of the inner convolutions.

    Examples
    --------
    >>> import torch
    >>> from skvae.nn import ConvVAE
    >>> vae = ConvVAE((1, 8, 8), latent=2)
    >>> vae.loss(torch.rand(5, 1, 8, 8)).shape
    torch.Size([5])
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int],
        latent: int = 3,
        *,
        hidden: int = 128,
        filters: int = 64,
    ) -> None:
        c, h, w = (int(s) for s in image_shape)
        encoder = conv_encoder(c, h, w, hidden=hidden, filters=filters)
        decoder = conv_decoder(latent, c, h, w, hidden=hidden, filters=filters)
        super().__init__(
            encoder,
            decoder,
            latent=latent,
            encoder_dim=hidden,
            input_shape=(c, h, w),
            likelihood="bernoulli",
        )
        keras_init(self)
        init_alive(encoder[1])


def conv_encoder(c: int, h: int, w: int, *, hidden: int = 128, filters: int = 64) -> nn.Sequential:
    """The paper's convolutional encoder: ``(N, c, h, w)`` images to ``(N, hidden)``.

    Its first layer is the ``c``-channel bottleneck of the authors' code; call
    :func:`init_alive` on it (``encoder[1]``) after any re-initialisation.
    """
    if h % 2 or w % 2:
        raise ValueError(f"ConvVAE needs an even image height and width, got {h}x{w}.")
    return nn.Sequential(
        # Keras' "same" for an even kernel pads one extra row/column at the end.
        nn.ZeroPad2d((0, 1, 0, 1)),
        nn.Conv2d(c, c, 2),
        nn.ReLU(),
        nn.Conv2d(c, filters, 2, stride=2),
        nn.ReLU(),
        nn.Conv2d(filters, filters, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(filters, filters, 3, padding=1),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(filters * (h // 2) * (w // 2), hidden),
        nn.ReLU(),
    )


def conv_decoder(
    n_in: int, c: int, h: int, w: int, *, hidden: int = 128, filters: int = 64
) -> nn.Sequential:
    """The paper's convolutional decoder: ``(N, n_in)`` codes to ``(N, c, h, w)`` logits."""
    return nn.Sequential(
        nn.Linear(n_in, hidden),
        nn.ReLU(),
        nn.Linear(hidden, filters * (h // 2) * (w // 2)),
        nn.ReLU(),
        nn.Unflatten(1, (filters, h // 2, w // 2)),
        nn.ConvTranspose2d(filters, filters, 3, padding=1),
        nn.ReLU(),
        nn.ConvTranspose2d(filters, filters, 3, padding=1),
        nn.ReLU(),
        # valid, stride 2: H/2 -> H + 1; the 2x2 valid conv brings it back to H.
        nn.ConvTranspose2d(filters, filters, 3, stride=2),
        nn.ReLU(),
        nn.Conv2d(filters, c, 2),
    )


def mlp_encoder(n_in: int, hidden: tuple[int, ...]) -> nn.Sequential:
    """Linear + ReLU layers of widths ``hidden`` (output: ``hidden[-1]`` features)."""
    widths = [int(n_in), *hidden]
    layers: list[nn.Module] = []
    for a, b in zip(widths[:-1], widths[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers)


def mlp_decoder(n_in: int, n_out: int, hidden: tuple[int, ...]) -> nn.Sequential:
    """The mirror of :func:`mlp_encoder`: ``n_in`` codes through ``reversed(hidden)``."""
    back = [int(n_in), *reversed(hidden)]
    layers: list[nn.Module] = []
    for a, b in zip(back[:-1], back[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    layers.append(nn.Linear(back[-1], int(n_out)))
    return nn.Sequential(*layers)


def keras_init(module: nn.Module) -> None:
    """Glorot-uniform weights and zero biases, as the authors' Keras code had.

    PyTorch's default init has a third of that variance per layer: through the
    encoder's five layers the codes of different images start ~15x closer,
    and with few images the KL term then collapses the posterior before the
    encoder learns to separate them.
    """
    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.xavier_uniform_(layer.weight)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)


def init_alive(conv: nn.Conv2d) -> None:
    """Start the paper's C-channel first conv + ReLU as a positive local average.

    With PyTorch's random init this C-filter bottleneck is dead on every pixel
    of MNIST-like inputs for about 1 seed in 4 (and nearly dead for more): the
    encoder then sees nothing, the posterior collapses and every sample of a
    class is the same average image. A zero bias and positive weights keep it
    alive; each output channel starts as its input channel's 2x2 mean.
    """
    with torch.no_grad():
        c = conv.weight.shape[0]
        noise = torch.rand(conv.weight.shape) * 0.05
        conv.weight.copy_(noise + 0.25 * torch.eye(c).reshape(c, c, 1, 1))
        conv.bias.zero_()


class MLPVAE(VAE):
    """A fully connected VAE for tabular features.

    Parameters
    ----------
    n_features : int
        Number of input features.
    latent : int, default=3
        Size of the latent space.
    hidden : tuple of int, default=(128, 64)
        Widths of the encoder's hidden layers; the decoder mirrors them.
    likelihood : {"gaussian", "bernoulli"}, default="gaussian"
        ``"gaussian"`` for standardised real features, ``"bernoulli"`` for data in
        [0, 1].
    categorical : sequence of (int, int), default=()
        One-hot column ranges with a categorical likelihood, as in :class:`VAE`.

    Examples
    --------
    >>> import torch
    >>> from skvae.nn import MLPVAE
    >>> MLPVAE(6, latent=2).loss(torch.randn(4, 6)).shape
    torch.Size([4])
    """

    def __init__(
        self,
        n_features: int,
        latent: int = 3,
        *,
        hidden: tuple[int, ...] = (128, 64),
        likelihood: str = "gaussian",
        categorical: Sequence[tuple[int, int]] = (),
    ) -> None:
        super().__init__(
            mlp_encoder(n_features, hidden),
            mlp_decoder(latent, n_features, hidden),
            latent=latent,
            encoder_dim=int(hidden[-1]) if hidden else int(n_features),
            input_shape=(int(n_features),),
            likelihood=likelihood,
            categorical=categorical,
        )
        keras_init(self)

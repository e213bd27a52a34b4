"""Plain-torch building blocks: VAEs, the paper's CNN and the VAE training loop."""

from .training import TrainResult, evaluate_vae, train_vae
from .vae import MLPVAE, VAE, ConvVAE, kl_divergence

__all__ = [
    "VAE",
    "ConvVAE",
    "MLPVAE",
    "kl_divergence",
    "train_vae",
    "evaluate_vae",
    "TrainResult",
]

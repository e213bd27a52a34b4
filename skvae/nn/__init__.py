"""Plain-torch building blocks: VAEs, the paper's CNN and the one VAE training recipe."""

from .batched import train_vaes_batched
from .cnn import PaperCNN
from .conditional import (
    ClassConditionedVAE,
    ConditionalConvVAE,
    ConditionalMLPVAE,
    ConditionalVAE,
)
from .early_stopping import EarlyStopper
from .fitting import (
    FittedVAE,
    VAETraining,
    fit_class_vaes,
    fit_conditional_vae,
    fit_vae,
)
from .training import TrainResult, evaluate_vae, train_vae
from .vae import MLPVAE, VAE, ConvVAE, kl_divergence

__all__ = [
    "VAE",
    "ConvVAE",
    "PaperCNN",
    "MLPVAE",
    "ConditionalVAE",
    "ConditionalConvVAE",
    "ConditionalMLPVAE",
    "ClassConditionedVAE",
    "kl_divergence",
    "train_vae",
    "train_vaes_batched",
    "evaluate_vae",
    "TrainResult",
    "EarlyStopper",
    "VAETraining",
    "FittedVAE",
    "fit_vae",
    "fit_class_vaes",
    "fit_conditional_vae",
]

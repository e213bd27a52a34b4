"""skvae: data augmentation with per-class variational auto-encoders, scikit-learn style."""

from .oversampler import VAEOversampler

__all__ = ["VAEOversampler"]
__version__ = "0.1.0"

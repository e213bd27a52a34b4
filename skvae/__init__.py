"""skvae: data augmentation with per-class variational auto-encoders, scikit-learn style.

Public API
----------
VAEOversampler
    imbalanced-learn over-sampler training one VAE per class.
SemiSupervisedVAEOversampler
    The same with one VAE learnt also from unlabelled rows (``y == -1``).
VAEEncoder
    scikit-learn transformer to and from one VAE's latent space.
VAETraining
    How their VAEs train (the ``training`` parameter of both).
CNNClassifier
    The paper's CNN as a scikit-learn compatible skorch classifier.
RandomAffine, ElasticDistortion, RandomFlip, Compose
    Batched, seeded image augmentation in torch (affine maps, elastic
    distortion, flips, and a chain of transforms).
BalancedSubsetSplit
    Class-balanced training subsets with a fixed test subset, as ``cv=``.
load_mnist, load_digits
    The paper's data set and the embedded 8x8 default.

Submodules: ``skvae.metrics`` (quality of generated samples), ``skvae.latent``
(latent samplers), ``skvae.nn`` (torch modules), ``skvae.experiment`` (the
paper's experiment), ``skvae.benchmarking`` (what ``benchmarks/`` measures with;
imported on its own).
"""

from .augment import Compose, ElasticDistortion, RandomAffine, RandomFlip
from .classifier import CNNClassifier
from .datasets import load_digits, load_mnist
from .encoder import VAEEncoder
from .model_selection import BalancedSubsetSplit
from .nn.fitting import VAETraining
from .oversampler import VAEOversampler
from .semi_supervised import SemiSupervisedVAEOversampler

__all__ = [
    "BalancedSubsetSplit",
    "CNNClassifier",
    "Compose",
    "ElasticDistortion",
    "RandomAffine",
    "RandomFlip",
    "SemiSupervisedVAEOversampler",
    "VAEEncoder",
    "VAEOversampler",
    "VAETraining",
    "load_digits",
    "load_mnist",
]
__version__ = "0.1.0"

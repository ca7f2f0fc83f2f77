"""skaae: adversarial autoencoders as scikit-learn estimators."""

from .autoencoder import AdversarialAutoencoder
from .persistence import UnsafeOrCorruptFileError, load, save
from .priors import (
    CategoricalPrior,
    GaussianMixturePrior,
    GaussianPrior,
    Prior,
    SwissRollPrior,
    UniformPrior,
)
from .training import TrainingDivergedError

__version__ = "0.1.0"

__all__ = [
    "AdversarialAutoencoder",
    "CategoricalPrior",
    "GaussianMixturePrior",
    "GaussianPrior",
    "Prior",
    "SwissRollPrior",
    "TrainingDivergedError",
    "UniformPrior",
    "UnsafeOrCorruptFileError",
    "__version__",
    "load",
    "save",
]

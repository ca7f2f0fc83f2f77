"""skaae: adversarial autoencoders as scikit-learn estimators."""

from .autoencoder import AdversarialAutoencoder
from .classifier import AAEClassifier
from .clustering import AAEClustering
from .embedding import AAEEmbedding
from .persistence import UnsafeOrCorruptFileError, load, save
from .priors import (
    CategoricalPrior,
    GaussianMixturePrior,
    GaussianPrior,
    Prior,
    SwissRollPrior,
    UniformPrior,
)
from .tabular import TableTransformer
from .training import TrainingDivergedError
from .vae import VariationalAutoencoder

__version__ = "0.1.0"

__all__ = [
    "AAEClassifier",
    "AAEClustering",
    "AAEEmbedding",
    "AdversarialAutoencoder",
    "CategoricalPrior",
    "GaussianMixturePrior",
    "GaussianPrior",
    "Prior",
    "SwissRollPrior",
    "TableTransformer",
    "TrainingDivergedError",
    "UniformPrior",
    "UnsafeOrCorruptFileError",
    "VariationalAutoencoder",
    "__version__",
    "load",
    "save",
]

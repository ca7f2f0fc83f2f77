"""scikit-learn's own estimator checks, on a few configurations."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skaae import (
    AAEClassifier,
    AAEClustering,
    AAEEmbedding,
    AdversarialAutoencoder,
    GaussianMixturePrior,
)

# Tiny networks and one epoch: the checks test the API contract, not quality.
_FAST = {
    "hidden_layer_sizes": (16,),
    "discriminator_layer_sizes": (16,),
    "max_iter": 1,
    "device": "cpu",
    "random_state": 0,
}

ESTIMATORS = [
    AdversarialAutoencoder(**_FAST),
    AdversarialAutoencoder(prior="mixture", posterior="gaussian", **_FAST),
    AdversarialAutoencoder(
        n_components=3,
        prior=GaussianMixturePrior(n_modes=4, scale=0.5),
        posterior="universal",
        reconstruction_loss="mse",
        batch_size=16,
        **_FAST,
    ),
    AdversarialAutoencoder(conditional=True, **_FAST),
    # Enough epochs for scikit-learn's checks that a classifier (a clustering)
    # learns easy blobs.
    AAEClassifier(**{**_FAST, "max_iter": 30, "hidden_layer_sizes": (32,)}),
    AAEClustering(n_clusters=3, **{**_FAST, "max_iter": 30, "hidden_layer_sizes": (32,)}),
    AAEEmbedding(**_FAST),
]

# Every check passes; nothing is listed in expected_failed_checks.


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)

"""The worked examples of CONTRIBUTING.md ("Extending skaae"), run.

Each class below is copied verbatim from the guide
(``test_the_guide_shows_these_classes`` checks that it still is), plugged in
the way the guide says a class from outside skaae is plugged in, and fitted
on a little of the digits. The registry entries are made with
``monkeypatch.setitem``, so every test leaves the registries as it found them;
the estimators' parameter validation and ``skaae.save`` read the registries
at each call, so an entry is a valid option as soon as it is made.
"""

import inspect
import math
import numbers
import re
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import stats
from sklearn.datasets import load_digits
from sklearn.utils._param_validation import Interval, InvalidParameterError

import skaae
from skaae import AdversarialAutoencoder
from skaae.losses import RECONSTRUCTION_LOSSES, MeanSquaredError, ReconstructionLoss
from skaae.nn import ENCODERS, Encoder
from skaae.priors import PRIORS, Prior, resolve_prior
from skaae.regularisers import Regulariser

GUIDE = Path(__file__).resolve().parents[1] / "CONTRIBUTING.md"

TINY = {
    "n_components": 2,
    "hidden_layer_sizes": (16,),
    "discriminator_layer_sizes": (8,),
    "max_iter": 2,
    "batch_size": 64,
    "random_state": 0,
    "device": "cpu",
}


@pytest.fixture(scope="module")
def X():
    """The first 200 digits, pixels in [0, 1]."""
    return load_digits().data[:200] / 16.0


# ------------------------------------------------------- the guide's classes
# 1. A prior (skaae/priors.py).
class LaplacePrior(Prior):
    """Laplace prior: independent coordinates of density exp(-|z| / scale) / (2 scale).

    Parameters
    ----------
    scale : float, default=1.0
        Scale of every coordinate; its standard deviation is ``sqrt(2) * scale``.
    """

    _parameter_constraints = {"scale": [Interval(numbers.Real, 0, None, closed="neither")]}

    def __init__(self, scale=1.0):
        self.scale = scale

    def _build(self):
        self.std_ = math.sqrt(2.0) * float(self.scale)

    def _draw(self, n_samples, generator, device, component):
        # The difference of two standard exponential draws is a standard Laplace draw.
        shape = (2, n_samples, self.n_components_)
        exponential = torch.empty(shape, device=device).exponential_(generator=generator)
        return self.scale * (exponential[0] - exponential[1])

    def log_prob(self, z):
        normaliser = self.n_components_ * math.log(2.0 * self.scale)
        return -z.abs().sum(dim=1) / self.scale - normaliser


# 2. An encoder kind (skaae/nn.py).
class FixedVarianceEncoder(Encoder):
    """Gaussian posterior of fixed spread: z = f(x) + noise_std * eps, eps ~ N(0, I).

    Training draws one z per input; ``transform`` returns f(x).
    """

    noise_std = 0.1
    stochastic = True

    def forward(self, x, generator=None):
        mean = self.body(x)
        eps = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
        return mean + self.noise_std * eps

    def embed(self, x, generator=None):
        return self.body(x)


# 3. A reconstruction loss (skaae/losses.py).
class Huber(ReconstructionLoss):
    """Huber loss on standardised features: squared below ``delta``, linear above.

    The features are standardised as for the MSE loss; a large error (an
    outlier) weighs linearly rather than quadratically.
    """

    name = "huber"
    delta = 1.0

    @staticmethod
    def input_scaling(summary):
        return MeanSquaredError.input_scaling(summary)

    def loss(self, output, target):
        return F.huber_loss(output, target, delta=self.delta)


# 4. A regulariser (skaae/regularisers.py) ...
class CodeNorm(Regulariser):
    """L2 penalty on the codes: pulls them towards the origin.

    Parameters
    ----------
    weight : float
        Weight of the penalty next to the reconstruction loss.
    """

    names = ("code_norm_loss",)

    def reconstruction_term(self, step, trainer):
        return step.reconstruction_codes.square().mean()


# ... and an estimator that adds it to its list (user code).
class CodeNormAutoencoder(AdversarialAutoencoder):
    """An AdversarialAutoencoder whose objective also has the CodeNorm penalty."""

    def _regularisers(self):
        return [*super()._regularisers(), CodeNorm(0.1)]


GUIDE_CLASSES = [LaplacePrior, FixedVarianceEncoder, Huber, CodeNorm, CodeNormAutoencoder]


def test_the_guide_shows_these_classes():
    if not GUIDE.exists():
        pytest.skip("CONTRIBUTING.md is not next to the tests (an installed copy)")
    blocks = "\n".join(re.findall(r"```python\n(.*?)```", GUIDE.read_text(), flags=re.S))
    for cls in GUIDE_CLASSES:
        assert inspect.getsource(cls) in blocks, f"CONTRIBUTING.md no longer shows {cls.__name__}"


# ------------------------------------------------------------------- 1. prior
def test_laplace_prior(X, monkeypatch):
    monkeypatch.setitem(PRIORS, "laplace", LaplacePrior)
    # resolve_prior reads PRIORS at each call: the name is a prior now...
    bound = resolve_prior("laplace", 3)
    assert isinstance(bound, LaplacePrior)
    assert bound.n_components_ == 3
    # ... for the estimators too, by name or as an instance.
    assert isinstance(AdversarialAutoencoder(prior="laplace", **TINY).fit(X).prior_, LaplacePrior)
    aae = AdversarialAutoencoder(prior=LaplacePrior(scale=0.5), **TINY).fit(X)
    prior = aae.prior_
    assert isinstance(prior, LaplacePrior)
    assert prior.n_components_ == 2
    assert prior.std_ == pytest.approx(math.sqrt(2.0) * 0.5)
    assert np.isfinite(aae.transform(X)).all()

    Z = prior.sample(20_000, random_state=0)
    np.testing.assert_allclose(Z.std(axis=0), prior.std_, rtol=0.03)
    for column in Z.T:
        assert stats.kstest(column, stats.laplace(scale=0.5).cdf).pvalue > 1e-3

    z = Z[:100]
    expected = stats.laplace.logpdf(z, scale=0.5).sum(axis=1)
    np.testing.assert_allclose(prior.log_prob(torch.as_tensor(z)).numpy(), expected, rtol=1e-12)


# ----------------------------------------------------------------- 2. encoder
def test_fixed_variance_encoder(X, monkeypatch):
    monkeypatch.setitem(ENCODERS, "fixed_variance", FixedVarianceEncoder)
    aae = AdversarialAutoencoder(posterior="fixed_variance", **TINY).fit(X)
    assert isinstance(aae.encoder_, FixedVarianceEncoder)

    x = aae.model_.to_model(torch.as_tensor(X, dtype=torch.float32))
    with torch.no_grad():
        mean = aae.encoder_.body(x).numpy()
        draws = aae.encoder_(x, torch.Generator().manual_seed(0)).numpy()
    Z = aae.transform(X)
    assert Z.shape == (200, 2)
    # transform returns f(x); training draws f(x) plus noise of std noise_std.
    np.testing.assert_allclose(Z, mean, rtol=1e-5, atol=1e-6)
    assert (draws - mean).std() == pytest.approx(FixedVarianceEncoder.noise_std, rel=0.15)


# -------------------------------------------------------------------- 3. loss
def test_huber_reconstruction_loss(X, monkeypatch):
    monkeypatch.setitem(RECONSTRUCTION_LOSSES, "huber", Huber)
    aae = AdversarialAutoencoder(reconstruction_loss="huber", **TINY).fit(X)
    assert aae.reconstruction_loss_ == "huber"
    assert isinstance(aae.model_.reconstruction, Huber)
    # Standardised inputs, as for the MSE loss.
    std = X.std(axis=0)
    np.testing.assert_allclose(aae._offset, X.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(aae._scale, np.where(std > 0, std, 1.0), rtol=1e-6)

    rows = X[:10]
    score = aae.score(rows)
    assert np.isfinite(score)
    # By hand: the decoder's raw output and the target, in the networks' units.
    output = (aae.inverse_transform(aae.transform(rows)) - aae._offset) / aae._scale
    target = (rows - aae._offset) / aae._scale
    error, delta = np.abs(output - target), Huber.delta
    huber = np.where(error <= delta, 0.5 * error**2, delta * (error - 0.5 * delta))
    assert score == pytest.approx(-huber.mean(), rel=1e-4)


# ------------------------------------------------------------- 4. regulariser
def test_code_norm_regulariser(X):
    # 30 epochs: with CodeNorm(0.1) (ten times the adversary's default weight
    # of 0.01) the codes' mean square ended at 0.06-0.09 of the plain fit's
    # for seeds 0-4; the bound below leaves a wide margin.
    params = {**TINY, "max_iter": 30}
    plain = AdversarialAutoencoder(**params).fit(X)
    penalised = CodeNormAutoencoder(**params).fit(X)

    assert isinstance(penalised._regularisers()[-1], CodeNorm)
    assert all("code_norm_loss" in record for record in penalised.history_)
    assert not any("code_norm_loss" in record for record in plain.history_)

    norm = np.square(penalised.transform(X)).mean()
    assert penalised.history_[-1]["code_norm_loss"] == pytest.approx(norm, rel=0.5)
    assert norm < 0.5 * np.square(plain.transform(X)).mean()


# ------------------------------------------------- registries read at each call
@pytest.mark.parametrize(
    "registry, parameter, name, cls",
    [
        (PRIORS, "prior", "laplace", LaplacePrior),
        (ENCODERS, "posterior", "fixed_variance", FixedVarianceEncoder),
        (RECONSTRUCTION_LOSSES, "reconstruction_loss", "huber", Huber),
    ],
    ids=["prior", "posterior", "reconstruction_loss"],
)
def test_a_registry_entry_alone_is_a_valid_option(monkeypatch, registry, parameter, name, cls):
    with pytest.raises(InvalidParameterError, match=parameter):
        AdversarialAutoencoder(**{parameter: name})._validate_params()
    monkeypatch.setitem(registry, name, cls)
    AdversarialAutoencoder(**{parameter: name})._validate_params()
    for other in (skaae.AAEClassifier, skaae.AAEClustering, skaae.AAEEmbedding):
        other(**{parameter: name})._validate_params()


def test_save_stores_a_prior_registered_at_run_time(X, monkeypatch, tmp_path):
    monkeypatch.setitem(PRIORS, "laplace", LaplacePrior)
    aae = AdversarialAutoencoder(prior=LaplacePrior(scale=0.5), **TINY).fit(X)
    skaae.save(aae, tmp_path / "laplace.skaae")
    loaded = skaae.load(tmp_path / "laplace.skaae")
    assert isinstance(loaded.prior_, LaplacePrior)


# ---------------------------------------------------------------- 5. estimator
def test_an_estimator_is_one_file_on_the_shared_base(X, tmp_path):
    from skaae._base import ESTIMATORS, BaseAdversarialEstimator

    cls = skaae.VariationalAutoencoder
    assert ESTIMATORS["VariationalAutoencoder"] is cls
    # A sibling: no other estimator class among its bases.
    estimators = [base for base in cls.__mro__[1:] if base in ESTIMATORS.values()]
    assert estimators == [] and issubclass(cls, BaseAdversarialEstimator)
    assert "%(" not in cls.__doc__ and "batch_size :" in cls.__doc__
    model = cls(n_components=2, hidden_layer_sizes=(16,), max_iter=1, random_state=0).fit(X)
    skaae.save(model, tmp_path / "vae.skaae")
    np.testing.assert_array_equal(
        skaae.load(tmp_path / "vae.skaae").transform(X), model.transform(X)
    )

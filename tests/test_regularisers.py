"""The VAE's regulariser, KLDivergence: its closed form, its Monte-Carlo estimate, its training."""

import math

import numpy as np
import pytest
import torch
from torch.distributions import Normal, kl_divergence

import skaae
from skaae import GaussianMixturePrior, GaussianPrior, SwissRollPrior, UniformPrior
from skaae.losses import MeanSquaredError
from skaae.model import AutoencoderModel, LatentPart
from skaae.nn import make_encoder, make_mlp
from skaae.regularisers import KLDivergence
from skaae.training import AdversarialTrainer, Batch, TrainingStep

N_FEATURES, N_COMPONENTS = 6, 2


def _posterior(n=8, d=3, seed=0):
    generator = torch.Generator().manual_seed(seed)
    mean = 1.5 * torch.randn(n, d, generator=generator)
    log_var = torch.empty(n, d).uniform_(-2.0, 1.5, generator=generator)
    return mean, log_var


def _draws(mean, log_var, generator):
    """One reparameterised draw per row, as GaussianEncoder.sample_with_posterior makes."""
    eps = torch.randn(mean.shape, generator=generator)
    return mean + torch.exp(0.5 * log_var) * eps


def _step(mean, log_var, z=None):
    step = TrainingStep(Batch(torch.zeros(len(mean), 1)), None)
    step.posterior, step.reconstruction_codes = (mean, log_var), z
    return step


def _term(regulariser, mean, log_var, z=None):
    return regulariser.reconstruction_term(_step(mean, log_var, z), trainer=None)


# --------------------------------------------------------------- the estimates
@pytest.mark.parametrize("scale", [1.0, 2.5])
def test_closed_form_matches_torch_distributions(scale):
    mean, log_var = _posterior()
    prior = GaussianPrior(scale=scale).bind(mean.shape[1])
    regulariser = KLDivergence(1.0, prior)
    assert regulariser.closed_form
    expected = kl_divergence(Normal(mean, torch.exp(0.5 * log_var)), Normal(0.0, scale))
    kl = _term(regulariser, mean, log_var)
    torch.testing.assert_close(kl, expected.sum(dim=1).mean())


@pytest.mark.parametrize("scale", [1.0, 2.5])
def test_monte_carlo_estimate_averages_to_the_closed_form(scale):
    # A GaussianPrior forced through the Monte-Carlo path: the mean over
    # 20,000 draws of each of 4 posteriors (one draw per row, as in training).
    mean, log_var = _posterior(n=4)
    prior = GaussianPrior(scale=scale).bind(mean.shape[1])
    n_draws = 20_000
    rows_mean, rows_log_var = mean.repeat(n_draws, 1), log_var.repeat(n_draws, 1)
    z = _draws(rows_mean, rows_log_var, torch.Generator().manual_seed(1))
    estimate = _term(KLDivergence(1.0, prior, closed_form=False), rows_mean, rows_log_var, z)
    exact = _term(KLDivergence(1.0, prior), mean, log_var)
    assert exact > 1.0
    torch.testing.assert_close(estimate, exact, rtol=0.02, atol=0.0)


def test_monte_carlo_gradient_is_the_one_of_log_q_at_the_draw():
    # The estimate writes log q(z|x) with its eps^2 term at its mean; the
    # gradient must be the one of the literal log q(z|x) - log p(z) at z.
    mean, log_var = _posterior()
    prior = GaussianMixturePrior().bind(mean.shape[1])
    gradients = []
    for literal in (False, True):
        m, v = mean.clone().requires_grad_(), log_var.clone().requires_grad_()
        z = _draws(m, v, torch.Generator().manual_seed(2))
        if literal:
            log_q = Normal(m, torch.exp(0.5 * v)).log_prob(z).sum(dim=1)
            (log_q - prior.log_prob(z)).mean().backward()
        else:
            _term(KLDivergence(1.0, prior), m, v, z).backward()
        gradients.append((m.grad, v.grad))
    for ours, literal in zip(*gradients, strict=True):
        torch.testing.assert_close(ours, literal)


def test_mixture_prior_estimate_is_finite_and_has_gradients():
    mean, log_var = _posterior()
    mean.requires_grad_()
    log_var.requires_grad_()
    prior = GaussianMixturePrior().bind(mean.shape[1])
    regulariser = KLDivergence(0.5, prior)
    assert not regulariser.closed_form
    z = _draws(mean, log_var, torch.Generator().manual_seed(0))
    step = _step(mean, log_var, z)
    kl = regulariser.reconstruction_term(step, trainer=None)
    assert kl.ndim == 0 and torch.isfinite(kl)
    kl.backward()
    for grad in (mean.grad, log_var.grad):
        assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0


def test_columns_select_the_part():
    mean, log_var = _posterior(d=4)
    prior = GaussianPrior().bind(2)
    kl = _term(KLDivergence(1.0, prior, columns=slice(2, 4)), mean, log_var)
    torch.testing.assert_close(kl, _term(KLDivergence(1.0, prior), mean[:, 2:], log_var[:, 2:]))


@pytest.mark.parametrize("prior", [GaussianPrior(), GaussianMixturePrior()])
def test_float32_under_bfloat16_autocast(prior):
    mean, log_var = (t.bfloat16() for t in _posterior())
    z = _draws(mean.float(), log_var.float(), torch.Generator().manual_seed(0)).bfloat16()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        kl = _term(KLDivergence(1.0, prior.bind(mean.shape[1])), mean, log_var, z)
    assert kl.dtype == torch.float32 and torch.isfinite(kl)


@pytest.mark.parametrize(
    "prior, closed_form, message",
    [
        (SwissRollPrior(), None, "SwissRollPrior has no density"),
        (UniformPrior(), None, "UniformPrior has bounded support"),
        (GaussianMixturePrior(), True, "GaussianPrior only, not GaussianMixturePrior"),
    ],
)
def test_priors_it_cannot_take_are_refused_by_name(prior, closed_form, message):
    with pytest.raises(ValueError, match=message):
        KLDivergence(1.0, prior.bind(2), closed_form=closed_form)
    with pytest.raises(ValueError, match="bound prior"):
        KLDivergence(1.0, GaussianPrior())


def test_update_reports_the_term_or_zero():
    regulariser = KLDivergence(1.0, GaussianPrior().bind(3))

    class _Trainer:
        device = torch.device("cpu")

    step = _step(*_posterior())
    assert regulariser.update(step, _Trainer()) == [torch.zeros(())]
    kl = regulariser.reconstruction_term(step, _Trainer())
    step.terms[id(regulariser)] = kl.detach()  # as the trainer keeps it
    assert regulariser.update(step, _Trainer()) == [kl.detach()]


# ------------------------------------------------------------------ training
def _vae_trainer(prior, seed=0, lr=1e-2):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        encoder = make_encoder("gaussian", N_FEATURES, (16,), N_COMPONENTS)
        decoder = make_mlp(N_COMPONENTS, (16,), N_FEATURES)
    prior = prior.bind(N_COMPONENTS)
    part = LatentPart(prior, None, slice(0, N_COMPONENTS))
    return AdversarialTrainer(
        AutoencoderModel(encoder, decoder, [part], MeanSquaredError()),
        [KLDivergence(1.0, prior)],
        learning_rate=lr,
        discriminator_learning_rate=lr,
        generator=torch.Generator().manual_seed(seed),
    )


@pytest.mark.parametrize(
    "prior, kl_ratio, gap_ratio",
    [(GaussianPrior(scale=2.5), 0.05, 0.2), (GaussianMixturePrior(), 1.0, 0.8)],
)
def test_a_vae_trains_its_codes_towards_the_prior(prior, kl_ratio, gap_ratio):
    # No discriminator: the KL divergence is the only regulariser. The wide
    # Gaussian's KL falls to nearly 0 (from about 1.1: the initial codes have
    # about 0.15 of its variance); the mixture's cannot (a Gaussian posterior
    # does not fit its thin arms: 1.70 to 1.59 here), but falls too. The
    # codes' variance nears the prior's (from 0.16 to 0.97 of it for the
    # Gaussian, from 0.42 to 0.69 for the mixture).
    trainer = _vae_trainer(prior)
    assert len(trainer.model.discriminators) == 0
    assert trainer.discriminator_optimizer is None
    assert trainer.loss_names == ["reconstruction_loss", "kl_divergence"]
    X = torch.randn(128, N_FEATURES, generator=torch.Generator().manual_seed(0))
    batches = X.split(32)
    prior_variance = trainer.model.parts[0].prior.std_ ** 2

    @torch.no_grad()
    def kl_and_variance():
        """The KL of all of X (fixed draws), and the codes' variance over the prior's."""
        mean, log_var = trainer.model.encoder.posterior(X)
        z = _draws(mean, log_var, torch.Generator().manual_seed(3))
        codes = trainer.encode(X.repeat(20, 1))
        variance = float(codes.var(dim=0).mean()) / prior_variance
        return float(_term(trainer.regularisers[0], mean, log_var, z)), variance

    kl_before, variance_before = kl_and_variance()
    for step in range(300):
        losses, codes = trainer.train_batch(batches[step % len(batches)])
        assert len(losses) == 2 and all(loss.ndim == 0 for loss in losses)
        assert codes.shape == (32, N_COMPONENTS)
    kl_after, variance_after = kl_and_variance()
    assert math.isfinite(kl_after) and kl_after < kl_ratio * kl_before, (kl_before, kl_after)
    assert abs(variance_after - 1) < gap_ratio * abs(variance_before - 1), (
        variance_before,
        variance_after,
    )


# ------------------------------------------------- what each estimator trains
def _fitted(cls, X, y=None, **params):
    tiny = {"hidden_layer_sizes": (16,), "max_iter": 1, "device": "cpu", "random_state": 0}
    if cls is not skaae.VariationalAutoencoder:
        tiny["discriminator_layer_sizes"] = (8,)
    return cls(**tiny, **params).fit(X, y)


def _kinds(model):
    return [(type(r).__name__, r.weight) for r in model._regularisers()]


@pytest.mark.parametrize(
    "make, expected",
    [
        # The paper's AAE plus the neighbourhood term of 2-D maps ("auto": 3).
        (
            lambda X, y: _fitted(skaae.AdversarialAutoencoder, X),
            [("AdversarialPrior", 0.01), ("Neighbourhood", 3.0)],
        ),
        # Longer codes: no neighbourhood term.
        (
            lambda X, y: _fitted(skaae.AdversarialAutoencoder, X, n_components=8),
            [("AdversarialPrior", 0.01)],
        ),
        # Label regularisation on a mixture: the adversary pins (weight 1) and the
        # labelled codes are pinned to their components through the neighbours.
        (
            lambda X, y: _fitted(skaae.AdversarialAutoencoder, X, y, prior="mixture"),
            [("AdversarialPrior", 1.0), ("ComponentPinning", 1.0), ("Neighbourhood", 3.0)],
        ),
        # ... not on the swiss roll, whose prior gives no component densities.
        (
            lambda X, y: _fitted(skaae.AdversarialAutoencoder, X, y, prior="swiss_roll"),
            [("AdversarialPrior", 1.0), ("Neighbourhood", 3.0)],
        ),
        # Conditional: the code is a style, with no neighbourhood term.
        (
            lambda X, y: _fitted(skaae.AdversarialAutoencoder, X, y % 3, conditional=True),
            [("AdversarialPrior", 0.01)],
        ),
        (
            lambda X, y: _fitted(skaae.AAEClassifier, X, y),
            [("AdversarialPrior", 0.1), ("Supervised", 3.0), ("Neighbourhood", 1.0)],
        ),
        (
            lambda X, y: _fitted(skaae.AAEClustering, X, n_clusters=3, init="random"),
            [("AdversarialPrior", 0.1), ("Neighbourhood", 3.0)],
        ),
        (lambda X, y: _fitted(skaae.VariationalAutoencoder, X), [("KLDivergence", 1 / 64)]),
    ],
    ids=[
        "aae",
        "aae-8d",
        "label-regularised",
        "swiss-roll",
        "conditional",
        "classifier",
        "clustering",
        "vae",
    ],
)
def test_each_estimator_trains_the_terms_of_its_model(make, expected):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X, y = X[:200] / 16, y[:200]
    y = np.where(np.arange(len(y)) % 5 == 0, y, -1)
    y[:10] = np.arange(10)  # every class labelled at least once
    model = make(X, y)
    assert _kinds(model) == expected
    neighbourhoods = [r for r in model._regularisers() if type(r).__name__ == "Neighbourhood"]
    for neighbourhood in neighbourhoods:  # the style of the categorical models is no map
        assert neighbourhood.map is not isinstance(model, skaae.AAEClassifier | skaae.AAEClustering)

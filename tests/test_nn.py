"""Networks: the MLP builder and the three encoder kinds."""

import pytest
import torch
from torch import nn

from skaae.nn import (
    ACTIVATIONS,
    ENCODERS,
    ClusterHeads,
    DeterministicEncoder,
    Encoder,
    GaussianEncoder,
    UniversalEncoder,
    make_encoder,
    make_mlp,
)

N_FEATURES, N_COMPONENTS = 7, 3


def _generator(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.fixture
def x():
    return torch.randn(10, N_FEATURES, generator=_generator(123))


def _encoder(kind, seed=0):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return make_encoder(kind, N_FEATURES, (16, 8), N_COMPONENTS)


@pytest.mark.parametrize(("hidden", "n_linear"), [((), 1), ((5,), 2), ((5, 4, 3), 4)])
def test_make_mlp_structure(hidden, n_linear):
    mlp = make_mlp(6, hidden, 2)
    linears = [m for m in mlp if isinstance(m, nn.Linear)]
    assert len(linears) == n_linear
    assert [m.out_features for m in linears] == [*hidden, 2]
    assert linears[0].in_features == 6
    # A ReLU after every hidden layer, and a linear output (no final activation).
    assert sum(isinstance(m, nn.ReLU) for m in mlp) == len(hidden)
    assert isinstance(mlp[-1], nn.Linear)
    assert mlp(torch.randn(4, 6)).shape == (4, 2)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_make_mlp_activation(name):
    mlp = make_mlp(3, (4, 5), 1, activation=name)
    assert isinstance(mlp[1], ACTIVATIONS[name])
    assert isinstance(mlp[3], ACTIVATIONS[name])
    encoder = make_encoder("gaussian", 3, (4,), 2, activation=name)
    assert isinstance(encoder.body[1], ACTIVATIONS[name])


def test_registry():
    assert ENCODERS == {
        "deterministic": DeterministicEncoder,
        "gaussian": GaussianEncoder,
        "universal": UniversalEncoder,
    }
    assert all(issubclass(cls, Encoder) for cls in ENCODERS.values())


@pytest.mark.parametrize("kind", sorted(ENCODERS))
def test_encoder_output_shapes(kind, x):
    encoder = _encoder(kind)
    assert isinstance(encoder, ENCODERS[kind])
    assert encoder(x, _generator()).shape == (10, N_COMPONENTS)
    assert encoder.embed(x, _generator()).shape == (10, N_COMPONENTS)
    assert encoder(x[:1], _generator()).shape == (1, N_COMPONENTS)


def test_encoder_network_widths():
    assert _encoder("deterministic").body[0].in_features == N_FEATURES
    assert _encoder("deterministic").body[-1].out_features == N_COMPONENTS
    # Gaussian: mean and log-variance.
    assert _encoder("gaussian").body[-1].out_features == 2 * N_COMPONENTS
    # Universal: noise concatenated to the input.
    assert _encoder("universal").body[0].in_features == N_FEATURES + N_COMPONENTS


def test_deterministic_encoder_is_deterministic(x):
    encoder = _encoder("deterministic")
    torch.testing.assert_close(encoder(x, _generator(0)), encoder(x, _generator(1)))
    torch.testing.assert_close(encoder(x, _generator(0)), encoder.embed(x, _generator(1)))


@pytest.mark.parametrize("kind", ["gaussian", "universal"])
def test_stochastic_forward_deterministic_embed(kind, x):
    encoder = _encoder(kind)
    generator = _generator(0)
    first, second = encoder(x, generator), encoder(x, generator)
    assert not torch.allclose(first, second)
    # The same seed gives the same draw.
    torch.testing.assert_close(encoder(x, _generator(5)), encoder(x, _generator(5)))
    torch.testing.assert_close(encoder.embed(x, _generator(0)), encoder.embed(x, _generator(0)))


def test_gaussian_embed_is_the_posterior_mean(x):
    encoder = _encoder("gaussian")
    mean = encoder.body(x)[:, :N_COMPONENTS]
    # The embedding ignores the noise entirely.
    torch.testing.assert_close(encoder.embed(x, _generator(0)), mean)
    torch.testing.assert_close(encoder.embed(x, _generator(9)), mean)
    # The average of many draws approaches the mean.
    draws = torch.stack([encoder(x, _generator(s)) for s in range(400)])
    torch.testing.assert_close(draws.mean(0), mean, atol=0.25, rtol=0)


def test_gaussian_forward_spread_follows_log_variance(x):
    encoder = _encoder("gaussian")
    with torch.no_grad():
        encoder.body[-1].bias[N_COMPONENTS:] = -40.0  # tiny variance (clamped)
        encoder.body[-1].weight[N_COMPONENTS:] = 0.0
    torch.testing.assert_close(encoder(x, _generator(0)), encoder.embed(x), atol=1e-3, rtol=0)


def test_universal_embed_is_row_independent(x):
    encoder = _encoder("universal")
    codes = encoder.embed(x, _generator(0))
    # A sub-batch, a single row and a permutation give the same codes per row.
    torch.testing.assert_close(encoder.embed(x[:3], _generator(0)), codes[:3])
    torch.testing.assert_close(encoder.embed(x[4:5], _generator(0)), codes[4:5])
    order = torch.randperm(10, generator=_generator(1))
    torch.testing.assert_close(encoder.embed(x[order], _generator(0)), codes[order])
    # Appending other rows does not change them either.
    extra = torch.cat([x, torch.randn(50, N_FEATURES, generator=_generator(2))])
    torch.testing.assert_close(encoder.embed(extra, _generator(0))[:10], codes)


def test_universal_embed_averages_over_noise(x):
    encoder = _encoder("universal")
    draws = torch.stack([encoder(x, _generator(s)) for s in range(1000)]).mean(0)
    # 16 draws estimate the posterior mean: close to a 1000-draw average.
    torch.testing.assert_close(encoder.embed(x, _generator(0)), draws, atol=0.1, rtol=0)


@pytest.mark.parametrize("kind", sorted(ENCODERS))
def test_forward_is_differentiable(kind, x):
    encoder = _encoder(kind)
    encoder(x, _generator()).pow(2).sum().backward()
    grads = [p.grad for p in encoder.parameters()]
    assert all(g is not None for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)


@pytest.mark.parametrize("n_clusters", [4, 16, 17, 100, 512])
def test_cluster_heads_start_apart_on_a_circle_or_a_compact_disc(n_clusters):
    torch.manual_seed(0)
    module = ClusterHeads(n_clusters, 2, min_distance=0.5, spacing=2.0)
    assert (module.min_distance, module.spacing) == (0.5, 2.0)
    heads = module.heads.detach()
    distances = torch.cdist(heads, heads) + torch.eye(n_clusters) * 1e9
    nearest = distances.min(dim=1).values
    assert nearest.min() >= 2.0 * 0.7  # the circle's heads carry a little noise
    assert nearest.median() <= 2.0 * 1.2
    # No wider than a disc of n_clusters points about 2 apart: a circle of 512
    # heads would have a radius of 163.
    area_radius = 2.0 * (n_clusters / torch.pi) ** 0.5
    assert heads.norm(dim=1).max() <= 1.1 * area_radius + 2.0


def test_cluster_heads_start_min_distance_apart_by_default():
    torch.manual_seed(0)
    module = ClusterHeads(40, 2, min_distance=1.5)
    assert module.spacing == 1.5
    heads = module.heads.detach()
    distances = torch.cdist(heads, heads) + torch.eye(40) * 1e9
    assert distances.min().item() == pytest.approx(1.5, rel=0.05)

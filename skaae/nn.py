"""Networks: the MLP builder and the encoder kinds of the paper.

Network contract
----------------
An encoder is an ``nn.Module`` with two methods, both taking a float tensor
``x`` of shape ``(batch, n_features)`` and a ``torch.Generator`` on the same
device for any noise it needs:

- ``forward(x, generator)``: the stochastic code z ~ q(z|x) used in training,
  shape ``(batch, n_components)``, differentiable in the encoder's weights;
- ``embed(x, generator)``: the deterministic code that ``transform`` returns.

A decoder maps codes ``(batch, n_components)`` to ``(batch, n_features)``
(logits for a BCE reconstruction loss), and a discriminator maps codes to one
logit each, ``(batch, 1)``. To add an encoder kind, subclass
:class:`Encoder` and add one entry to :data:`ENCODERS`.

A representation sits between the codes and the decoder when the decoder
does not read the codes as they are: ``forward(codes, y)`` returns the
decoder's input (``y``: long class indices, or None), and an optional
``penalty()`` returns a scalar added to the reconstruction loss.
:class:`LabelConditioning` feeds the label to the decoder (the supervised
AAE), :class:`ClusterHeads` maps a categorical part to learned cluster heads
(the paper's dimensionality reduction).
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "ACTIVATIONS",
    "ENCODERS",
    "ClusterHeads",
    "DeterministicEncoder",
    "Encoder",
    "GaussianEncoder",
    "LabelConditioning",
    "UniversalEncoder",
    "make_encoder",
    "make_mlp",
]


ACTIVATIONS = {
    "relu": nn.ReLU,
    "silu": nn.SiLU,
    "leaky_relu": nn.LeakyReLU,
    "tanh": nn.Tanh,
}
"""Names accepted by ``activation=``, each mapped to its ``nn.Module`` class."""


def make_mlp(n_inputs, hidden_layer_sizes, n_outputs, activation="relu"):
    """Build a multilayer perceptron with a linear output layer.

    Parameters
    ----------
    n_inputs : int
        Width of the input.
    hidden_layer_sizes : sequence of int
        Width of each hidden layer; empty for a linear map.
    n_outputs : int
        Width of the output.
    activation : str, default="relu"
        Activation after every hidden layer, a key of :data:`ACTIVATIONS`.

    Returns
    -------
    mlp : nn.Sequential
    """
    layers = []
    width = n_inputs
    for size in hidden_layer_sizes:
        layers += [nn.Linear(width, size), ACTIVATIONS[activation]()]
        width = size
    layers.append(nn.Linear(width, n_outputs))
    return nn.Sequential(*layers)


class Encoder(nn.Module):
    """Base class of the encoder kinds; see the module docstring for the contract.

    Parameters
    ----------
    n_features : int
        Width of the input.
    hidden_layer_sizes : sequence of int
        Hidden layers of the network.
    n_components : int
        Dimension of the code.
    activation : str, default="relu"
        Activation of the hidden layers, a key of :data:`ACTIVATIONS`.
    """

    def __init__(self, n_features, hidden_layer_sizes, n_components, activation="relu"):
        super().__init__()
        self.n_components = n_components
        self.body = make_mlp(
            self._n_inputs(n_features, n_components),
            hidden_layer_sizes,
            self._n_outputs(n_components),
            activation,
        )

    # Whether ``forward`` draws noise from its generator.
    stochastic = False

    def _n_inputs(self, n_features, n_components):
        return n_features

    def _n_outputs(self, n_components):
        return n_components

    def forward(self, x, generator=None):
        return self.body(x)

    def embed(self, x, generator=None):
        return self.body(x)


class DeterministicEncoder(Encoder):
    """z = f(x): the code is a deterministic function of the input.

    ``transform`` returns f(x).
    """


class GaussianEncoder(Encoder):
    """Gaussian posterior z = mu(x) + sigma(x) * eps, reparameterised.

    The network outputs the mean and the log-variance of q(z|x). Training
    draws one z per input; ``transform`` returns the posterior mean mu(x).
    """

    stochastic = True

    def _n_outputs(self, n_components):
        return 2 * n_components

    def posterior(self, x):
        """The mean and the log-variance of q(z|x), each of shape ``(batch, n_components)``.

        The log-variance is clamped to [-20, 10], where its exponential stays
        finite in float32 and the gradient does not vanish.
        """
        mean, log_var = self.body(x).chunk(2, dim=1)
        return mean, log_var.clamp(-20.0, 10.0)

    def sample_with_posterior(self, x, generator=None):
        """``(z, mean, log_var)``: a draw of q(z|x) and the posterior it was drawn from."""
        mean, log_var = self.posterior(x)
        eps = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
        return mean + torch.exp(0.5 * log_var) * eps, mean, log_var

    def forward(self, x, generator=None):
        return self.sample_with_posterior(x, generator)[0]

    def embed(self, x, generator=None):
        return self.body(x)[:, : self.n_components]


class UniversalEncoder(Encoder):
    """Universal approximator posterior z = f(x, eta), eta ~ N(0, I).

    Noise of ``n_components`` dimensions is concatenated to the input, so
    q(z|x) can take any shape. ``transform`` returns the posterior mean
    E_eta[f(x, eta)], estimated with ``n_embed_draws`` draws of eta (from the
    generator it is given, so it is deterministic for a seeded generator).
    """

    n_embed_draws = 16
    stochastic = True

    def _n_inputs(self, n_features, n_components):
        return n_features + n_components

    def forward(self, x, generator=None):
        eta = torch.randn(
            (x.shape[0], self.n_components), generator=generator, device=x.device, dtype=x.dtype
        )
        return self.body(torch.cat([x, eta], dim=1))

    def embed(self, x, generator=None):
        # The same n_embed_draws noise vectors for every row, so that a row's
        # code does not depend on the other rows of the batch.
        eta = torch.randn(
            (self.n_embed_draws, 1, self.n_components),
            generator=generator,
            device=x.device,
            dtype=x.dtype,
        )
        draws = x.unsqueeze(0).expand(self.n_embed_draws, -1, -1)
        return self.body(torch.cat([draws, eta.expand(-1, x.shape[0], -1)], dim=2)).mean(0)


ENCODERS = {
    "deterministic": DeterministicEncoder,
    "gaussian": GaussianEncoder,
    "universal": UniversalEncoder,
}
"""Names accepted by ``posterior=``, each mapped to its :class:`Encoder` class."""


def make_encoder(posterior, n_features, hidden_layer_sizes, n_components, activation="relu"):
    """Build the encoder of kind ``posterior`` (a key of :data:`ENCODERS`)."""
    return ENCODERS[posterior](n_features, hidden_layer_sizes, n_components, activation)


class LabelConditioning(nn.Module):
    """Decoder input ``[z, one_hot(y)]``: the label carries the content, z the style.

    Parameters
    ----------
    n_classes : int
        Number of classes (width of the one-hot vector).
    """

    def __init__(self, n_classes):
        super().__init__()
        self.n_classes = n_classes

    def forward(self, codes, y):
        return torch.cat([codes, F.one_hot(y, self.n_classes).to(codes.dtype)], dim=1)


class ClusterHeads(nn.Module):
    """Representation ``W_c y + z`` of the paper's dimensionality reduction (Sec. 7).

    The first ``n_clusters`` columns of the codes are the cluster
    probabilities y, the rest the style z; each row of ``W_c`` is a learned
    cluster head in the ``n_components``-dimensional representation space.

    Parameters
    ----------
    n_clusters : int
        Number of cluster heads.
    n_components : int
        Dimension of the representation (and of the style).
    min_distance : float
        Any two heads closer than this are pushed apart by :meth:`penalty`.
    spacing : float or None, default=None
        How far apart the heads start (None: ``min_distance``); a model that
        lays its heads out anew keeps the same spacing.
    """

    # Its output is the model's embedding: the trainer's neighbourhood term works there.
    is_embedding = True

    def __init__(self, n_clusters, n_components, min_distance, spacing=None):
        super().__init__()
        self.n_clusters = n_clusters
        self.min_distance = min_distance
        self.spacing = min_distance if spacing is None else spacing
        self.heads = nn.Parameter(_spread_heads(n_clusters, n_components, self.spacing))

    def forward(self, codes, y=None):
        return codes[:, : self.n_clusters] @ self.heads + codes[:, self.n_clusters :]

    def place(self, codes, hard=False):
        """Points of the representation; ``hard``: at the most probable cluster's head plus z.

        Soft placement is :meth:`forward`, the mix of heads the decoder is
        trained on; hard placement replaces the probabilities by the one-hot
        vector of their most probable cluster (the paper's one-hot label
        mapped to its head), so that an ambiguous sample lands by one head
        rather than between two.
        """
        if hard:
            clusters = codes[:, : self.n_clusters].argmax(dim=1)
            return self.heads[clusters] + codes[:, self.n_clusters :]
        return self(codes)

    def penalty(self):
        """Sum over pairs of heads of how much closer than ``min_distance`` they are."""
        distances = torch.pdist(self.heads)
        return F.relu(self.min_distance - distances).sum()


# Up to this many heads start on a circle; more fill a disc (a circle of hundreds of
# heads would be a ring far wider than the styles about them).
_CIRCLE_HEADS = 16


def _spread_heads(n_clusters, n_components, spacing):
    """Initial heads, about ``spacing`` apart.

    On a circle (up to ``_CIRCLE_HEADS``), on a disc (Vogel's sunflower
    spiral, whose points are evenly spread), or on a line in 1-D.
    """
    if n_clusters == 1:
        return torch.zeros(1, n_components)  # one head: at the origin, nothing to spread
    if n_components == 1:
        return (torch.arange(n_clusters) - (n_clusters - 1) / 2).unsqueeze(1) * spacing
    if n_clusters > _CIRCLE_HEADS:
        index = torch.arange(n_clusters) + 0.5
        # 0.65: the closest two heads are spacing apart, most others 10 % more.
        radius = 0.65 * spacing * torch.sqrt(index)
        angles = index * math.pi * (3 - math.sqrt(5))  # the golden angle
        heads = torch.zeros(n_clusters, n_components)
        heads[:, 0] = radius * torch.cos(angles)
        heads[:, 1] = radius * torch.sin(angles)
        return heads
    radius = spacing / (2 * math.sin(math.pi / n_clusters))
    angles = 2 * math.pi * torch.arange(n_clusters) / n_clusters
    heads = 0.1 * spacing * torch.randn(n_clusters, n_components)
    heads[:, 0] += radius * torch.cos(angles)
    heads[:, 1] += radius * torch.sin(angles)
    return heads

"""The losses of the neighbourhood term, as functions of tensors.

:class:`~skaae.regularisers.Neighbourhood` adds them to the reconstruction
phase (see its ``neighbor_loss`` and ``smoothness_loss``): UMAP's layout
cross entropy on a map, and, on a categorical part, SCAN's consistency and
balance and a virtual adversarial smoothness with IMSAT's radius.
"""

import torch

__all__ = [
    "BALANCE_WEIGHT",
    "MAP_TERM_SCALE",
    "NEGATIVE_SAMPLES",
    "NEIGHBOR_KERNEL_WIDTH",
    "SMOOTHNESS_RADIUS",
    "SMOOTHNESS_WEIGHT",
    "category_loss",
    "layout_loss",
    "smoothness_loss",
]

NEIGHBOR_KERNEL_WIDTH = 0.25
"""Width of the neighbourhood term's similarity kernel, in prior-std units.

Between the widths that gave the best 2-D maps on MNIST: narrower kernels
left the codes further from the prior, wider ones gave worse maps (see
doc/notes/parameter_measurements.md).
"""

NEGATIVE_SAMPLES = 5
"""Rows of the batch each row is pushed away from in the neighbourhood term."""

# Floor of the squared distance (in kernel widths) of a negative pair: the
# repulsion -log(1 - q) grows without bound as two codes meet.
_MIN_SQUARED_DISTANCE = 1e-4

MAP_TERM_SCALE = 0.01
"""Weight of the map's layout term within the neighbourhood term (see ``neighbor_loss``).

The layout term's values are a few units, and it pulls on every coordinate
of the map, so it is weighed down next to the categorical consistency term;
with it, one ``neighbor_weight`` serves both (see
doc/notes/parameter_measurements.md).
"""

SMOOTHNESS_WEIGHT = 0.3
"""Weight of the smoothness term of a categorical part next to its consistency term.

It raises the cluster accuracy of ``AAEClustering`` on MNIST; much more
(1.0) puts every row in one category (see doc/notes/parameter_measurements.md).
"""

SMOOTHNESS_RADIUS = 0.25
"""Radius of the smoothness term's perturbation, as a fraction of the distance
from a row to its neighbour (IMSAT's choice, Hu et al., 2017)."""

BALANCE_WEIGHT = 1.0
"""Weight of the balance term next to the consistency term of a categorical part.

Without it (the adversary alone balancing the categories) the consistency
term puts every row of MNIST in one category; 1.0 with the default
``neighbor_weight`` gave the best clusters (see
doc/notes/parameter_measurements.md).
"""

# Size of the probe of the power-iteration step, as a fraction of the
# smoothness radius: small enough to measure the local slope, large enough to
# stay clear of float32 rounding (VAT's 1e-6 absolute loses it).
_PROBE_FRACTION = 0.1

# Floor of the probabilities (and of the agreement p . p' of a row's and its
# neighbour's) under a logarithm in the categorical terms.
_MIN_PROBABILITY = 1e-6


def layout_loss(z, neighbor_z, generator):
    """UMAP's layout cross entropy of map points and their neighbours, with negative sampling.

    With the similarity ``q(d) = 1 / (1 + (d / w)^2)`` of two points at
    distance ``d`` (``w`` = ``NEIGHBOR_KERNEL_WIDTH``): the mean of
    ``-log q`` of each point and its neighbour, plus ``-log(1 - q)`` of each
    point and ``NEGATIVE_SAMPLES`` other points of the batch, drawn with
    ``generator`` (a batch of one point has the attraction only).

    Parameters
    ----------
    z, neighbor_z : torch.Tensor of shape (batch, n_dimensions)
        The points and their neighbours' points, in units of the prior's std.
    generator : torch.Generator
        Draws the negative pairs (on the device of ``z``).
    """
    z, neighbor_z = z / NEIGHBOR_KERNEL_WIDTH, neighbor_z / NEIGHBOR_KERNEL_WIDTH
    attraction = torch.log1p((z - neighbor_z).square().sum(1))
    if len(z) < 2:  # no other row to push away from
        return attraction.mean()
    repulsion = 0.0
    for _ in range(NEGATIVE_SAMPLES):
        others = torch.randperm(len(z), generator=generator, device=z.device)
        squared = (z - z[others]).square().sum(1).clamp(min=_MIN_SQUARED_DISTANCE)
        repulsion = repulsion + torch.log1p(squared.reciprocal())
    return (attraction + repulsion).mean()


def category_loss(p, neighbor_p):
    """Consistency of neighbours' categories plus the balance of the batch's categories.

    The mean of ``-log(p . p')`` over the rows (SCAN), zero only when a row
    and its neighbour are sure of the same category, plus ``BALANCE_WEIGHT``
    times the KL divergence of the mean probabilities of the rows and their
    neighbours from the uniform distribution.

    Parameters
    ----------
    p, neighbor_p : torch.Tensor of shape (batch, n_categories)
        Category probabilities of the rows and of their neighbours.
    """
    agreement = (p * neighbor_p).sum(1)
    consistency = -torch.log(agreement.clamp(min=_MIN_PROBABILITY)).mean()
    mean = torch.cat([p, neighbor_p]).mean(0)
    balance = (mean * torch.log(mean.clamp(min=_MIN_PROBABILITY) * len(mean))).sum()
    return consistency + BALANCE_WEIGHT * balance


def smoothness_loss(categories, x, neighbors, targets, generator):
    """Virtual adversarial smoothness (Miyato et al., 2018) with IMSAT's radius.

    Each row moves by ``SMOOTHNESS_RADIUS`` times its distance to its
    neighbour, in the direction that changes its category probabilities
    most (one step of power iteration from a random direction); the loss is
    the KL divergence of the moved rows' probabilities from ``targets``,
    summed over the categorical parts.

    Parameters
    ----------
    categories : callable
        ``categories(rows)`` returns the list of category probabilities of
        ``rows``, one tensor per categorical part.
    x, neighbors : torch.Tensor of shape (batch, n_features)
        The rows and one near row of the data for each.
    targets : list of torch.Tensor
        The rows' own probabilities (held fixed), one per categorical part.
    generator : torch.Generator
        Draws the random start of the power iteration.
    """

    def divergence(rows):
        moved = categories(rows)
        return sum(_kl_divergence(t, q) for t, q in zip(targets, moved, strict=True))

    radius = SMOOTHNESS_RADIUS * (x - neighbors).norm(dim=1, keepdim=True)
    probe = _unit_rows(torch.randn(x.shape, generator=generator, device=x.device))
    probe = (_PROBE_FRACTION * radius * probe).requires_grad_(True)
    (gradient,) = torch.autograd.grad(divergence(x + probe), probe)
    return divergence(x + radius * _unit_rows(gradient.detach()))


def _kl_divergence(p, q):
    """Mean over rows of KL(p || q) for rows of probabilities."""
    log_ratio = torch.log(p.clamp(min=_MIN_PROBABILITY)) - torch.log(q.clamp(min=_MIN_PROBABILITY))
    return (p * log_ratio).sum(1).mean()


def _unit_rows(v):
    """``v`` with each row scaled to unit Euclidean norm (zero rows stay zero)."""
    return v / v.norm(dim=1, keepdim=True).clamp(min=1e-12)

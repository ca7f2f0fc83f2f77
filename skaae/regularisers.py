"""Regularisers: the terms of the training objective next to the reconstruction.

Each regulariser is one small object with a ``weight`` and two hooks that
the trainer (:class:`~skaae.training.AdversarialTrainer`) calls on every
mini-batch, in the order of its list:

- ``reconstruction_term(step, trainer)``: a term added, times ``weight``, to
  the reconstruction phase's loss (None: nothing), e.g. the neighbourhood
  term or a VAE's KL divergence; the trainer keeps its value (detached) in
  ``step.terms[regulariser]``;
- ``update(step, trainer)``: phases of its own after the reconstruction
  phase (the adversary's steps, the supervised step); returns one detached
  scalar per name of ``names``, the values ``history_`` reports.

``step`` is the batch's :class:`~skaae.training.TrainingStep`, ``trainer``
the :class:`~skaae.training.AdversarialTrainer`. To add a regulariser,
subclass :class:`Regulariser` and add it to an estimator's ``_regularisers``.
"""

import math

import torch
import torch.nn.functional as F

from ._neighborhood import (
    MAP_TERM_SCALE,
    SMOOTHNESS_WEIGHT,
    category_loss,
    layout_loss,
    smoothness_loss,
)
from .priors import GaussianPrior, Prior, UniformPrior

__all__ = [
    "AdversarialPrior",
    "ComponentPinning",
    "KLDivergence",
    "Neighbourhood",
    "Regulariser",
    "Supervised",
]


class Regulariser:
    """Base class: no term and no phase of its own; see the module docstring.

    Parameters
    ----------
    weight : float
        Weight of its loss next to the reconstruction loss.
    """

    names = ()
    """The keys of the values :meth:`update` returns, in order."""

    uses_neighbors = False
    """Whether :meth:`reconstruction_term` reads ``step.neighbor_codes``."""

    uses_posterior = False
    """Whether :meth:`reconstruction_term` reads ``step.posterior`` (a Gaussian encoder's)."""

    uses_codes = False
    """Whether :meth:`update` reads ``step.codes`` (with their graph)."""

    def __init__(self, weight):
        self.weight = weight

    def reconstruction_term(self, step, trainer):
        return None

    def update(self, step, trainer):
        """Its own phases; by default none, reporting its reconstruction term (zero if none)."""
        if not self.names:
            return []
        if len(self.names) > 1:
            raise NotImplementedError(f"{type(self).__name__} reports several names: write update.")
        term = step.terms.get(id(self))
        return [torch.zeros((), device=trainer.device) if term is None else term]

    def __repr__(self):
        settings = [f"{key}={value!r}" for key, value in vars(self).items() if key[0] != "_"]
        return f"{type(self).__name__}({', '.join(settings)})"


class AdversarialPrior(Regulariser):
    """The paper's regularisation: each latent part's codes against its prior.

    Two phases per mini-batch, for every part that has a discriminator: the
    discriminator learns to tell prior draws (label 1) from codes (label 0);
    then the encoder learns to make its codes pass for prior draws, through
    the autoencoder's optimiser, with ``weight`` setting the balance with the
    reconstruction (both phases share one encoder forward pass:
    ``step.codes``).

    Label-conditioned parts (label regularisation): the discriminator also
    sees the one-hot label (plus a slot for "unlabelled"), a labelled
    sample's prior draw comes from its own component, and the mini-batch's
    labelled rows join the phase, so that the few labelled samples pin their
    components at every step.

    Parameters
    ----------
    weight : float
        Weight of the generator loss next to the reconstruction loss.
    noise : float
        Standard deviation of the Gaussian noise added to every input of the
        discriminators, relative to the prior's ``std_`` (instance noise).
    """

    names = ("discriminator_loss", "generator_loss")
    uses_codes = True

    def __init__(self, weight, noise):
        super().__init__(weight)
        self.noise = noise

    def update(self, step, trainer):
        codes, labels = step.codes, step.y
        conditioned = any(part.label_conditioned for part in _adversarial_parts(trainer.model))
        if step.labelled is not None and conditioned:
            codes = torch.cat([codes, trainer.encode(step.labelled[0])])
            labels = torch.cat([labels, step.labelled[1]])
        return [
            self.discriminator_step(codes, labels, trainer),
            self.generator_step(codes, labels, trainer),
        ]

    def discriminator_step(self, codes, y, trainer):
        """Update the discriminators on prior draws vs. ``codes``; return the loss."""
        loss = 0.0
        for part in _adversarial_parts(trainer.model):
            fake = codes[:, part.columns].detach()
            real = _prior_draw(part, y, len(fake), trainer)
            inputs = self._noisy(torch.cat([real, fake]), part, trainer.generator)
            if part.label_conditioned:
                slots = _label_slots(y, part.prior.n_modes_, inputs.dtype)
                inputs = torch.cat([inputs, torch.cat([slots, slots])], dim=1)
            logits = part.discriminator(inputs)
            target = torch.cat(
                [torch.ones_like(logits[: len(real)]), torch.zeros_like(logits[len(real) :])]
            )
            loss = loss + F.binary_cross_entropy_with_logits(logits, target)
        trainer.step_discriminators(loss)
        return loss.detach()

    def generator_step(self, codes, y, trainer):
        """Update the encoder so that ``codes`` fool the discriminators; return the loss.

        The decoder is not in this graph, so the shared optimiser's step
        leaves it unchanged.
        """
        parts = _adversarial_parts(trainer.model)
        loss = 0.0
        try:
            for part in parts:
                part.discriminator.requires_grad_(False)
                inputs = self._noisy(codes[:, part.columns], part, trainer.generator)
                if part.label_conditioned:
                    slots = _label_slots(y, part.prior.n_modes_, inputs.dtype)
                    inputs = torch.cat([inputs, slots], dim=1)
                logits = part.discriminator(inputs)
                loss = loss + F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
            trainer.step_autoencoder(self.weight * loss)
        finally:  # an interrupt must not leave a frozen discriminator behind
            for part in parts:
                part.discriminator.requires_grad_(True)
        return loss.detach()

    def _noisy(self, z, part, generator):
        if self.noise == 0:
            return z
        std = self.noise * part.prior.std_
        return z + std * torch.randn(z.shape, generator=generator, device=z.device)


class Supervised(Regulariser):
    """Cross-entropy of the encoder's class logits on the labelled mini-batch.

    Semi-supervised classification (the paper's Sec. 5), and the spectral
    start of the clustering models, whose clusters train the categories as
    labels would. A step of its own through the autoencoder's optimiser;
    only the encoder is in its graph.

    Parameters
    ----------
    weight : float
        Weight of the cross-entropy.
    columns : slice
        The columns of the encoder's output that are the class logits.
    """

    names = ("supervised_loss",)

    def __init__(self, weight, columns):
        super().__init__(weight)
        self.columns = columns

    def update(self, step, trainer):
        if step.labelled is None:  # a fit without labelled rows
            return [torch.zeros((), device=trainer.device)]
        x, y = step.labelled
        logits = trainer.model.encoder(x, trainer.generator)[:, self.columns]
        loss = F.cross_entropy(logits, y)
        trainer.step_autoencoder(self.weight * loss)
        return [loss.detach()]


class Neighbourhood(Regulariser):
    """Near rows of the data get near codes: a term of the reconstruction phase.

    Needs batches with ``neighbors`` (one near row of the data per row).
    Each term where the code has the part it needs:

    - in the map (:meth:`map_codes`, in prior-std units), the cross entropy
      of UMAP's layout with negative sampling (McInnes et al., 2018), times
      ``MAP_TERM_SCALE``: neighbours pulled together, other rows of the batch
      kept apart, while the adversary keeps the map on the prior;
    - on each categorical part, SCAN's consistency of a row's and its
      neighbour's category probabilities with a balance term (Van Gansbeke
      et al., 2020), plus ``SMOOTHNESS_WEIGHT`` times the virtual
      adversarial smoothness of the categories (:meth:`smoothness_loss`);
    - the same consistency on the component probabilities of each
      label-regularised part whose prior gives its components' densities
      (the losses and their constants: :mod:`skaae._neighborhood`).

    Parameters
    ----------
    weight : float
        Weight of the term next to the reconstruction loss.
    map : bool, default=True
        Whether the continuous parts of the code form a map (next to a
        categorical part, the style is meant to carry no class, so the
        paper's Sec. 5-6 models turn it off). A representation that is the
        model's embedding (``is_embedding``, the cluster heads) is the map
        whatever this says.
    """

    names = ("neighbor_loss",)
    uses_neighbors = True

    def __init__(self, weight, map=True):
        super().__init__(weight)
        self.map = map
        self._noise, self._noise_source = None, None

    def reconstruction_term(self, step, trainer):
        codes, neighbor_codes = step.reconstruction_codes, step.neighbor_codes
        if neighbor_codes is None:
            return None
        # In float32 under bfloat16 autocast too: the losses stay float32.
        loss = self.neighbor_loss(codes.float(), neighbor_codes.float(), trainer)
        if any(part.prior.categorical for part in trainer.model.parts):
            smoothness = self.smoothness_loss(step.x, step.neighbors, codes, trainer)
            loss = loss + SMOOTHNESS_WEIGHT * smoothness
        return loss

    def neighbor_loss(self, codes, neighbor_codes, trainer):
        """The map's layout term plus the categories' consistency (see the class)."""
        loss = codes.sum() * 0.0
        z = self.map_codes(codes, trainer.model)
        if z is not None:
            neighbor_z = self.map_codes(neighbor_codes, trainer.model)
            loss = loss + MAP_TERM_SCALE * layout_loss(z, neighbor_z, trainer.generator)
        for p, neighbor_p in zip(
            category_views(codes, trainer.model),
            category_views(neighbor_codes, trainer.model),
            strict=True,
        ):
            loss = loss + category_loss(p, neighbor_p)
        return loss

    def map_codes(self, codes, model):
        """The codes as a map, in units of the prior's std; None where the model has none."""
        if getattr(model.representation, "is_embedding", False):
            return model.representation(codes) / model.parts[-1].prior.std_
        continuous = [part for part in model.parts if not part.prior.categorical]
        if not (self.map and continuous):
            return None
        return torch.cat([codes[:, part.columns] / part.prior.std_ for part in continuous], 1)

    def smoothness_loss(self, x, neighbors, codes, trainer, views=None):
        """Virtual adversarial smoothness of the categories (Miyato et al., 2018).

        The category probabilities of each row must not change when the row
        moves by ``SMOOTHNESS_RADIUS`` times its distance to its neighbour in
        the direction that changes them most (one step of power iteration, as
        in VAT): the KL divergence of the moved row's probabilities from the
        row's own, summed over the categorical parts. The radius follows the
        local density of the data, as in IMSAT (Hu et al., 2017).

        ``views`` maps codes to the probabilities to keep smooth (default:
        :func:`categorical_views`).
        """
        model = trainer.model
        views = views or categorical_views
        encode, reference = trainer.encode, codes
        if getattr(model.encoder, "stochastic", False):
            # One noise draw for the row and its moves, so that the divergence
            # measures the move and not the encoder's sampling noise.
            noise = self._smoothness_noise(trainer)
            start = noise.get_state()  # the last pass leaves it one draw on

            def encode(rows):
                noise.set_state(start)
                return trainer.encode(rows, noise)

            with torch.no_grad():
                reference = encode(x)
        targets = [view.detach() for view in views(reference.float(), model)]

        def categories(rows):
            return views(encode(rows).float(), model)

        return smoothness_loss(categories, x, neighbors, targets, trainer.generator)

    def _smoothness_noise(self, trainer):
        """The encoder-noise generator of :meth:`smoothness_loss`, a stream of its own.

        Seeded once from the trainer's generator (and again if that is
        replaced, as a new fit does), so that no batch pays a device sync.
        """
        if self._noise_source is not trainer.generator:
            seed = torch.randint(2**62, (1,), generator=trainer.generator, device=trainer.device)
            self._noise = torch.Generator(trainer.device).manual_seed(int(seed))
            self._noise_source = trainer.generator
        return self._noise


class ComponentPinning(Regulariser):
    """Labelled codes pinned to their components, spread by their neighbours' agreement.

    With label regularisation and the neighbourhood term on: the
    cross-entropy of the labelled codes' component probabilities under the
    prior against their classes, plus the smoothness of the batch's
    component probabilities (VAT's semi-supervised objective, Miyato et al.,
    2018). The neighbourhood term's agreement on components carries the
    anchor to the unlabelled rows, as label spreading does. A step of its own
    through the autoencoder's optimiser; only the encoder is in its graph.

    Parameters
    ----------
    weight : float
        Weight of the step's loss.
    neighbourhood : Neighbourhood
        The neighbourhood term whose smoothness it uses.
    """

    names = ("supervised_loss",)

    def __init__(self, weight, neighbourhood):
        super().__init__(weight)
        self.neighbourhood = neighbourhood

    def update(self, step, trainer):
        if step.labelled is None:
            return [torch.zeros((), device=trainer.device)]
        x, y = step.labelled
        loss = self.pinning_loss(trainer.encode(x).float(), y, trainer.model)
        if step.neighbors is not None:
            with torch.no_grad():
                codes = trainer.encode(step.x)
            loss = loss + self.neighbourhood.smoothness_loss(
                step.x, step.neighbors, codes, trainer, component_views
            )
        trainer.step_autoencoder(self.weight * loss)
        return [loss.detach()]

    @staticmethod
    def pinning_loss(codes, y, model):
        """Cross-entropy of the codes' component probabilities against their classes."""
        loss = codes.sum() * 0.0
        for density in _component_log_densities(codes, model):
            loss = loss + F.cross_entropy(density, y)
        return loss


def categorical_views(codes, model):
    """The categorical parts of the codes, one tensor of probabilities per part."""
    return [codes[:, part.columns] for part in model.parts if part.prior.categorical]


def component_views(codes, model):
    """``p(component | z)`` of each label-regularised part whose prior gives it."""
    return [density.softmax(dim=1) for density in _component_log_densities(codes, model)]


def category_views(codes, model):
    """Every probability view of the codes: categorical parts, then components."""
    return categorical_views(codes, model) + component_views(codes, model)


def _component_log_densities(codes, model):
    return [
        part.prior.component_log_density(codes[:, part.columns]) for part in model.component_parts
    ]


def _adversarial_parts(model):
    """The parts that an adversary regularises (those with a discriminator)."""
    return [part for part in model.parts if part.discriminator is not None]


def _prior_draw(part, y, n, trainer):
    """Prior draws paired with ``n`` codes: from each labelled sample's own component."""
    whole = part.prior.draw(n, trainer.generator, trainer.device)
    if not part.label_conditioned or y is None:
        return whole
    pinned = part.prior.draw(n, trainer.generator, trainer.device, component=y.clamp(min=0))
    return torch.where((y >= 0).unsqueeze(1), pinned, whole)


def _label_slots(y, n_modes, dtype):
    """One-hot labels with an extra last slot for the unlabelled (y == -1)."""
    index = torch.where(y >= 0, y, torch.full_like(y, n_modes))
    return F.one_hot(index, n_modes + 1).to(dtype)


class KLDivergence(Regulariser):
    """KL(q(z|x) || p(z)) of a Gaussian encoder: the regulariser of a VAE.

    The VAE (Kingma and Welling, 2014) regularises each input's posterior
    towards the prior where the AAE puts an adversary on the aggregated codes.
    A term of the reconstruction phase: the divergence of the batch's Gaussian
    posterior ``step.posterior``, summed over dimensions, meaned over rows.

    - ``GaussianPrior`` N(0, s^2 I): in closed form,
      ``0.5 * sum(log s^2 - log_var + (exp(log_var) + mean^2) / s^2 - 1)``.
    - Any other prior with a density (``prior.log_prob``, e.g. the mixture):
      one Monte-Carlo sample at the code of the reconstruction phase,
      ``log q(z|x) - log p(z)``, with ``log q(z|x)`` replaced by its mean
      over the draw's noise (minus the posterior's entropy): the same
      gradient, a less noisy value, and no difference of nearly equal codes
      for bfloat16 to round apart.

    In float32, under bfloat16 autocast too. The reconstruction loss is a mean
    over features, so ``weight = beta / n_features`` gives the ELBO per feature.

    Parameters
    ----------
    weight : float
        Weight of the divergence next to the reconstruction loss.
    prior : Prior
        The bound prior p(z) of the part (``Prior.bind``). Its codes must be
        the encoder's draws as they are (``activate`` the identity) and it
        must have a density (``log_prob``) over all of the space: the uniform
        prior's bounded support makes the divergence of any Gaussian
        posterior infinite.
    columns : slice or None, default=None
        The columns of the code (and of the posterior) that the prior is of;
        None: all of them (a VAE's code is one part).
    closed_form : bool or None, default=None
        Whether to use the closed form; None: when the prior is a
        ``GaussianPrior``. False forces the Monte-Carlo estimate, which any
        prior with a density takes; True needs a ``GaussianPrior``. A prior
        that does not qualify raises a ``ValueError`` naming it.
    """

    names = ("kl_divergence",)
    uses_posterior = True

    def __init__(self, weight, prior, columns=None, closed_form=None):
        super().__init__(weight)
        name = type(prior).__name__
        if not hasattr(prior, "n_components_"):
            raise ValueError(f"KLDivergence needs a bound prior (Prior.bind); got {prior!r}.")
        gaussian = isinstance(prior, GaussianPrior)
        if closed_form and not gaussian:
            raise ValueError(
                f"The KL divergence has a closed form for a GaussianPrior only, not {name}."
            )
        if isinstance(prior, UniformPrior):
            raise ValueError(
                f"{name} has bounded support: the KL divergence of a Gaussian posterior from it "
                "is infinite. Use a prior with a density everywhere (gaussian, mixture)."
            )
        if type(prior).activate is not Prior.activate:
            raise ValueError(
                f"{name} maps the encoder's outputs to codes through activate(); the KL "
                "divergence of a Gaussian posterior needs codes that are its draws as they are."
            )
        if prior.log_prob(torch.zeros(1, prior.n_components_)) is None:
            raise ValueError(
                f"{name} has no density (log_prob returns None): the KL divergence needs one. "
                "Use a GaussianPrior or a GaussianMixturePrior."
            )
        self.prior = prior
        self.columns = slice(None) if columns is None else columns
        self.closed_form = gaussian if closed_form is None else bool(closed_form)

    def reconstruction_term(self, step, trainer):
        mean, log_var = step.posterior
        mean = mean[:, self.columns].float()
        log_var = log_var[:, self.columns].float()
        if self.closed_form:
            loss = self.gaussian_kl(mean, log_var)
        else:
            z = step.reconstruction_codes[:, self.columns].float()
            loss = self.monte_carlo_kl(z, log_var)
        return loss

    def gaussian_kl(self, mean, log_var):
        """KL(N(mean, exp(log_var)) || N(0, s^2 I)), summed over columns, meaned over rows."""
        log_s2 = 2.0 * math.log(self.prior.scale)
        per_dim = log_s2 - log_var + (log_var.exp() + mean.square()) / self.prior.scale**2 - 1.0
        return 0.5 * per_dim.sum(dim=1).mean()

    def monte_carlo_kl(self, z, log_var):
        """``-H(q(z|x)) - log p(z)`` at the draws ``z``, meaned over rows (see the class)."""
        negative_entropy = -0.5 * (math.log(2.0 * math.pi) + 1.0 + log_var).sum(dim=1)
        return (negative_entropy - self.prior.log_prob(z)).mean()

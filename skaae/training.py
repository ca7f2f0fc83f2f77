"""The adversarial autoencoder's training loop, in plain PyTorch.

This module knows nothing of scikit-learn: it takes built networks, bound
priors and mini-batches, and runs the paper's three phases per mini-batch:

1. reconstruction: encoder and decoder minimise the reconstruction loss;
2. regularisation, discriminator: each latent part's discriminator learns to
   tell prior draws (label 1) from codes (label 0);
3. regularisation, generator: the encoder learns to make its codes pass for
   prior draws.

Phases 2 and 3 share one encoder forward pass: the discriminator step does
not change the encoder, so the code it sees is the one the generator step
differentiates.

Phases 1 and 3 both update the encoder, and they do it through one Adam
optimiser. Adam divides each step by a running scale of its own gradients, so
two optimisers on the same weights would each take steps of about the
learning rate whatever their gradients' sizes: late in training, when the
reconstruction gradient is mostly noise, its optimiser would still move the
codes by full steps and they would drift away from the prior faster than the
adversary can pull them back (measured on digits: the prior match of a
300-epoch run degraded from 0.01 to 1.1 with two optimisers, and stayed near
0.01 with one). With one shared state, the two phases' steps are in
proportion to their gradients, so ``adversarial_weight`` sets the balance.

The paper's variants are options of the same loop, not other loops:

- a code made of several :class:`LatentPart` objects, each with its prior
  and discriminator (a categorical part for labels or clusters and a
  Gaussian style part);
- label regularisation: a part's discriminator also sees the one-hot label
  (plus a slot for "unlabelled") and a labelled sample's prior draw comes
  from its own component;
- a ``representation`` between codes and decoder (the label fed to the
  decoder, or learned cluster heads with their penalty);
- a fourth, supervised phase: cross-entropy of a categorical part's logits
  on a labelled mini-batch (semi-supervised classification), or, with label
  regularisation and the neighbourhood term, of the labelled codes'
  component probabilities under the prior (pinning each class to its
  component). It also goes through the shared optimiser, for the same
  reason as the generator phase.
"""

import contextlib
import platform
import time
from typing import NamedTuple

import torch
import torch.nn.functional as F

from ._averaging import WeightAverage
from ._neighborhood import (
    MAP_TERM_SCALE,
    SMOOTHNESS_WEIGHT,
    category_loss,
    layout_loss,
    smoothness_loss,
)
from .metrics import _two_sample_statistics
from .model import LatentPart

__all__ = ["AdversarialTrainer", "Batch", "LatentPart", "TrainingDivergedError"]

PRECISIONS = ("float32", "bfloat16")
"""Values of ``precision``: plain float32, or bfloat16 autocast over float32 weights."""

# Codes kept per epoch to measure the prior match.
_MATCH_SAMPLE_SIZE = 1000


class TrainingDivergedError(ValueError, FloatingPointError):
    """A loss became NaN or infinite during training."""


class Batch(NamedTuple):
    """One mini-batch.

    Attributes
    ----------
    x : torch.Tensor of shape (batch, n_features)
        The inputs.
    y : torch.LongTensor of shape (batch,) or None
        Class indices, -1 for unlabelled; used by label-conditioned parts and
        by the representation.
    labelled : tuple of (torch.Tensor, torch.LongTensor) or None
        A labelled mini-batch ``(x, y)`` for the supervised phase.
    neighbors : torch.Tensor of shape (batch, n_features) or None
        For each row of ``x``, one of its nearest rows of the data, for the
        neighbourhood term of the reconstruction phase.
    """

    x: torch.Tensor
    y: torch.Tensor | None = None
    labelled: tuple | None = None
    neighbors: torch.Tensor | None = None


class AdversarialTrainer:
    """Optimisers and per-phase steps for one adversarial autoencoder.

    Parameters
    ----------
    model : AutoencoderModel
        The model to train (:mod:`skaae.model`): its networks, latent parts,
        representation and reconstruction loss.
    learning_rate : float
        Adam step size of the encoder and decoder (reconstruction and
        generator phases, one shared optimiser).
    discriminator_learning_rate : float
        Adam step size of the discriminators.
    adversarial_weight : float
        Weight of the generator loss relative to the reconstruction loss.
    discriminator_noise : float
        Standard deviation of the Gaussian noise added to every input of the
        discriminators, relative to the prior's ``std_`` (instance noise:
        it keeps the discriminator from becoming too sharp).
    generator : torch.Generator
        Generator on the training device for prior draws and noise.
    max_grad_norm : float or None, default=None
        When set, every optimiser step first clips the global norm of its
        gradients to this value (``torch.nn.utils.clip_grad_norm_``).
    classifier_columns : slice or None, default=None
        Columns of the encoder's output that are class logits: enables the
        supervised phase on each batch's ``labelled`` part.
    supervised_weight : float, default=1.0
        Weight of the supervised cross-entropy.
    precision : {"float32", "bfloat16"}, default="float32"
        Precision of the forward passes (see :func:`precision_context`); the
        weights, the optimisers and the losses stay in float32. May be
        reassigned between epochs.
    neighbor_weight : float, default=0.0
        Weight of the neighbourhood term (:meth:`neighbor_loss`) in the
        reconstruction phase, on batches that carry ``neighbors``.
    neighbor_map : bool, default=True
        Whether the continuous parts of the code form a map for the
        neighbourhood term (see :meth:`map_codes`).
    average_weights : bool, default=False
        Whether the encoder, the decoder and the representation hold an
        exponential moving average of their weights between epochs (see
        :mod:`skaae._averaging`); during :meth:`run_epoch` they hold the
        live weights that the optimiser moves. May be changed by
        :meth:`configure`.
    augmentation : callable or None, default=None
        ``augmentation(x, generator)``: a random transformation of a batch of
        inputs (see :mod:`skaae.augmentation`), applied to every mini-batch
        that :meth:`train_batch` receives (its inputs, neighbours and
        labelled inputs), with this trainer's ``generator``; the
        reconstruction's target stays the batch as given. May be reassigned
        between epochs.
    """

    def __init__(
        self,
        model,
        learning_rate,
        discriminator_learning_rate,
        adversarial_weight,
        discriminator_noise,
        generator,
        max_grad_norm=None,
        classifier_columns=None,
        supervised_weight=1.0,
        precision="float32",
        neighbor_weight=0.0,
        neighbor_map=True,
        average_weights=False,
        augmentation=None,
    ):
        self.model = model
        parts = model.parts
        self.classifier_columns = classifier_columns
        self.supervised_weight = supervised_weight
        self._label_conditioned = any(part.label_conditioned for part in parts)
        self._categorical_columns = [part.columns for part in parts if part.prior.categorical]
        self._component_parts = [
            part
            for part in parts
            if part.label_conditioned and part.prior.component_log_density(_probe(part)) is not None
        ]
        self._continuous_parts = [part for part in parts if not part.prior.categorical]
        self.neighbor_map = neighbor_map
        self.generator = generator
        self.precision = precision
        self.augmentation = augmentation
        # Draws of the prior-match monitor come from their own generator, so
        # that watching the training does not change it.
        self.monitor_generator = torch.Generator(generator.device)
        self.device = model.device
        autoencoder = [model.encoder, model.decoder, model.representation]
        self.autoencoder_optimizer = _adam(
            [p for module in autoencoder if module is not None for p in module.parameters()],
            learning_rate,
        )
        self.weight_average = None
        self.discriminator_optimizer = _adam(
            model.discriminators.parameters(),
            discriminator_learning_rate,
            betas=(0.5, 0.9),
        )
        self.configure(
            learning_rate,
            discriminator_learning_rate,
            adversarial_weight,
            discriminator_noise,
            max_grad_norm,
            neighbor_weight,
            average_weights,
        )

    def configure(
        self,
        learning_rate,
        discriminator_learning_rate,
        adversarial_weight,
        discriminator_noise,
        max_grad_norm=None,
        neighbor_weight=0.0,
        average_weights=False,
    ):
        """Set the hyperparameters, keeping the optimisers' state (for warm starts).

        Turning ``average_weights`` on starts the average at the current
        weights; turning it off keeps the average as the weights to go on from.
        """
        for optimizer, lr in (
            (self.autoencoder_optimizer, learning_rate),
            (self.discriminator_optimizer, discriminator_learning_rate),
        ):
            for group in optimizer.param_groups:
                group["lr"] = lr
        self.adversarial_weight = adversarial_weight
        self.discriminator_noise = discriminator_noise
        self.max_grad_norm = max_grad_norm
        self.neighbor_weight = neighbor_weight
        if not average_weights:
            self.weight_average = None
        elif self.weight_average is None:
            parameters = self.autoencoder_optimizer.param_groups[0]["params"]
            self.weight_average = WeightAverage(parameters)

    def state_dict(self):
        """The optimisers' state and the weight average (live tensors: copy it to keep it)."""
        state = {
            "autoencoder_optimizer": self.autoencoder_optimizer.state_dict(),
            "discriminator_optimizer": self.discriminator_optimizer.state_dict(),
        }
        if self.weight_average is not None:
            state["weight_average"] = self.weight_average.state_dict()
        return state

    def load_state_dict(self, state):
        """Restore the state from :meth:`state_dict` (the tensors are taken over)."""
        self.autoencoder_optimizer.load_state_dict(state["autoencoder_optimizer"])
        self.discriminator_optimizer.load_state_dict(state["discriminator_optimizer"])
        if self.weight_average is None:
            return
        if "weight_average" in state:
            self.weight_average.load_state_dict(state["weight_average"])
        else:  # a state from before averaging was turned on: it starts afresh
            self.weight_average = WeightAverage(self.weight_average.parameters)

    def encode(self, x, generator=None):
        """The training codes of ``x``: the encoder's output, each part activated.

        ``generator`` draws a stochastic encoder's noise (default: the
        training generator).
        """
        return self.model.encode(x, self.generator if generator is None else generator)

    def reconstruction_step(self, x, y=None, neighbors=None, target=None):
        """Update encoder and decoder on one mini-batch; return the losses (detached).

        The decoder's output for the codes of ``x`` is compared with
        ``target`` (default ``x``: an augmented batch is compared with the
        batch as given, so that the encoder learns to ignore the augmentation).

        With ``neighbors`` (one near row of the data per row of ``x``) and a
        positive ``neighbor_weight``, the step also minimises the
        neighbourhood term: :meth:`neighbor_loss`, plus, where the code has
        categorical parts, ``SMOOTHNESS_WEIGHT`` times :meth:`smoothness_loss`.

        Returns
        -------
        reconstruction : torch.Tensor
            The reconstruction loss (with the representation's penalty, if any).
        neighborhood : torch.Tensor or None
            The neighbourhood term before its weight, None when it was not computed.
        """
        with_neighbors = neighbors is not None and self.neighbor_weight != 0
        if with_neighbors:
            codes, neighbor_codes = self.encode(torch.cat([x, neighbors])).split(len(x))
        else:
            codes = self.encode(x)
        output = self.model.decode(codes, y)
        loss = self.model.reconstruction_loss(output, x if target is None else target)
        if hasattr(self.model.representation, "penalty"):
            loss = loss + self.model.representation.penalty()
        neighborhood = None
        if with_neighbors:
            # In float32 under bfloat16 autocast too: the losses stay float32.
            neighborhood = self.neighbor_loss(codes.float(), neighbor_codes.float())
            if self._categorical_columns:
                smoothness = self.smoothness_loss(x, neighbors, codes)
                neighborhood = neighborhood + SMOOTHNESS_WEIGHT * smoothness
        total = loss if neighborhood is None else loss + self.neighbor_weight * neighborhood
        _step(self.autoencoder_optimizer, total, self.max_grad_norm)
        return loss.detach(), None if neighborhood is None else neighborhood.detach()

    def neighbor_loss(self, codes, neighbor_codes):
        """The neighbourhood term: near rows of the data get near codes.

        Two terms, each where the code has the part it needs:

        - in the map (:meth:`map_codes`, in units of the prior's std), with
          the similarity ``q(d) = 1 / (1 + (d / w)^2)`` of two points at
          distance ``d`` (``w`` = ``NEIGHBOR_KERNEL_WIDTH``), the cross
          entropy of UMAP's layout (McInnes et al., 2018) with negative
          sampling: ``-log q`` for each row and its neighbour, plus
          ``-log(1 - q)`` for each row and ``NEGATIVE_SAMPLES`` other rows of
          the batch, times ``MAP_TERM_SCALE``. The first pulls neighbours
          together; the second keeps rows that are not neighbours apart, so
          that the classes of the data separate in the map while the
          adversary keeps the map's overall distribution on the prior;
        - on each categorical part, the consistency of the category
          probabilities ``p`` of a row and ``p'`` of its neighbour,
          ``-log(p . p')`` (as in SCAN, Van Gansbeke et al., 2020): it is
          zero only when both are sure of the same category. Plus
          ``BALANCE_WEIGHT`` times the KL divergence of the batch's mean
          probabilities from the uniform distribution, which rules out the
          trivial answer of one category for every row (the part's
          adversary alone did not);
        - the same on the component probabilities of each label-regularised
          part whose prior gives its components' densities
          (:meth:`component_views`): neighbours agree on their component.

        The losses and their constants are in :mod:`skaae._neighborhood`.
        """
        loss = codes.sum() * 0.0
        z = self.map_codes(codes)
        if z is not None:
            neighbor_z = self.map_codes(neighbor_codes)
            loss = loss + MAP_TERM_SCALE * layout_loss(z, neighbor_z, self.generator)
        for p, neighbor_p in zip(
            self.category_views(codes), self.category_views(neighbor_codes), strict=True
        ):
            loss = loss + category_loss(p, neighbor_p)
        return loss

    def category_views(self, codes):
        """The codes' category probabilities, one tensor per part that has categories.

        A categorical part's codes are its category probabilities
        (:meth:`categorical_views`); a label-regularised part whose prior
        gives its components' densities has its code's component
        probabilities (:meth:`component_views`), so that the neighbourhood
        term makes neighbours agree on their component as it makes them
        agree on their category.
        """
        return self.categorical_views(codes) + self.component_views(codes)

    def categorical_views(self, codes):
        """The categorical parts of the codes, one tensor of probabilities per part."""
        return [codes[:, columns] for columns in self._categorical_columns]

    def component_views(self, codes):
        """``p(component | z)`` under the prior of each label-regularised part that gives it.

        From ``Prior.component_log_density``; one tensor of shape
        ``(batch, n_modes_)`` per such part.
        """
        return [density.softmax(dim=1) for density in self._component_log_densities(codes)]

    def _component_log_densities(self, codes):
        return [
            part.prior.component_log_density(codes[:, part.columns])
            for part in self._component_parts
        ]

    @property
    def pins_components(self):
        """Whether the supervised phase pins labelled codes to their components.

        With label regularisation, a prior that gives its components'
        densities and the neighbourhood term on: the labelled rows anchor
        each class to its component and the neighbours' agreement on their
        component (:meth:`neighbor_loss`) carries the anchor to the
        unlabelled rows, as label spreading does. Measured on digits with
        10 % labels (2-D mixture, defaults): the pinning alone (no
        agreement) lowered the 5-NN accuracy of the test codes from 0.92 to
        0.81, so it comes only with the neighbourhood term.
        """
        return bool(self._component_parts) and self.neighbor_weight != 0

    def pinning_loss(self, codes, y):
        """Cross-entropy of the codes' component probabilities against their classes.

        Summed over the label-regularised parts whose prior gives its
        components' densities (see :meth:`component_views`).
        """
        loss = codes.sum() * 0.0
        for density in self._component_log_densities(codes):
            loss = loss + F.cross_entropy(density, y)
        return loss

    def smoothness_loss(self, x, neighbors, codes, views=None):
        """Virtual adversarial smoothness of the categories (Miyato et al., 2018).

        The category probabilities of each row must not change when the row
        moves by ``SMOOTHNESS_RADIUS`` times its distance to its neighbour in
        the direction that changes them most (found by one step of power
        iteration, as in VAT): the KL divergence of the perturbed row's
        probabilities from the row's own (held fixed), summed over the
        categorical parts. The radius follows the local density of the data,
        as in IMSAT (Hu et al., 2017), so that no category boundary runs
        between a row and its near neighbours.

        Parameters
        ----------
        x, neighbors : torch.Tensor of shape (batch, n_features)
            The rows and one near row of the data for each.
        codes : torch.Tensor of shape (batch, n_codes)
            The training codes of ``x``.
        views : callable or None, default=None
            Maps codes to the list of category probabilities to keep smooth;
            None: :meth:`categorical_views`.
        """
        views = views or self.categorical_views
        encode, reference = self.encode, codes
        if getattr(self.model.encoder, "stochastic", False):
            # One noise draw for the row and its moves, so that the divergence
            # measures the move and not the encoder's sampling noise.
            noise = self._smoothness_noise()
            start = noise.get_state()  # the last pass leaves it one draw on

            def encode(rows):
                noise.set_state(start)
                return self.encode(rows, noise)

            with torch.no_grad():
                reference = encode(x)
        targets = [view.detach() for view in views(reference.float())]

        def categories(rows):
            return views(encode(rows).float())

        return smoothness_loss(categories, x, neighbors, targets, self.generator)

    def _smoothness_noise(self):
        """The encoder-noise generator of :meth:`smoothness_loss`, a stream of its own.

        Seeded once from ``generator`` (and again if that is replaced, as a
        new fit does), so that no batch pays a device sync for a seed.
        """
        if getattr(self, "_noise_source", None) is not self.generator:
            seed = torch.randint(2**62, (1,), generator=self.generator, device=self.device)
            self._noise = torch.Generator(self.device).manual_seed(int(seed))
            self._noise_source = self.generator
        return self._noise

    @property
    def has_map(self):
        """Whether the neighbourhood term lays out a map (see :meth:`map_codes`)."""
        if getattr(self.model.representation, "is_embedding", False):
            return True
        return bool(self.neighbor_map and self._continuous_parts)

    def map_codes(self, codes):
        """The codes as a map, in units of the prior's std; None where the model has none.

        The representation's output when that is the model's embedding
        (``representation.is_embedding``); else the continuous parts of the
        code when ``neighbor_map`` is on (next to a categorical part, the
        style code is meant to carry no class, so the models of the paper's
        Sec. 5-6 turn it off).
        """
        if not self.has_map:
            return None
        if getattr(self.model.representation, "is_embedding", False):
            return self.model.representation(codes) / self.model.parts[-1].prior.std_
        return torch.cat(
            [codes[:, part.columns] / part.prior.std_ for part in self._continuous_parts], 1
        )

    def discriminator_step(self, codes, y=None):
        """Update the discriminators on prior draws vs. ``codes``; return the loss."""
        loss = 0.0
        for part in self.model.parts:
            fake = codes[:, part.columns].detach()
            real = self._prior_draw(part, y, len(fake))
            inputs = self._noisy(torch.cat([real, fake]), part)
            if part.label_conditioned:
                slots = _label_slots(y, part.prior.n_modes_, inputs.dtype)
                inputs = torch.cat([inputs, torch.cat([slots, slots])], dim=1)
            logits = part.discriminator(inputs)
            target = torch.cat(
                [torch.ones_like(logits[: len(real)]), torch.zeros_like(logits[len(real) :])]
            )
            loss = loss + F.binary_cross_entropy_with_logits(logits, target)
        _step(self.discriminator_optimizer, loss, self.max_grad_norm)
        return loss.detach()

    def generator_step(self, codes, y=None):
        """Update the encoder so that ``codes`` fool the discriminators; return the loss.

        The decoder is not in this graph, so the shared optimiser's step
        leaves it unchanged.
        """
        loss = 0.0
        try:
            for part in self.model.parts:
                part.discriminator.requires_grad_(False)
                inputs = self._noisy(codes[:, part.columns], part)
                if part.label_conditioned:
                    slots = _label_slots(y, part.prior.n_modes_, inputs.dtype)
                    inputs = torch.cat([inputs, slots], dim=1)
                logits = part.discriminator(inputs)
                loss = loss + F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
            _step(self.autoencoder_optimizer, self.adversarial_weight * loss, self.max_grad_norm)
        finally:  # an interrupt must not leave a frozen discriminator behind
            for part in self.model.parts:
                part.discriminator.requires_grad_(True)
        return loss.detach()

    def supervised_step(self, x, y, rows=None, neighbors=None):
        """Update the encoder on a labelled mini-batch; return the loss.

        The cross-entropy of the encoder's class logits (``classifier_columns``),
        or, with label regularisation (:attr:`pins_components`),
        :meth:`pinning_loss` plus, given the batch's ``rows`` and their
        ``neighbors``, the :meth:`smoothness_loss` of their component
        probabilities: VAT's semi-supervised objective (Miyato et al., 2018)
        on the components. Only the encoder is in this graph, so the shared
        optimiser's step leaves the decoder unchanged.
        """
        if self.classifier_columns is None:
            loss = self.pinning_loss(self.encode(x).float(), y)
            if neighbors is not None:
                with torch.no_grad():
                    codes = self.encode(rows)
                views = self.component_views
                loss = loss + self.smoothness_loss(rows, neighbors, codes, views)
        else:
            logits = self.model.encoder(x, self.generator)[:, self.classifier_columns]
            loss = F.cross_entropy(logits, y)
        _step(self.autoencoder_optimizer, self.supervised_weight * loss, self.max_grad_norm)
        return loss.detach()

    def _prior_draw(self, part, y, n):
        """Prior draws paired with ``n`` codes: from each labelled sample's own component."""
        whole = part.prior.draw(n, self.generator, self.device)
        if not part.label_conditioned or y is None:
            return whole
        pinned = part.prior.draw(n, self.generator, self.device, component=y.clamp(min=0))
        return torch.where((y >= 0).unsqueeze(1), pinned, whole)

    def _noisy(self, z, part):
        if self.discriminator_noise == 0:
            return z
        std = self.discriminator_noise * part.prior.std_
        return z + std * torch.randn(z.shape, generator=self.generator, device=z.device)

    @property
    def loss_names(self):
        """Names of the losses that :meth:`train_batch` returns, in order."""
        names = ["reconstruction_loss", "discriminator_loss", "generator_loss"]
        if self.classifier_columns is not None or self.pins_components:
            names.append("supervised_loss")
        if self.neighbor_weight != 0:
            names.append("neighbor_loss")
        return names

    def train_batch(self, batch):
        """Run the phases on one mini-batch; return the losses and the codes.

        Parameters
        ----------
        batch : Batch or torch.Tensor
            The mini-batch (a tensor is a batch of inputs alone).

        Returns
        -------
        losses : list of torch.Tensor
            One detached scalar per name of :attr:`loss_names`.
        codes : torch.Tensor
            The batch's codes (detached), taken before the generator step.
        """
        if not isinstance(batch, Batch):
            batch = Batch(batch)
        target = batch.x
        if self.augmentation is not None:
            batch = self._augmented(batch)
        x, y = batch.x, batch.y
        reconstruction, neighborhood = self.reconstruction_step(x, y, batch.neighbors, target)
        losses = [reconstruction]
        codes = self.encode(x)
        regularised, labels = codes, y
        if batch.labelled is not None and self._label_conditioned:
            # A labelled mini-batch joins the regularisation phase, so that
            # the few labelled samples pin their components at every step.
            regularised = torch.cat([codes, self.encode(batch.labelled[0])])
            labels = torch.cat([y, batch.labelled[1]])
        losses.append(self.discriminator_step(regularised, labels))
        losses.append(self.generator_step(regularised, labels))
        if self.classifier_columns is not None or self.pins_components:
            if batch.labelled is None:  # a fit without labelled rows
                losses.append(torch.zeros_like(reconstruction))
            elif self.classifier_columns is not None:
                losses.append(self.supervised_step(*batch.labelled))
            else:
                losses.append(self.supervised_step(*batch.labelled, x, batch.neighbors))
        if self.neighbor_weight != 0:
            no_neighbors = torch.zeros_like(reconstruction)
            losses.append(no_neighbors if neighborhood is None else neighborhood)
        return losses, codes.detach()

    def _augmented(self, batch):
        """``batch`` with its inputs, neighbours and labelled inputs augmented, each anew."""

        def augment(x):
            return None if x is None else self.augmentation(x, self.generator)

        labelled = batch.labelled
        if labelled is not None:
            labelled = (augment(labelled[0]), *labelled[1:])
        x, neighbors = augment(batch.x), augment(batch.neighbors)
        return batch._replace(x=x, neighbors=neighbors, labelled=labelled)

    def run_epoch(self, batches):
        """Train on an iterable of mini-batches; return the epoch's record.

        Parameters
        ----------
        batches : iterable of Batch or torch.Tensor
            The epoch's mini-batches.

        Returns
        -------
        record : dict
            Mean ``reconstruction_loss``, ``discriminator_loss``,
            ``generator_loss`` (and ``supervised_loss``, ``neighbor_loss``) over the batches,
            the ``prior_match`` (energy distance between the last codes of
            the epoch and as many prior draws, scaled by the prior's std;
            summed over parts; with a weight average, the codes that the
            average gives the epoch's last rows), the
            ``prior_match_1nn`` (their 1-nearest-neighbour two-sample accuracy,
            0.5 at a perfect match) and the wall ``time`` in seconds.

        Raises
        ------
        TrainingDivergedError
            If a loss is not finite.
        """
        start = time.perf_counter()
        self._set_train(True)
        average = self.weight_average
        if average is not None and not average.live_in_parameters:
            average.swap()
        names = self.loss_names
        totals = torch.zeros(len(names), device=self.device)
        # The epoch's last codes, kept for the prior match; with a weight
        # average, the last rows instead, to be encoded by the average.
        recent, n_recent = [], 0
        n_batches = 0
        for batch in batches:
            with precision_context(self.device, self.precision):
                losses, codes = self.train_batch(batch)
            if average is not None:
                average.update()
                codes = batch.x if isinstance(batch, Batch) else batch
            totals += torch.stack(losses)
            recent.append(codes)
            n_recent += len(codes)
            n_batches += 1
            while n_recent - len(recent[0]) >= _MATCH_SAMPLE_SIZE:
                n_recent -= len(recent.pop(0))
        means = (totals / max(n_batches, 1)).tolist()
        if not all(map(_finite, means)):
            raise TrainingDivergedError(
                f"The training loss became non-finite ({means}). Likely causes: learning rates "
                "too high for this data, or features on very different or extreme scales "
                "(scale the input, or lower learning_rate / discriminator_learning_rate)."
            )
        record = dict(zip(names, means, strict=True))
        recent = torch.cat(recent)[-_MATCH_SAMPLE_SIZE:]
        if average is not None:
            average.swap()
            recent = self._monitor_codes(recent)
        energy, nearest = self.prior_match(recent)
        record["prior_match"] = energy
        record["prior_match_1nn"] = nearest
        record["time"] = time.perf_counter() - start
        return record

    @torch.no_grad()
    def _monitor_codes(self, x):
        """Training codes of the rows ``x`` for the prior match, with the monitor's noise."""
        with precision_context(self.device, self.precision):
            return self.encode(x, self.monitor_generator).float()

    def prior_match(self, codes):
        """How far ``codes`` are from as many prior draws.

        Returns
        -------
        energy : float
            Energy distance in prior-std units, summed over the parts.
        nearest : float
            1-nearest-neighbour two-sample accuracy, averaged over the parts
            (0.5 is a perfect match; it sees local structure that the energy
            distance blurs, such as codes filling the gaps between the arms of
            a mixture).
        """
        energy, nearest = 0.0, 0.0
        for part in self.model.parts:
            z = codes[:, part.columns].float()
            real = part.prior.draw(len(z), self.monitor_generator, self.device)
            part_energy, part_nearest = _two_sample_statistics(
                z, real, part.prior.std_, dtype=torch.float32
            )
            energy += part_energy
            nearest += part_nearest / len(self.model.parts)
        return energy, nearest

    @torch.inference_mode()
    def reconstruction_error(self, batches):
        """Mean reconstruction loss of the encoder's embedding over ``batches``.

        The embedding's noise (universal encoder) comes from a fixed seed, as in
        ``transform``, so the value is comparable from epoch to epoch.
        """
        self._set_train(False)
        total, count = 0.0, 0
        for batch in batches:
            x, y = (batch.x, batch.y) if isinstance(batch, Batch) else (batch, None)
            with precision_context(self.device, self.precision):
                output = self.model.decode(self.model.embed(x), y)
                total += float(self.model.reconstruction_loss(output, x)) * len(x)
            count += len(x)
        return total / max(count, 1)

    def _set_train(self, mode):
        self.model.train(mode)


def _probe(part):
    """One code of ``part``'s prior, to ask the prior what it implements."""
    return torch.zeros(1, part.prior.n_components_)


def _label_slots(y, n_modes, dtype):
    """One-hot labels with an extra last slot for the unlabelled (y == -1)."""
    index = torch.where(y >= 0, y, torch.full_like(y, n_modes))
    return F.one_hot(index, n_modes + 1).to(dtype)


def _adam(parameters, lr, betas=(0.9, 0.999)):
    parameters = list(parameters)
    fused = all(p.device.type in ("cuda", "cpu") for p in parameters)
    return torch.optim.Adam(parameters, lr=lr, betas=betas, fused=fused)


def _step(optimizer, loss, max_grad_norm=None):
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if max_grad_norm is not None:
        # Parameters outside this loss's graph have no gradient and are skipped.
        parameters = [p for group in optimizer.param_groups for p in group["params"]]
        torch.nn.utils.clip_grad_norm_(parameters, max_grad_norm, foreach=True)
    optimizer.step()


def _finite(value):
    return value == value and abs(value) != float("inf")


def precision_context(device, precision):
    """The context of the forward passes for ``precision`` on ``device``.

    ``"float32"``: no change. ``"bfloat16"``: ``torch.autocast`` runs the
    matrix products in bfloat16 while the weights stay float32 (mixed
    precision); losses such as BCE-with-logits and MSE are autocast to
    float32. The cache of cast weights is off: an optimiser step updates the
    weights in place inside the context, and a cached cast would go on
    serving the old weights to the next phase's forward pass. Each weight is
    used once per forward pass, so the cache would save nothing anyway.
    """
    if precision == "float32":
        return contextlib.nullcontext()
    if precision != "bfloat16":
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}.")
    device_type = torch.device(device).type
    return torch.autocast(device_type, dtype=torch.bfloat16, cache_enabled=False)


def has_native_bfloat16(device):
    """Whether ``device`` multiplies bfloat16 matrices in hardware (None: unknown).

    On x86 CPUs that takes AVX512-BF16 or AMX; without them oneDNN emulates
    the bfloat16 products, which then run far slower than float32 (measured
    on a 2-core AVX2 EPYC: 1.8 GFLOP/s against 66 for float32 at 2048^3).
    On CUDA it takes compute capability 8.0 (Ampere) or later. Other CPUs
    (ARM) are not probed: None.
    """
    device = torch.device(device)
    if device.type == "cuda":
        try:
            return torch.cuda.is_bf16_supported(including_emulation=False)
        except TypeError:  # torch releases before the argument existed
            return torch.cuda.get_device_capability(device)[0] >= 8
    if device.type == "cpu" and platform.machine().lower() in ("x86_64", "amd64"):
        cpu = torch.cpu
        probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
        if not all(hasattr(cpu, name) for name in probes):
            return None
        return any(getattr(cpu, name)() for name in probes)
    return None

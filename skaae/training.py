"""The training loop, in plain PyTorch: it knows nothing of scikit-learn.

:class:`AdversarialTrainer` trains an :class:`~skaae.model.AutoencoderModel`
on mini-batches. Each mini-batch runs the reconstruction phase (encoder and
decoder minimise the reconstruction loss plus the reconstruction terms of the
regularisers), then each regulariser's own phases in the order of its list
(:mod:`skaae.regularisers`): for the paper's AAE, the discriminator step and
the generator step of :class:`~skaae.regularisers.AdversarialPrior`, which
share one encoder forward pass, taken after the reconstruction update.

Every phase that updates the encoder goes through one Adam optimiser. Adam
divides each step by a running scale of its own gradients, so two optimisers
on the same weights would each take steps of about the learning rate
whatever their gradients' sizes, and the codes would drift from the prior
late in training, when the reconstruction gradient is mostly noise. With one
shared state, the phases' steps are in proportion to their gradients, so the
regularisers' weights set the balance.

The trainer also keeps the epoch's record (mean losses, the prior match of
the epoch's last codes), the weight average, the precision context and the
augmentation of the batches.
"""

import time
from typing import NamedTuple

import torch

from ._averaging import WeightAverage
from ._precision import PRECISIONS, has_native_bfloat16, precision_context
from .metrics import _two_sample_statistics
from .model import AutoencoderModel

__all__ = [
    "PRECISIONS",
    "AdversarialTrainer",
    "Batch",
    "TrainingDivergedError",
    "TrainingStep",
    "has_native_bfloat16",
    "precision_context",
]


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


class TrainingStep:
    """What the phases of one mini-batch share (see :mod:`skaae.regularisers`).

    Attributes
    ----------
    x : torch.Tensor of shape (batch, n_features)
        The inputs the encoder sees (augmented, when there is an augmentation).
    y : torch.LongTensor of shape (batch,) or None
        Class indices, -1 for unlabelled.
    target : torch.Tensor of shape (batch, n_features)
        What the decoder must rebuild: the batch as given.
    neighbors : torch.Tensor or None
        One near row of the data per row of ``x``.
    labelled : tuple of (torch.Tensor, torch.LongTensor) or None
        A labelled mini-batch ``(x, y)``.
    reconstruction_codes, neighbor_codes : torch.Tensor or None
        The codes of ``x`` and of ``neighbors`` in the reconstruction phase
        (with their graph); ``neighbor_codes`` only when a regulariser uses
        neighbours and the batch has them.
    posterior : tuple of torch.Tensor or None
        ``(mean, log_var)`` of the Gaussian posterior q(z|x) of ``x`` in the
        reconstruction phase, when a regulariser uses it (``uses_posterior``).
    codes : torch.Tensor or None
        The codes of ``x`` after the reconstruction update, which the later
        phases share (with their graph) and the prior-match monitor reads.
    terms : dict
        Each regulariser's reconstruction term (detached), by ``id(regulariser)``.
    """

    def __init__(self, batch, target):
        self.x, self.y, self.labelled, self.neighbors = batch
        self.target = target
        self.reconstruction_codes = self.neighbor_codes = self.codes = self.posterior = None
        self.terms = {}


class AdversarialTrainer:
    """Optimisers, phases and the epoch loop for one :class:`~skaae.model.AutoencoderModel`.

    Parameters
    ----------
    model : AutoencoderModel
        The model to train (:mod:`skaae.model`).
    regularisers : list of Regulariser
        The terms next to the reconstruction (:mod:`skaae.regularisers`), run
        in this order; may be reassigned between epochs.
    learning_rate : float
        Adam step size of the encoder, decoder and representation (one
        optimiser shared by every phase that updates them).
    discriminator_learning_rate : float or None
        Adam step size of the discriminators (None: a model without any).
    generator : torch.Generator
        Generator on the training device for the training's random draws.
    max_grad_norm : float or None, default=None
        When set, every optimiser step first clips the global norm of its
        gradients to this value (``torch.nn.utils.clip_grad_norm_``).
    precision : {"float32", "bfloat16"}, default="float32"
        Precision of the forward passes (see :func:`precision_context`); the
        weights, the optimisers and the losses stay in float32. May be
        reassigned between epochs.
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
        regularisers,
        learning_rate,
        discriminator_learning_rate,
        generator,
        max_grad_norm=None,
        precision="float32",
        average_weights=False,
        augmentation=None,
    ):
        if not isinstance(model, AutoencoderModel):
            raise TypeError(
                "AdversarialTrainer takes an AutoencoderModel (skaae.model) and a list of "
                "regularisers (skaae.regularisers) since skaae 0.2; the networks, parts and loss "
                f"it took before go into the model. Got {type(model).__name__}."
            )
        self.model = model
        self.regularisers = list(regularisers)
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
        self.discriminator_optimizer = None
        if len(model.discriminators):
            self.discriminator_optimizer = _adam(
                model.discriminators.parameters(), discriminator_learning_rate, betas=(0.5, 0.9)
            )
        names = self.loss_names
        if len(set(names)) != len(names):
            raise ValueError(f"The regularisers report a loss name twice: {names}.")
        self.configure(
            learning_rate,
            discriminator_learning_rate,
            max_grad_norm=max_grad_norm,
            average_weights=average_weights,
        )

    def configure(
        self,
        learning_rate,
        discriminator_learning_rate,
        *,
        max_grad_norm=None,
        average_weights=False,
    ):
        """Set the hyperparameters, keeping the optimisers' state (for warm starts).

        Turning ``average_weights`` on starts the average at the current
        weights; turning it off keeps the average as the weights to go on from.
        """
        for optimizer, lr in self._optimizers(learning_rate, discriminator_learning_rate):
            for group in optimizer.param_groups:
                group["lr"] = lr
        self.max_grad_norm = max_grad_norm
        if not average_weights:
            self.weight_average = None
        elif self.weight_average is None:
            parameters = self.autoencoder_optimizer.param_groups[0]["params"]
            self.weight_average = WeightAverage(parameters)

    def _optimizers(self, *values):
        """``(optimizer, value)`` pairs: the autoencoder's, then the discriminators' (if any)."""
        pairs = zip((self.autoencoder_optimizer, self.discriminator_optimizer), values, strict=True)
        return [(optimizer, value) for optimizer, value in pairs if optimizer is not None]

    def state_dict(self):
        """The optimisers' state and the weight average (live tensors: copy it to keep it)."""
        state = {"autoencoder_optimizer": self.autoencoder_optimizer.state_dict()}
        if self.discriminator_optimizer is not None:
            state["discriminator_optimizer"] = self.discriminator_optimizer.state_dict()
        if self.weight_average is not None:
            state["weight_average"] = self.weight_average.state_dict()
        return state

    def load_state_dict(self, state):
        """Restore the state from :meth:`state_dict` (the tensors are taken over)."""
        self.autoencoder_optimizer.load_state_dict(state["autoencoder_optimizer"])
        if self.discriminator_optimizer is not None:
            self.discriminator_optimizer.load_state_dict(state["discriminator_optimizer"])
        if self.weight_average is None:
            return
        if "weight_average" in state:
            self.weight_average.load_state_dict(state["weight_average"])
        else:  # a state from before averaging was turned on: it starts afresh
            self.weight_average = WeightAverage(self.weight_average.parameters)

    def encode(self, x, generator=None):
        """The training codes of ``x`` (noise from ``generator``, default the training one)."""
        return self.model.encode(x, self.generator if generator is None else generator)

    def step_autoencoder(self, loss):
        """One step of the encoder's, decoder's and representation's optimiser on ``loss``."""
        _step(self.autoencoder_optimizer, loss, self.max_grad_norm)

    def step_discriminators(self, loss):
        """One step of the discriminators' optimiser on ``loss``."""
        _step(self.discriminator_optimizer, loss, self.max_grad_norm)

    def find(self, kind):
        """The first regulariser of class ``kind``, or None."""
        return next((r for r in self.regularisers if isinstance(r, kind)), None)

    @property
    def loss_names(self):
        """Names of the losses that :meth:`train_batch` returns, in order."""
        return ["reconstruction_loss", *(name for r in self.regularisers for name in r.names)]

    def reconstruction_step(self, step):
        """Update encoder, decoder and representation on ``step``; return the loss (detached).

        The loss is the reconstruction loss of ``step.target`` from the codes
        of ``step.x`` (plus the representation's penalty, if it has one); the
        regularisers' reconstruction terms are added to it, each times its
        weight, for the update.
        """
        model, x = self.model, step.x
        rows = x
        if step.neighbors is not None and any(r.uses_neighbors for r in self.regularisers):
            rows = torch.cat([x, step.neighbors])
        if any(r.uses_posterior for r in self.regularisers):
            codes, mean, log_var = model.encode_with_posterior(rows, self.generator)
            step.posterior = (mean[: len(x)], log_var[: len(x)])
        else:
            codes = self.encode(rows)
        if rows is not x:
            codes, step.neighbor_codes = codes.split(len(x))
        step.reconstruction_codes = codes
        loss = model.reconstruction_loss(model.decode(codes, step.y), step.target)
        if hasattr(model.representation, "penalty"):
            loss = loss + model.representation.penalty()
        total = loss
        for regulariser in self.regularisers:
            term = regulariser.reconstruction_term(step, self)
            if term is not None:
                step.terms[id(regulariser)] = term.detach()
                total = total + regulariser.weight * term
        self.step_autoencoder(total)
        return loss.detach()

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
            The batch's codes (detached), taken after the reconstruction update.
        """
        if not isinstance(batch, Batch):
            batch = Batch(batch)
        target = batch.x
        if self.augmentation is not None:
            batch = self._augmented(batch)
        step = TrainingStep(batch, target)
        losses = [self.reconstruction_step(step)]
        if any(r.uses_codes for r in self.regularisers):
            step.codes = self.encode(step.x)
        else:  # only the prior-match monitor reads them: no second encoder pass
            step.codes = step.reconstruction_codes.detach()
        for regulariser in self.regularisers:
            losses.extend(regulariser.update(step, self))
        return losses, step.codes.detach()

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


def __getattr__(name):
    # LatentPart moved to skaae.model with the model it describes.
    if name == "LatentPart":
        import warnings

        from .model import LatentPart

        warnings.warn(
            "skaae.training.LatentPart moved to skaae.model.LatentPart; importing it from "
            "skaae.training is deprecated and will stop working in a future release.",
            FutureWarning,
            stacklevel=2,
        )
        return LatentPart
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""The autoencoder as one ``nn.Module``: the one forward path of training and inference.

:class:`AutoencoderModel` holds the encoder, the decoder, the latent parts
(each with its prior and discriminator), an optional representation between
codes and decoder, and the reconstruction loss (with the input scaling and
the decoder's output activation). The trainer and every estimator's
``transform``, ``inverse_transform``, ``sample`` and ``score`` go through its
methods:

- :meth:`~AutoencoderModel.encode`: training codes (stochastic encoders draw
  their noise from the generator given);
- :meth:`~AutoencoderModel.embed`: the codes ``transform`` returns (the
  noise of a stochastic encoder from a fixed seed);
- :meth:`~AutoencoderModel.decode`: the decoder's raw output for codes;
- :meth:`~AutoencoderModel.to_model` / :meth:`~AutoencoderModel.to_data`:
  data units in and out.

It knows nothing of scikit-learn.
"""

from dataclasses import dataclass

import torch
from torch import nn

__all__ = ["AutoencoderModel", "LatentPart"]


@dataclass
class LatentPart:
    """One slice of the code, regularised towards its own prior.

    Parameters
    ----------
    prior : Prior
        Bound prior of this part.
    discriminator : nn.Module or None
        Maps ``(batch, width)`` codes to ``(batch, 1)`` logits; None for a
        part that no adversary regularises.
    columns : slice
        Which columns of the encoder's output belong to this part; the
        prior's ``activate`` maps them to the part's codes.
    label_conditioned : bool, default=False
        Label regularisation: the discriminator's input is the code followed
        by the one-hot label with an extra last slot for "unlabelled"
        (``prior.n_modes_ + 1`` columns), and the prior draw paired with a
        sample of class k comes from component k.
    """

    prior: object
    discriminator: nn.Module | None
    columns: slice
    label_conditioned: bool = False


class AutoencoderModel(nn.Module):
    """Encoder, decoder, latent parts and reconstruction loss, with one forward path.

    Parameters
    ----------
    encoder : nn.Module
        An encoder following the contract of :mod:`skaae.nn`.
    decoder : nn.Module
        Maps the decoder's input (codes, or the representation's output) to
        ``(batch, n_features)``.
    parts : list of LatentPart
        The parts of the code, in column order.
    reconstruction : ReconstructionLoss
        The loss, the input scaling and the output activation
        (:mod:`skaae.losses`).
    representation : nn.Module or None, default=None
        Maps ``(codes, y)`` to the decoder's input (see :mod:`skaae.nn`);
        None: the decoder reads the codes.
    """

    def __init__(self, encoder, decoder, parts, reconstruction, representation=None):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder
        self.representation = representation
        self.reconstruction = reconstruction
        self.discriminators = nn.ModuleList(
            [part.discriminator for part in parts if part.discriminator is not None]
        )
        self.parts = list(parts)
        # Label-regularised parts whose prior gives its components' log densities
        # (the pinning and the components' agreement work on those).
        self.component_parts = [
            part
            for part in self.parts
            if part.label_conditioned
            and part.prior.component_log_density(torch.zeros(1, part.prior.n_components_))
            is not None
        ]

    def activate(self, raw):
        """Map the encoder's raw output to codes, part by part (see ``Prior.activate``)."""
        if len(self.parts) == 1:  # the part spans the whole code
            return self.parts[0].prior.activate(raw)
        return torch.cat([part.prior.activate(raw[:, part.columns]) for part in self.parts], 1)

    def encode(self, x, generator=None):
        """Training codes of ``x`` (networks' units): a draw from q(z|x), activated."""
        return self.activate(self.encoder(x, generator))

    def encode_with_posterior(self, x, generator=None):
        """Training codes of ``x`` with the encoder's posterior: ``(codes, mean, log_var)``.

        For an encoder with a Gaussian posterior (``sample_with_posterior``,
        see :class:`~skaae.nn.GaussianEncoder`); the codes are the same draw
        :meth:`encode` makes.
        """
        z, mean, log_var = self.encoder.sample_with_posterior(x, generator)
        return self.activate(z), mean, log_var

    def embed(self, x):
        """The codes ``transform`` returns: a stochastic encoder's noise from a fixed seed.

        The same seed at every call, so that a sample's code does not change
        from call to call.
        """
        return self.activate(self.encoder.embed(x, torch.Generator(x.device).manual_seed(0)))

    def represent(self, codes, y=None):
        """The decoder's input for ``codes`` (with class indices ``y`` for a conditional model)."""
        return codes if self.representation is None else self.representation(codes, y)

    def decode(self, codes, y=None):
        """The decoder's raw output for ``codes`` (through the representation, if any)."""
        return self.decoder(self.represent(codes, y))

    def to_model(self, x):
        """Data to the networks' units (the reconstruction loss's input scaling)."""
        return self.reconstruction.to_model(x)

    def to_data(self, output):
        """The decoder's raw output to data units (its output activation)."""
        return self.reconstruction.to_data(output)

    def reconstruction_loss(self, output, target):
        """The reconstruction loss of the decoder's raw ``output`` against ``target``."""
        return self.reconstruction.loss(output, target)

    @property
    def dtype(self):
        """The dtype the model computes in (that of its encoder's weights)."""
        return next(self.encoder.parameters()).dtype

    @property
    def device(self):
        """The device of the model's weights."""
        return next(self.encoder.parameters()).device

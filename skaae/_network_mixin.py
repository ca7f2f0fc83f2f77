"""The model of the AdversarialAutoencoder family, and how data pass through it.

:class:`NetworkMixin` builds the :class:`~skaae.model.AutoencoderModel` from
the fitted structure and runs inference through it: the model's one forward
path, the same that training uses.
"""

import numpy as np
import torch
from sklearn.utils.validation import check_array

from ._base import ModelPart, _check_float32_range, _layer_sizes
from .losses import make_reconstruction_loss
from .model import AutoencoderModel, LatentPart
from .nn import LabelConditioning, make_encoder, make_mlp

__all__ = ["NetworkMixin", "codes_tensor", "input_tensor"]


def input_tensor(model, block, device):
    """Rows of X as the model's input: through float32 (the training dtype), then scaled."""
    x = torch.as_tensor(np.ascontiguousarray(block, dtype=np.float32), device=device)
    return model.to_model(x.to(model.dtype))


def codes_tensor(model, block, device):
    """Codes (or class indices' companions) as a tensor in the model's dtype."""
    return torch.as_tensor(block, dtype=model.dtype, device=device)


class NetworkMixin:
    """The model of :class:`~skaae.AdversarialAutoencoder` and its subclasses."""

    encoder_ = ModelPart("encoder", "The encoder network q(z|x).")
    decoder_ = ModelPart("decoder", "The decoder network p(x|z).")
    discriminator_ = ModelPart("discriminators.0", "The discriminator of the code.")

    def _build_networks(self):
        """Set a fresh ``model_``, shaped by ``n_features_in_`` and ``_fitted_structure``.

        Built from fitted attributes alone, so that :func:`skaae.load` can
        rebuild it without data before loading its weights. Draws from
        torch's global generator: callers seed it.
        """
        structure, n_features = self._fitted_structure, self.n_features_in_
        n_components, activation = structure["n_components"], structure["activation"]
        hidden = _layer_sizes(structure["hidden_layer_sizes"])
        encoder = make_encoder(structure["posterior"], n_features, hidden, n_components, activation)
        n_conditions = len(self.classes_) if self._is_conditional() else 0
        decoder = make_mlp(n_components + n_conditions, hidden[::-1], n_features, activation)
        n_slots = self.prior_.n_modes_ + 1 if self._is_label_regularised() else 0
        discriminator = make_mlp(
            n_components + n_slots,
            _layer_sizes(structure["discriminator_layer_sizes"]),
            1,
            activation,
        )
        part = LatentPart(
            self.prior_,
            discriminator,
            slice(0, n_components),
            label_conditioned=self._is_label_regularised(),
        )
        representation = LabelConditioning(len(self.classes_)) if self._is_conditional() else None
        self.model_ = AutoencoderModel(
            encoder, decoder, [part], self._reconstruction(), representation
        )

    def _reconstruction(self):
        """The fitted reconstruction loss, with its input scaling."""
        return make_reconstruction_loss(self.reconstruction_loss_, self._offset, self._scale)

    def _decode(self, Z, conditions=None):
        """Decoded data of the codes ``Z`` (with class indices ``conditions``, if any)."""
        aligned = () if conditions is None else (conditions,)

        def decode(model, block, device, *labels):
            y = torch.as_tensor(labels[0], dtype=torch.long, device=device) if labels else None
            return model.to_data(model.decode(codes_tensor(model, block, device), y))

        decoded = self._infer(decode, Z, *aligned)
        self._check_finite_output(decoded, "decoded data")
        return decoded

    def _validate_codes(self, Z):
        Z = check_array(Z, dtype=(np.float64, np.float32), input_name="Z")
        _check_float32_range(Z, "Z")
        if Z.shape[1] != self.n_components:
            raise ValueError(
                f"The codes have {Z.shape[1]} columns, but {type(self).__name__} was fitted "
                f"with n_components={self.n_components}."
            )
        return Z

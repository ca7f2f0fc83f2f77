"""The networks of the AdversarialAutoencoder family, and how data passes through them.

:class:`NetworkMixin` builds the encoder, decoder and discriminator from the
fitted structure, scales data into the networks and back out, and encodes
and decodes for the public methods of inference.
"""

import numpy as np
import torch
from sklearn.utils.validation import check_array

from ._base import _check_float32_range, _layer_sizes
from .nn import LabelConditioning, make_encoder, make_mlp

__all__ = ["NetworkMixin"]


class NetworkMixin:
    """The networks of :class:`~skaae.AdversarialAutoencoder` and its subclasses.

    Subclasses with another code override ``_build_networks``,
    ``_representation``, ``_activate``, ``_decode`` and ``_decoder_output``
    (see :class:`~skaae._categorical.CategoricalStyleAutoencoder`).
    """

    def _build_networks(self):
        """Set fresh ``encoder_``, ``decoder_`` and ``discriminator_``.

        They are shaped by ``n_features_in_`` and ``_fitted_structure`` only,
        so that :func:`skaae.load` can rebuild them without data before loading
        their weights. Draws from torch's global generator: callers seed it.
        """
        structure, n_features = self._fitted_structure, self.n_features_in_
        n_components, activation = structure["n_components"], structure["activation"]
        hidden = _layer_sizes(structure["hidden_layer_sizes"])
        self.encoder_ = make_encoder(
            structure["posterior"], n_features, hidden, n_components, activation
        )
        n_conditions = len(self.classes_) if self._is_conditional() else 0
        self.decoder_ = make_mlp(n_components + n_conditions, hidden[::-1], n_features, activation)
        n_slots = self.prior_.n_modes_ + 1 if self._is_label_regularised() else 0
        self.discriminator_ = make_mlp(
            n_components + n_slots,
            _layer_sizes(structure["discriminator_layer_sizes"]),
            1,
            activation,
        )

    def _representation(self):
        """The module between codes and decoder (the label, when conditional), or None."""
        return LabelConditioning(len(self.classes_)) if self._is_conditional() else None

    def _decode(self, Z, conditions=None):
        """Decoded data of the codes ``Z`` (with class indices ``conditions``, if any)."""
        aligned = () if conditions is None else (conditions,)

        def decode(model, block, device, *labels):
            codes = torch.as_tensor(block, dtype=model._inference_dtype, device=device)
            return model._from_model_output(model._decoder_output(codes, device, *labels))

        decoded = self._infer(decode, Z, *aligned)
        self._check_finite_output(decoded, "decoded data")
        return decoded

    def _decoder_output(self, codes, device, labels=None):
        """The decoder's raw output for ``codes`` (through the representation, if any)."""
        representation = self._representation()
        if representation is not None:
            if labels is not None:
                labels = torch.as_tensor(labels, dtype=torch.long, device=device)
            codes = representation.to(device)(codes, labels)
        return self.decoder_(codes)

    def _embed(self, x):
        """The encoder's code for ``transform``; its noise (if any) from a fixed seed."""
        return self._activate(self.encoder_.embed(x, torch.Generator(x.device).manual_seed(0)))

    def _activate(self, raw):
        """Codes from the encoder's raw output (the softmax of a categorical prior)."""
        return self.prior_.activate(raw)

    def _to_model_input(self, block, device):
        dtype = self._inference_dtype
        # Through float32 first: the networks were trained on float32 inputs.
        x = torch.as_tensor(np.ascontiguousarray(block, dtype=np.float32), device=device).to(dtype)
        if self._offset is not None:
            x = (
                x - torch.as_tensor(self._offset, dtype=torch.float32, device=device).to(dtype)
            ) / torch.as_tensor(self._scale, dtype=torch.float32, device=device).to(dtype)
        return x

    def _from_model_output(self, output):
        if self.reconstruction_loss_ == "bce":
            return torch.sigmoid(output)
        scale = torch.as_tensor(self._scale, dtype=torch.float32, device=output.device)
        offset = torch.as_tensor(self._offset, dtype=torch.float32, device=output.device)
        scale, offset = scale.to(output.dtype), offset.to(output.dtype)
        return output * scale + offset

    def _validate_codes(self, Z):
        Z = check_array(Z, dtype=(np.float64, np.float32), input_name="Z")
        _check_float32_range(Z, "Z")
        if Z.shape[1] != self.n_components:
            raise ValueError(
                f"The codes have {Z.shape[1]} columns, but {type(self).__name__} was fitted "
                f"with n_components={self.n_components}."
            )
        return Z

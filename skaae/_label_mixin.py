"""The label handling of the AdversarialAutoencoder family.

:class:`LabelMixin` decides what ``y`` means to a model (label
regularisation, the decoder's condition, or nothing), learns ``classes_``
and turns labels into the class indices that training, ``sample`` and
``inverse_transform`` use.
"""

import warnings

from ._labels import condition_indices, known_classes, label_indices, unlabelled_mask
from ._training_mixin import _RESUMING

__all__ = ["LabelMixin"]


class LabelMixin:
    """What :class:`~skaae.AdversarialAutoencoder` and its subclasses do with labels.

    Subclasses with another use of ``y`` override ``_set_classes``,
    ``_label_indices_for_fit`` and ``_condition_indices`` (see
    :class:`~skaae._categorical.CategoricalStyleAutoencoder`).
    """

    def _is_conditional(self):
        return bool(self._fitted_structure.get("conditional", False))

    def _is_label_regularised(self):
        return hasattr(self, "classes_") and not self._is_conditional()

    def _set_classes(self, y, n_samples):
        """Learn ``classes_`` from ``y`` when this model uses labels; check they fit.

        ``n_samples`` is the number of rows of X (unused here).
        """
        self.__dict__.pop("classes_", None)
        if self.conditional:
            if y is None or unlabelled_mask(y).any():
                raise ValueError(
                    "conditional=True feeds the label to the decoder: fit needs y, with the "
                    "label of every sample (no -1)."
                )
        elif y is None or self.prior_.n_modes_ == 1:
            return  # no use for labels: y is ignored
        classes = known_classes(y)
        if not self.conditional and len(classes) > self.prior_.n_modes_:
            raise ValueError(
                f"y has {len(classes)} classes but the prior has {self.prior_.n_modes_} "
                "components, one per class for label regularisation; use a prior with at "
                f"least {len(classes)} (e.g. GaussianMixturePrior(n_modes={len(classes)}))."
            )
        if not self.conditional and len(classes) < self.prior_.n_modes_:
            warnings.warn(
                f"y has {len(classes)} classes but the prior has {self.prior_.n_modes_} "
                f"components: label regularisation ties one component to each class, so "
                f"{self.prior_.n_modes_ - len(classes)} are left to the unlabelled samples alone "
                "(with every sample labelled, they stay empty; sample(y=...) never reaches "
                "them). "
                f"Use a prior with {len(classes)} components, e.g. "
                f"GaussianMixturePrior(n_modes={len(classes)}).",
                UserWarning,
                stacklevel=7,
            )
        self.classes_ = classes

    def _label_indices_for_fit(self, y, method="fit"):
        """Class indices of ``y`` for training (-1 unlabelled), or None when unused.

        ``method`` ("fit" or "partial_fit") names what continues training in
        errors.
        """
        if not hasattr(self, "classes_"):
            # (A fresh model learns classes_ from such a y: this one resumes.)
            if y is not None and self.prior_.n_modes_ > 1:
                what, remedy = _RESUMING[method]
                raise ValueError(
                    f"This model was fitted without labels; {what} cannot add label "
                    f"regularisation. Train without y, or {remedy}."
                )
            return None
        if y is None:
            if self._is_conditional():
                raise ValueError("conditional=True: fit needs y, the label of every sample.")
            return None
        indices = label_indices(y, self.classes_)
        if self._is_conditional() and (indices < 0).any():
            raise ValueError("conditional=True needs the label of every sample (no -1 in y).")
        return indices

    def _condition_indices(self, y, n_samples, random_state=None):
        """Class indices of the labels ``y`` given to ``sample``/``inverse_transform``.

        A single label applies to every row; None draws classes uniformly.
        """
        return condition_indices(y, n_samples, self.classes_, random_state)

    def _decoder_conditions(self, y, n_samples, random_state=None):
        """Class indices for the decoder of a conditional model; None otherwise."""
        if self._is_conditional():
            if y is None and random_state is None:
                raise ValueError(
                    "This model is conditional (conditional=True): pass y, the class of each "
                    "code, to inverse_transform."
                )
            return self._condition_indices(y, n_samples, random_state)
        if y is not None:
            raise ValueError(
                "y is only used to decode with conditional=True; this model decodes codes alone."
            )
        return None

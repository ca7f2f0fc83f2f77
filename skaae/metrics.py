"""Measures of how well an adversarial autoencoder did its job."""

import numpy as np
import torch

__all__ = ["energy_distance"]


def energy_distance(X, Y, scale=1.0):
    """Energy distance between two multivariate samples.

    ``2 E|X - Y| - E|X - X'| - E|Y - Y'|`` (Szekely and Rizzo), with the
    Euclidean norm and V-statistic means. It is zero exactly when the two
    distributions are equal, and grows with the distance between them; it is
    the squared form (scipy's one-dimensional ``energy_distance`` is its
    square root).

    Parameters
    ----------
    X : array-like or torch.Tensor of shape (n_samples_X, n_features)
        First sample, e.g. codes from ``transform``.
    Y : array-like or torch.Tensor of shape (n_samples_Y, n_features)
        Second sample, e.g. draws from ``prior_.sample``.
    scale : float, default=1.0
        Both samples are divided by ``scale`` first (pass the prior's
        ``std_`` to compare across priors and dimensions).

    Returns
    -------
    distance : float
        The energy distance, >= 0.
    """
    X = torch.as_tensor(np.asarray(X) if not torch.is_tensor(X) else X).double() / scale
    Y = (
        torch.as_tensor(np.asarray(Y) if not torch.is_tensor(Y) else Y).double().to(X.device)
        / scale
    )
    if X.ndim != 2 or Y.ndim != 2 or X.shape[1] != Y.shape[1]:
        raise ValueError(
            f"X and Y must be 2-D with the same number of columns, got {tuple(X.shape)} "
            f"and {tuple(Y.shape)}."
        )
    between = torch.cdist(X, Y).mean()
    within_x = torch.cdist(X, X).mean()
    within_y = torch.cdist(Y, Y).mean()
    return float(2.0 * between - within_x - within_y)

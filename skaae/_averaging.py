"""An exponential moving average of the autoencoder's weights, for inference.

Adversarial training keeps moving the weights from one mini-batch to the
next, and the model of a single step is a noisy draw around where training
is heading; the average of the weights over the last thousand steps is
steadier (as the averaged GAN generators of Yazici et al., 2019; see
``average_weights`` in doc/notes/parameter_measurements.md).

:class:`WeightAverage` keeps the average beside the parameters of the
networks that are trained, and exchanges the two sets: during an epoch the
networks hold the live weights that the optimiser moves; between epochs
they hold the average, which everything outside the epoch sees (inference,
callbacks, validation, snapshots, pickles) while the live weights wait in
the average's place.
"""

import torch

__all__ = ["AVERAGE_DECAY", "WeightAverage"]

AVERAGE_DECAY = 0.999
"""Decay per optimiser step of the weight average (an average over about 1,000 steps).

It gave the steadiest test error of ``AAEClassifier`` on MNIST among the
decays tried (see doc/notes/parameter_measurements.md).
"""

# The decay of step t is min(AVERAGE_DECAY, (1 + t) / (_WARM_UP + t)): early
# on the average forgets quickly, so that it covers about the last tenth of
# a short fit instead of lagging behind at the random initial weights.
_WARM_UP = 10


class WeightAverage:
    """An exponential moving average of some parameters, swappable with them.

    Parameters
    ----------
    parameters : iterable of torch.nn.Parameter
        The averaged parameters (those of the networks used at inference).
    decay : float, default=AVERAGE_DECAY
        The largest decay per :meth:`update`.
    """

    def __init__(self, parameters, decay=AVERAGE_DECAY):
        self.parameters = list(parameters)
        self.decay = decay
        # The set of weights not in the parameters: the average during an
        # epoch, the live weights between epochs.
        self.held = [p.detach().clone() for p in self.parameters]
        self.n_updates = 0
        self.live_in_parameters = False

    @torch.no_grad()
    def update(self):
        """Move the average towards the parameters (which hold the live weights)."""
        decay = min(self.decay, (1 + self.n_updates) / (_WARM_UP + self.n_updates))
        self.n_updates += 1
        # One fused call for every tensor, as torch.optim.swa_utils' EMA does: it runs per step.
        torch._foreach_lerp_(self.held, self.parameters, 1 - decay)

    @torch.no_grad()
    def swap(self):
        """Exchange the parameters' values with the held ones (the live weights and the average)."""
        for parameter, held in zip(self.parameters, self.held, strict=True):
            live = parameter.detach().clone()
            parameter.copy_(held)
            held.copy_(live)
        self.live_in_parameters = not self.live_in_parameters

    def state_dict(self):
        """The held weights and the update count (live tensors: copy them to keep them)."""
        return {
            "held": self.held,
            "n_updates": self.n_updates,
            "live_in_parameters": self.live_in_parameters,
        }

    def load_state_dict(self, state):
        """Restore from :meth:`state_dict` (the tensors are taken over)."""
        self.held = list(state["held"])
        self.n_updates = state["n_updates"]
        self.live_in_parameters = state["live_in_parameters"]

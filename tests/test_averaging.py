"""The weight average: its arithmetic, and the model that inference and training each see."""

import numpy as np
import pytest
import torch

from skaae import AAEClassifier
from skaae._averaging import AVERAGE_DECAY, WeightAverage


def _parameters(*values):
    return [torch.nn.Parameter(torch.tensor(value, dtype=torch.float32)) for value in values]


def test_the_average_follows_the_warm_up_then_the_decay():
    (parameter,) = _parameters([0.0, 0.0])
    average = WeightAverage([parameter], decay=0.5)
    expected = torch.zeros(2)
    for step, value in enumerate([1.0, 2.0, 4.0, 8.0, 16.0]):
        with torch.no_grad():
            parameter.fill_(value)
        average.update()
        decay = min(0.5, (1 + step) / (10 + step))
        expected = decay * expected + (1 - decay) * value
        torch.testing.assert_close(average.held[0], expected)
    assert average.n_updates == 5
    # Late in training the decay is the given one: an average over ~1/(1 - decay) steps.
    assert min(AVERAGE_DECAY, (1 + 10**5) / (10 + 10**5)) == AVERAGE_DECAY


def test_swap_exchanges_the_average_and_the_parameters():
    parameters = _parameters([1.0, 2.0], [[3.0]])
    average = WeightAverage(parameters)
    with torch.no_grad():
        for parameter in parameters:
            parameter.mul_(10)
    average.swap()
    assert average.live_in_parameters
    torch.testing.assert_close(parameters[0].detach(), torch.tensor([1.0, 2.0]))
    torch.testing.assert_close(average.held[1], torch.tensor([[30.0]]))
    average.swap()
    assert not average.live_in_parameters
    torch.testing.assert_close(parameters[0].detach(), torch.tensor([10.0, 20.0]))


def test_state_dict_round_trip():
    parameters = _parameters([1.0, 2.0])
    average = WeightAverage(parameters)
    average.update()
    other = WeightAverage(parameters)
    other.load_state_dict(average.state_dict())
    assert other.n_updates == 1 and not other.live_in_parameters
    torch.testing.assert_close(other.held[0], average.held[0])


def _encoder_weights(estimator):
    return [p.detach().clone() for p in estimator.encoder_.parameters()]


def test_the_fitted_networks_hold_the_average_and_training_goes_on_from_the_live_weights(
    make_aae, unit_data
):
    aae = make_aae(max_iter=3, warm_start=True, average_weights=True).fit(unit_data)
    average = aae._trainer.weight_average
    assert not average.live_in_parameters and average.n_updates == 6  # 3 epochs x 2 batches
    n_encoder = len(list(aae.encoder_.parameters()))
    live = [t.clone() for t in average.held[:n_encoder]]
    fitted = _encoder_weights(aae)
    assert any(not torch.equal(a, b) for a, b in zip(live, fitted, strict=True))
    # Inference computes with the average.
    with torch.no_grad():
        codes = aae.encoder_.embed(torch.as_tensor(unit_data, dtype=torch.float64).float())
    np.testing.assert_allclose(aae.transform(unit_data.astype(np.float32)), codes.numpy())
    # The next epoch's first step starts from the live weights.
    seen = []
    handle = aae.encoder_.register_forward_pre_hook(
        lambda module, inputs: seen.append(_encoder_weights(aae)) if not seen else None
    )
    aae.set_params(max_iter=1).fit(unit_data)
    handle.remove()
    for a, b in zip(seen[0], live, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_without_averaging_the_fitted_networks_are_the_last_step(make_aae, unit_data):
    aae = make_aae(max_iter=2, average_weights=False).fit(unit_data)
    assert aae._trainer.weight_average is None
    assert "weight_average" not in aae._trainer.state_dict()


def test_averaging_can_be_switched_on_and_off_on_warm_start(make_aae, unit_data):
    aae = make_aae(max_iter=2, warm_start=True, average_weights=False).fit(unit_data)
    assert aae._trainer.weight_average is None
    aae.set_params(average_weights=True).fit(unit_data)
    assert aae._trainer.weight_average.n_updates == 4  # started afresh: 2 epochs x 2 batches
    averaged = _encoder_weights(aae)
    aae.set_params(average_weights=False, max_iter=1).fit(unit_data)
    assert aae._trainer.weight_average is None and aae.n_iter_ == 5
    changed = _encoder_weights(aae)
    assert any(not torch.equal(a, b) for a, b in zip(averaged, changed, strict=True))
    assert all(torch.isfinite(p).all() for p in changed)


class KeepWeights:
    """A callback keeping a copy of the encoder's weights at the end of every epoch."""

    def __init__(self):
        self.epochs = []

    def on_epoch_end(self, estimator, record):
        self.epochs.append(_encoder_weights(estimator))


@pytest.mark.parametrize("average_weights", [False, True])
def test_early_stopping_restores_the_best_epoch_with_its_optimiser_state(
    make_aae, unit_data, average_weights
):
    keep = KeepWeights()
    aae = make_aae(
        max_iter=60,
        learning_rate=3e-2,
        early_stopping=True,
        n_iter_no_change=2,
        tol=0.0,
        callbacks=[keep],
        average_weights=average_weights,
    ).fit(unit_data)
    losses = [record["validation_loss"] for record in aae.history_]
    best = int(np.argmin(losses))
    assert best < len(losses) - 1  # the run went past its best epoch
    for a, b in zip(_encoder_weights(aae), keep.epochs[best], strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    # 108 training rows in batches of 64: 2 batches an epoch, each with two
    # steps of the autoencoder's optimiser (reconstruction and generator).
    steps = aae._trainer.autoencoder_optimizer.state_dict()["state"][0]["step"]
    assert int(steps) == 4 * (best + 1)
    if average_weights:
        assert aae._trainer.weight_average.n_updates == 2 * (best + 1)


def test_the_classifier_averages_by_default():
    assert AAEClassifier().average_weights is True

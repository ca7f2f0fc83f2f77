"""The torch trainer (three phases, divergence) and the energy distance."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.exceptions import NotFittedError

from skaae import GaussianMixturePrior, GaussianPrior, TrainingDivergedError
from skaae.losses import MeanSquaredError
from skaae.metrics import energy_distance
from skaae.model import AutoencoderModel, LatentPart
from skaae.nn import make_encoder, make_mlp
from skaae.regularisers import AdversarialPrior, ComponentPinning, Neighbourhood, category_views
from skaae.training import AdversarialTrainer, Batch, TrainingStep

N_FEATURES, N_COMPONENTS = 6, 2


class NaNPrior(GaussianPrior):
    """A broken prior whose draws are NaN: the discriminator loss becomes NaN."""

    def _draw(self, n_samples, generator, device, component):
        return torch.full((n_samples, self.n_components_), float("nan"), device=device)


def _trainer(kind="deterministic", prior=None, lr=1e-2, weight=1.0, noise=0.1, seed=0):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        encoder = make_encoder(kind, N_FEATURES, (16,), N_COMPONENTS)
        decoder = make_mlp(N_COMPONENTS, (16,), N_FEATURES)
        discriminator = make_mlp(N_COMPONENTS, (16,), 1)
    prior = (prior or GaussianPrior()).bind(N_COMPONENTS)
    part = LatentPart(prior, discriminator, slice(0, N_COMPONENTS))
    return AdversarialTrainer(
        AutoencoderModel(encoder, decoder, [part], MeanSquaredError()),
        [AdversarialPrior(weight, noise)],
        learning_rate=lr,
        discriminator_learning_rate=lr,
        generator=torch.Generator().manual_seed(seed),
    )


def _adversary(trainer):
    return trainer.find(AdversarialPrior)


def _batch(n=32, seed=0):
    return torch.randn(n, N_FEATURES, generator=torch.Generator().manual_seed(seed))


def _snapshot(module):
    return [p.detach().clone() for p in module.parameters()]


def _changed(module, snapshot):
    return any(not torch.equal(p, q) for p, q in zip(module.parameters(), snapshot, strict=True))


def _snapshots(trainer):
    return {
        "encoder": _snapshot(trainer.model.encoder),
        "decoder": _snapshot(trainer.model.decoder),
        "discriminator": _snapshot(trainer.model.parts[0].discriminator),
    }


def _which_changed(trainer, snapshots):
    modules = {
        "encoder": trainer.model.encoder,
        "decoder": trainer.model.decoder,
        "discriminator": trainer.model.parts[0].discriminator,
    }
    return {name for name, module in modules.items() if _changed(module, snapshots[name])}


# ------------------------------------------------------------------ phases
@pytest.mark.parametrize("kind", ["deterministic", "gaussian", "universal"])
def test_reconstruction_step_updates_the_autoencoder_only(kind):
    trainer = _trainer(kind)
    before = _snapshots(trainer)
    x = _batch()
    loss = trainer.reconstruction_step(TrainingStep(Batch(x), x))
    assert loss.ndim == 0
    assert not loss.requires_grad
    assert _which_changed(trainer, before) == {"encoder", "decoder"}


@pytest.mark.parametrize("kind", ["deterministic", "gaussian", "universal"])
def test_discriminator_step_updates_the_discriminator_only(kind):
    trainer = _trainer(kind)
    codes = trainer.model.encoder(_batch(), trainer.generator)
    before = _snapshots(trainer)
    loss = _adversary(trainer).discriminator_step(codes, None, trainer)
    assert torch.isfinite(loss)
    assert _which_changed(trainer, before) == {"discriminator"}
    assert all(p.grad is None for p in trainer.model.encoder.parameters())


@pytest.mark.parametrize("kind", ["deterministic", "gaussian", "universal"])
def test_generator_step_updates_the_encoder_only(kind):
    trainer = _trainer(kind)
    codes = trainer.model.encoder(_batch(), trainer.generator)
    before = _snapshots(trainer)
    loss = _adversary(trainer).generator_step(codes, None, trainer)
    assert torch.isfinite(loss)
    assert _which_changed(trainer, before) == {"encoder"}
    discriminator = trainer.model.parts[0].discriminator
    # No gradient leaked into the discriminator, which is trainable again afterwards.
    assert all(p.grad is None for p in discriminator.parameters())
    assert all(p.requires_grad for p in discriminator.parameters())


def test_train_batch_runs_all_three_phases():
    trainer = _trainer()
    before = _snapshots(trainer)
    (reconstruction, discrimination, fooling), codes = trainer.train_batch(_batch(20))
    assert _which_changed(trainer, before) == {"encoder", "decoder", "discriminator"}
    assert codes.shape == (20, N_COMPONENTS)
    assert not codes.requires_grad
    assert all(torch.isfinite(v) for v in (reconstruction, discrimination, fooling))


def test_separate_optimisers_for_the_autoencoder_and_the_discriminator():
    trainer = _trainer()
    autoencoder = {id(p) for g in trainer.autoencoder_optimizer.param_groups for p in g["params"]}
    discriminator = {
        id(p) for g in trainer.discriminator_optimizer.param_groups for p in g["params"]
    }
    encoder = {id(p) for p in trainer.model.encoder.parameters()}
    decoder = {id(p) for p in trainer.model.decoder.parameters()}
    assert autoencoder == encoder | decoder
    assert discriminator == {id(p) for p in trainer.model.parts[0].discriminator.parameters()}


def test_adversarial_weight_scales_the_generator_update():
    # Adam's first step has the size of the learning rate whatever the gradient,
    # so compare gradients: the weight multiplies the encoder's generator gradient.
    grads = {}
    for weight in (1.0, 0.1):
        trainer = _trainer(weight=weight, noise=0.0)
        codes = trainer.model.encoder(_batch(), trainer.generator)
        _adversary(trainer).generator_step(codes, None, trainer)
        grads[weight] = torch.cat([p.grad.flatten() for p in trainer.model.encoder.parameters()])
    torch.testing.assert_close(grads[0.1], 0.1 * grads[1.0])


def test_discriminator_learns_to_separate_prior_from_shifted_codes():
    trainer = _trainer(noise=0.0)
    codes = 4.0 + torch.randn(256, N_COMPONENTS, generator=torch.Generator().manual_seed(1))
    first = float(_adversary(trainer).discriminator_step(codes, None, trainer))
    for _ in range(200):
        last = float(_adversary(trainer).discriminator_step(codes, None, trainer))
    assert first > 0.5
    assert last < 0.1


def test_generator_phase_pulls_codes_towards_the_prior():
    trainer = _trainer(noise=0.0)
    x = _batch(256)
    # Push the encoder's codes far from the prior first.
    with torch.no_grad():
        trainer.model.encoder.body[-1].bias += 5.0
    start, start_1nn = trainer.prior_match(trainer.model.encoder.embed(x).detach())
    for _ in range(150):
        codes = trainer.model.encoder(x, trainer.generator)
        _adversary(trainer).discriminator_step(codes, None, trainer)
        _adversary(trainer).generator_step(codes, None, trainer)
    end, end_1nn = trainer.prior_match(trainer.model.encoder.embed(x).detach())
    assert start > 2.0
    assert end < start / 4
    assert start_1nn > 0.95  # far apart: every nearest neighbour is from the same sample
    assert end_1nn < start_1nn - 0.2


def test_run_epoch_record():
    trainer = _trainer()
    record = trainer.run_epoch(_batch(64, seed=s) for s in range(5))
    assert set(record) == {
        "reconstruction_loss",
        "discriminator_loss",
        "generator_loss",
        "prior_match",
        "prior_match_1nn",
        "time",
    }
    assert all(np.isfinite(v) for v in record.values())
    assert record["prior_match"] >= 0
    assert record["time"] > 0


def test_training_reduces_reconstruction_loss():
    trainer = _trainer()
    data = [_batch(64, seed=s) for s in range(4)]
    first = trainer.run_epoch(data)["reconstruction_loss"]
    for _ in range(40):
        last = trainer.run_epoch(data)["reconstruction_loss"]
    assert last < 0.8 * first


def test_reconstruction_error_is_the_loss_of_the_embedding():
    trainer = _trainer()
    x = _batch(50)
    error = trainer.reconstruction_error([x[:20], x[20:]])
    with torch.no_grad():
        expected = float(F.mse_loss(trainer.model.decoder(trainer.model.encoder.embed(x)), x))
    assert error == pytest.approx(expected, rel=1e-5)


# -------------------------------------------------------------- divergence
def test_nan_input_raises_training_diverged_error():
    trainer = _trainer()
    x = _batch()
    x[3, 2] = float("nan")
    with pytest.raises(TrainingDivergedError, match=r"non-finite.*learning rate"):
        trainer.run_epoch([x])


def test_nan_loss_raises_training_diverged_error():
    trainer = _trainer(prior=NaNPrior())
    with pytest.raises(TrainingDivergedError, match="non-finite"):
        trainer.run_epoch([_batch()])


def test_training_diverged_error_is_a_value_error():
    assert issubclass(TrainingDivergedError, ValueError)
    assert issubclass(TrainingDivergedError, FloatingPointError)


def test_estimator_reports_divergence(make_aae, unit_data):
    aae = make_aae(prior=NaNPrior())
    with pytest.raises(TrainingDivergedError, match=r"AdversarialAutoencoder: .*non-finite"):
        aae.fit(unit_data)
    # The NaN networks are not left behind as a fitted model.
    with pytest.raises(NotFittedError):
        aae.transform(unit_data)


def test_interrupted_generator_step_leaves_the_discriminator_trainable():
    trainer = _trainer()
    discriminator = trainer.model.parts[0].discriminator

    def interrupt(module, inputs):
        raise KeyboardInterrupt

    handle = discriminator.register_forward_pre_hook(interrupt)
    codes = trainer.model.encoder(_batch(), trainer.generator)
    with pytest.raises(KeyboardInterrupt):
        _adversary(trainer).generator_step(codes, None, trainer)
    handle.remove()
    assert all(p.requires_grad for p in discriminator.parameters())


def test_configure_changes_hyperparameters_and_keeps_optimizer_state():
    trainer = _trainer()
    trainer.train_batch(_batch())
    state = trainer.autoencoder_optimizer.state_dict()["state"]
    # A warm start: configure the optimisers, reassign the regularisers.
    trainer.configure(1e-5, 2e-5, max_grad_norm=0.5)
    trainer.regularisers = [AdversarialPrior(0.5, 0.0)]
    assert trainer.autoencoder_optimizer.param_groups[0]["lr"] == 1e-5
    assert trainer.discriminator_optimizer.param_groups[0]["lr"] == 2e-5
    assert trainer.max_grad_norm == 0.5
    adversary = _adversary(trainer)
    assert (adversary.weight, adversary.noise) == (0.5, 0.0)
    assert trainer.autoencoder_optimizer.state_dict()["state"].keys() == state.keys()


def test_monitor_does_not_change_the_training_stream():
    trainer = _trainer()
    before = trainer.generator.get_state()
    trainer.prior_match(trainer.model.encoder.embed(_batch()).detach())
    assert torch.equal(trainer.generator.get_state(), before)


# --------------------------------------------------------- energy distance
def _gaussian(n, d=2, shift=0.0, scale=1.0, seed=0):
    return shift + scale * np.random.RandomState(seed).normal(size=(n, d))


def test_energy_distance_small_for_the_same_distribution():
    assert energy_distance(_gaussian(800, seed=0), _gaussian(800, seed=1)) < 0.02


def test_energy_distance_zero_for_identical_samples():
    X = _gaussian(100)
    assert energy_distance(X, X) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize(("shift", "scale"), [(1.0, 1.0), (3.0, 1.0), (0.0, 3.0)])
def test_energy_distance_large_for_different_distributions(shift, scale):
    same = energy_distance(_gaussian(500, seed=0), _gaussian(500, seed=1))
    different = energy_distance(
        _gaussian(500, seed=0), _gaussian(500, shift=shift, scale=scale, seed=1)
    )
    assert different > 0.3
    assert different > 20 * same


def test_energy_distance_grows_with_the_shift():
    X = _gaussian(400, seed=0)
    distances = [energy_distance(X, _gaussian(400, shift=s, seed=1)) for s in (0.5, 1.0, 2.0)]
    assert distances == sorted(distances)


def test_energy_distance_properties():
    X, Y = _gaussian(200, 3, seed=0), _gaussian(300, 3, shift=0.5, seed=1)
    d = energy_distance(X, Y)
    assert d > 0
    assert energy_distance(Y, X) == pytest.approx(d)
    # scale= divides both samples: distances in the same units are comparable.
    assert energy_distance(5 * X, 5 * Y, scale=5.0) == pytest.approx(d)
    assert energy_distance(5 * X, 5 * Y) == pytest.approx(5 * d)
    # Tensors and arrays give the same value.
    assert energy_distance(torch.as_tensor(X), torch.as_tensor(Y)) == pytest.approx(d)


def test_energy_distance_checks_shapes():
    with pytest.raises(ValueError, match="same number of columns"):
        energy_distance(np.zeros((5, 2)), np.zeros((5, 3)))
    with pytest.raises(ValueError, match="2-D"):
        energy_distance(np.zeros(5), np.zeros(5))


@pytest.mark.parametrize("label_conditioned", [True, False])
def test_label_conditioned_discriminator_pins_each_class_to_its_component(label_conditioned):
    # Free codes (one trainable 2-D code per sample, nothing else to learn):
    # with the label fed to the discriminator, the adversary alone moves each
    # class's codes to its own mixture component; without it, the codes
    # match the mixture as a whole and land on the components at random.
    torch.manual_seed(0)
    n, prior = 100, GaussianMixturePrior(n_modes=4).bind(2)
    encoder = _FreeCodes(n)
    width = 2 + (prior.n_modes_ + 1 if label_conditioned else 0)
    part = LatentPart(prior, make_mlp(width, (32, 32), 1, "silu"), slice(0, 2), label_conditioned)
    trainer = AdversarialTrainer(
        AutoencoderModel(encoder, make_mlp(2, (), 1), [part], _NoReconstruction()),
        [AdversarialPrior(1.0, 0.3)],
        learning_rate=3e-2,
        discriminator_learning_rate=3e-3,
        generator=torch.Generator().manual_seed(0),
    )
    X, y = torch.eye(n), torch.arange(n) % 4
    for _ in range(300):
        trainer.train_batch(Batch(X, y))
    Z = encoder(X).detach().numpy()
    nearest = ((Z[:, None] - prior.means_[None]) ** 2).sum(-1).argmin(1)
    accuracy = np.mean(nearest == y.numpy())
    if label_conditioned:
        assert accuracy > 0.9
    else:
        assert accuracy < 0.6


class _NoReconstruction(MeanSquaredError):
    """A reconstruction loss of zero: the adversary alone moves the codes."""

    def loss(self, output, target):
        return 0.0 * output.sum()


class _FreeCodes(torch.nn.Module):
    """An 'encoder' whose code for the one-hot input i is the free parameter row i."""

    def __init__(self, n):
        super().__init__()
        self.codes = torch.nn.Parameter(0.1 * torch.randn(n, 2))

    def forward(self, x, generator=None):
        return x @ self.codes

    embed = forward


def _label_regularised_trainer(neighbor_weight, prior=None):
    torch.manual_seed(0)
    prior = (prior or GaussianMixturePrior(n_modes=3)).bind(2)
    part = LatentPart(prior, make_mlp(2 + prior.n_modes_ + 1, (8,), 1), slice(0, 2), True)
    model = AutoencoderModel(
        make_encoder("deterministic", 4, (8,), 2, "silu"),
        make_mlp(2, (8,), 4),
        [part],
        MeanSquaredError(),
    )
    # As the estimators build them: the pinning only on a prior that gives its
    # components' densities, and only with the neighbourhood term.
    regularisers = [AdversarialPrior(1.0, 0.3)]
    if neighbor_weight != 0:
        neighbourhood = Neighbourhood(neighbor_weight)
        if model.component_parts:
            regularisers.append(ComponentPinning(1.0, neighbourhood))
        regularisers.append(neighbourhood)
    return AdversarialTrainer(
        model,
        regularisers,
        learning_rate=1e-2,
        discriminator_learning_rate=1e-2,
        generator=torch.Generator().manual_seed(0),
    )


def _pins_components(trainer):
    return trainer.find(ComponentPinning) is not None


def _pinning_loss(trainer, codes, y):
    return ComponentPinning.pinning_loss(codes, y, trainer.model)


def test_label_regularised_codes_have_component_probabilities():
    trainer = _label_regularised_trainer(neighbor_weight=1.0)
    codes = torch.tensor([[2.0, 0.0], [0.0, 0.0], [-1.0, 1.7]])
    (probabilities,) = category_views(codes, trainer.model)
    assert probabilities.shape == (3, 3)
    torch.testing.assert_close(probabilities.sum(dim=1), torch.ones(3))
    # A code on a component's mean belongs to it; the origin to all alike.
    assert probabilities[0].argmax() == 0 and probabilities[0, 0] > 0.99
    torch.testing.assert_close(probabilities[1], torch.full((3,), 1 / 3))
    assert probabilities[2].argmax() == 1
    # The pinning loss is small for codes on their class's mean, large elsewhere.
    means = torch.as_tensor(trainer.model.parts[0].prior.means_, dtype=torch.float32)
    y = torch.tensor([0, 1, 2])
    assert _pinning_loss(trainer, means, y) < 1e-3
    assert _pinning_loss(trainer, means, y.roll(1)) > 10


@pytest.mark.parametrize("neighbor_weight", [0.0, 1.0])
def test_supervised_phase_pins_labelled_codes_only_with_the_neighbourhood_term(neighbor_weight):
    trainer = _label_regularised_trainer(neighbor_weight)
    assert _pins_components(trainer) == (neighbor_weight != 0)
    assert ("supervised_loss" in trainer.loss_names) == (neighbor_weight != 0)
    x = torch.rand(6, 4, generator=torch.Generator().manual_seed(1))
    y = torch.tensor([0, 1, 2, -1, -1, -1])
    batch = Batch(x, y, labelled=(x[:3], y[:3]), neighbors=x.roll(1, dims=0))

    def pinning():
        with torch.no_grad():
            return float(_pinning_loss(trainer, trainer.encode(x[:3]), y[:3]))

    before = pinning()
    for _ in range(60):
        losses, _ = trainer.train_batch(batch)
    assert len(losses) == len(trainer.loss_names)
    if neighbor_weight:
        assert pinning() < 0.2 * before
    else:  # the adversary alone pins slowly
        assert pinning() > 0.5 * before


def test_priors_without_component_densities_are_not_pinned():
    class NoDensities(GaussianMixturePrior):
        def component_log_density(self, z):
            return None

    trainer = _label_regularised_trainer(1.0, prior=NoDensities(n_modes=3))
    assert trainer.model.component_parts == []
    assert not _pins_components(trainer)
    assert category_views(torch.zeros(2, 2), trainer.model) == []


def test_latent_part_from_its_old_module_warns_and_is_the_same_class():
    import skaae.model
    import skaae.training

    with pytest.warns(FutureWarning, match="skaae.model.LatentPart"):
        moved = skaae.training.LatentPart
    assert moved is skaae.model.LatentPart

"""Faults during training: Ctrl-C, divergence, clipping, exception safety, callbacks."""

import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

import skaae
from skaae import TrainingDivergedError
from skaae.callbacks import Checkpoint, EarlyStopping
from skaae.priors import GaussianPrior
from skaae.training import AdversarialTrainer


class NaNAfterPrior(GaussianPrior):
    """A prior whose draws turn NaN after ``good_draws`` draws (global count)."""

    def __init__(self, good_draws=0):
        super().__init__()
        self.good_draws = good_draws

    def _draw(self, n_samples, generator, device, component):
        self.draws_ = getattr(self, "draws_", 0) + 1
        if self.draws_ > self.good_draws:
            return torch.full((n_samples, self.n_components_), float("nan"), device=device)
        return super()._draw(n_samples, generator, device, component)


class RaiseAt:
    """A callback raising ``error`` at the end of epoch ``epoch`` (global count)."""

    def __init__(self, epoch, error=KeyboardInterrupt):
        self.epoch = epoch
        self.error = error

    def on_epoch_end(self, estimator, record):
        if record["epoch"] == self.epoch:
            raise self.error


def _weights(aae):
    return {
        name: {key: value.clone() for key, value in getattr(aae, name).state_dict().items()}
        for name in aae._module_attributes
    }


def _assert_same_weights(a, b):
    assert a.keys() == b.keys()
    for name in a:
        for key in a[name]:
            torch.testing.assert_close(a[name][key], b[name][key], rtol=0, atol=0)


def _differ(a, b):
    return any(not torch.equal(a[n][k], b[n][k]) for n in a for k in a[n])


def _strip_time(history):
    return [{k: v for k, v in record.items() if k != "time"} for record in history]


# ------------------------------------------------------------------ Ctrl-C
def test_interrupt_in_a_callback_keeps_the_last_finished_epoch(make_aae, unit_data):
    reference = make_aae(max_iter=3).fit(unit_data)
    aae = make_aae(max_iter=10, callbacks=[RaiseAt(3)])
    with pytest.warns(RuntimeWarning, match="interrupted after 3 epochs.*epoch 3"):
        aae.fit(unit_data)
    assert aae.n_iter_ == 3
    assert _strip_time(aae.history_) == _strip_time(reference.history_)
    _assert_same_weights(_weights(aae), _weights(reference))


class InterruptOnCall:
    """A callback that hooks the encoder to raise KeyboardInterrupt on its ``n``-th call.

    It also keeps the weights at fit begin and those at the moment of the
    interrupt, to show what the rollback undid.
    """

    def __init__(self, n):
        self.n = n

    def on_fit_begin(self, estimator):
        self.initial, self.calls = _weights(estimator), 0

        def hook(module, inputs, output):
            self.calls += 1
            if self.calls == self.n:
                self.at_interrupt = _weights(estimator)
                self.handle.remove()
                raise KeyboardInterrupt

        self.handle = estimator.encoder_.register_forward_hook(hook)


# 120 samples in batches of 64: 2 batches an epoch, 2 encoder calls a batch,
# so epochs 1-3 make calls 1-12 and call 15 is in epoch 4, after one update.
# A weight average adds the monitor's call at the end of each epoch: epochs
# 1-3 make calls 1-15 and call 18 is in epoch 4, after one update.
@pytest.mark.parametrize("average_weights, call", [(False, 15), (True, 18)])
def test_mid_epoch_interrupt_restores_the_last_finished_epoch(
    make_aae, unit_data, average_weights, call
):
    reference = make_aae(max_iter=3, warm_start=True, average_weights=average_weights)
    reference.fit(unit_data)
    interrupt = InterruptOnCall(call)
    aae = make_aae(
        max_iter=10, warm_start=True, callbacks=[interrupt], average_weights=average_weights
    )
    with pytest.warns(RuntimeWarning, match="interrupted after 3 epochs, during epoch 4"):
        aae.fit(unit_data)
    assert aae.n_iter_ == 3
    assert _strip_time(aae.history_) == _strip_time(reference.history_)
    assert _differ(interrupt.at_interrupt, _weights(reference))  # epoch 4 had moved them
    _assert_same_weights(_weights(aae), _weights(reference))
    assert np.isfinite(aae.transform(unit_data)).all()
    # The optimiser state went back too: continuing matches an uninterrupted run.
    aae.set_params(max_iter=2, callbacks=None).fit(unit_data)
    reference.set_params(max_iter=2).fit(unit_data)
    assert aae.n_iter_ == 5
    _assert_same_weights(_weights(aae), _weights(reference))


def test_interrupt_in_the_first_epoch_keeps_the_fresh_networks(make_aae, unit_data):
    interrupt = InterruptOnCall(3)  # second batch of epoch 1
    aae = make_aae(max_iter=5, callbacks=[interrupt])
    with pytest.warns(RuntimeWarning, match="after 0 epochs.*freshly initialised"):
        aae.fit(unit_data)
    assert aae.n_iter_ == 0 and aae.history_ == []
    assert _differ(interrupt.at_interrupt, interrupt.initial)
    _assert_same_weights(_weights(aae), interrupt.initial)
    assert aae.transform(unit_data).shape == (120, 2)
    aae.set_params(warm_start=True, callbacks=None, max_iter=1).fit(unit_data)
    assert aae.n_iter_ == 1


# ---------------------------------------------------------------- divergence
def test_divergence_raises_and_leaves_a_fresh_fit_unfitted(make_aae, unit_data):
    aae = make_aae(max_iter=5, prior=NaNAfterPrior(good_draws=4))
    with pytest.raises(TrainingDivergedError, match="non-finite"):
        aae.fit(unit_data)
    with pytest.raises(NotFittedError):
        aae.transform(unit_data)


class KeepWeights:
    """A callback keeping a copy of the weights at the end of every epoch."""

    def on_epoch_end(self, estimator, record):
        self.__dict__.setdefault("epochs", []).append(_weights(estimator))


@pytest.mark.parametrize("average_weights", [False, True])
def test_rollback_restores_the_last_good_epoch(make_aae, unit_data, average_weights):
    # Count the prior draws of an epoch, then let the prior break in epoch 3.
    counter = make_aae(max_iter=1, prior=NaNAfterPrior(good_draws=10**9)).fit(unit_data)
    per_epoch = counter.prior_.draws_
    keep = KeepWeights()
    prior = NaNAfterPrior(good_draws=2 * per_epoch + 1)
    aae = make_aae(
        max_iter=6,
        prior=prior,
        on_divergence="rollback",
        callbacks=[keep],
        average_weights=average_weights,
    )
    with pytest.warns(RuntimeWarning, match="diverged after 2 epochs, during epoch 3.*rollback"):
        aae.fit(unit_data)
    assert aae.n_iter_ == 2 and len(aae.history_) == 2
    assert len(keep.epochs) == 2
    _assert_same_weights(_weights(aae), keep.epochs[-1])
    Z = aae.transform(unit_data)
    assert np.isfinite(Z).all()
    # The optimiser state is the finite one of epoch 2: training can go on.
    aae.set_params(warm_start=True, callbacks=None)
    aae.prior_.good_draws = 10**9
    aae.set_params(max_iter=1).fit(unit_data)
    assert aae.n_iter_ == 3
    assert all(torch.isfinite(p).all() for p in aae.encoder_.parameters())


def test_rollback_in_the_first_epoch_keeps_the_fresh_networks(make_aae, unit_data):
    aae = make_aae(prior=NaNAfterPrior(good_draws=0), on_divergence="rollback")
    with pytest.warns(RuntimeWarning, match="after 0 epochs.*freshly initialised"):
        aae.fit(unit_data)
    assert aae.n_iter_ == 0
    assert np.isfinite(aae.transform(unit_data)).all()


# ---------------------------------------------------------------- clipping
@pytest.mark.parametrize("max_grad_norm", [None, 0.5])
def test_clipping_bounds_every_step(make_aae, unit_data, monkeypatch, max_grad_norm):
    clip = torch.nn.utils.clip_grad_norm_
    norms = []

    def spy(parameters, max_norm, **kwargs):
        parameters = list(parameters)
        assert kwargs.get("foreach") is True
        clip(parameters, max_norm, **kwargs)
        grads = [p.grad for p in parameters if p.grad is not None]
        norms.append(float(torch.linalg.vector_norm(torch.stack([g.norm() for g in grads]))))

    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", spy)
    make_aae(max_iter=1, max_grad_norm=max_grad_norm).fit(unit_data)
    if max_grad_norm is None:
        assert norms == []
    else:
        assert len(norms) == 2 * 3  # 2 batches, 3 optimiser steps each
        assert max(norms) <= max_grad_norm * (1 + 1e-5)


def test_clipping_caps_a_huge_loss_step():
    from skaae.training import _step

    weight = torch.nn.Parameter(torch.ones(3))
    optimizer = torch.optim.SGD([weight], lr=1.0)
    _step(optimizer, 1e6 * weight.sum(), max_grad_norm=1.0)
    assert float(torch.linalg.vector_norm(weight.grad)) == pytest.approx(1.0)
    assert float(torch.linalg.vector_norm(weight.detach() - 1)) == pytest.approx(1.0)


def test_trainer_configure_sets_the_clipping(make_aae, unit_data):
    aae = make_aae(warm_start=True).fit(unit_data)
    assert aae._trainer.max_grad_norm is None
    aae.set_params(max_grad_norm=2.0).fit(unit_data)
    assert aae._trainer.max_grad_norm == 2.0
    assert isinstance(aae._trainer, AdversarialTrainer)


# ------------------------------------------------- warm-start exception safety
class Boom(Exception):
    pass


@pytest.mark.parametrize("hook", ["on_fit_begin", "on_epoch_end", "on_fit_end"])
def test_a_raising_callback_leaves_a_warm_start_as_it_was(make_aae, unit_data, hook):
    aae = make_aae(max_iter=2, warm_start=True).fit(unit_data)
    weights, history = _weights(aae), [dict(r) for r in aae.history_]
    optimizer = {k: v.clone() for k, v in aae._trainer.autoencoder_optimizer.state[
        next(aae.encoder_.parameters())].items()}  # fmt: skip

    class Raise:
        def __getattr__(self, name):
            if name != hook:
                raise AttributeError(name)

            def method(estimator, record=None):
                if record is None or record["epoch"] == 4:
                    raise Boom

            return method

    aae.set_params(max_iter=5, callbacks=[Raise()])
    with pytest.raises(Boom):
        aae.fit(unit_data)
    assert aae.n_iter_ == 2 and aae.history_ == history
    _assert_same_weights(_weights(aae), weights)
    state = aae._trainer.autoencoder_optimizer.state[next(aae.encoder_.parameters())]
    for key, value in optimizer.items():
        assert torch.equal(state[key], value), key
    # The training that followed the failed call is the one that would have run.
    reference = make_aae(max_iter=2, warm_start=True).fit(unit_data)
    aae.set_params(callbacks=None, max_iter=1).fit(unit_data)
    reference.set_params(max_iter=1).fit(unit_data)
    _assert_same_weights(_weights(aae), _weights(reference))


def test_divergence_in_a_warm_start_leaves_the_model_as_it_was(make_aae, unit_data):
    aae = make_aae(max_iter=2, warm_start=True, prior=NaNAfterPrior(good_draws=10**9))
    aae.fit(unit_data)
    weights, n_records = _weights(aae), len(aae.history_)
    aae.prior_.good_draws = aae.prior_.draws_ + 3  # breaks in the next call's 2nd epoch
    with pytest.raises(TrainingDivergedError):
        aae.set_params(max_iter=4).fit(unit_data)
    assert aae.n_iter_ == 2 and len(aae.history_) == n_records
    _assert_same_weights(_weights(aae), weights)
    assert np.isfinite(aae.transform(unit_data)).all()


def test_a_raising_callback_leaves_a_fresh_fit_unfitted(make_aae, unit_data):
    aae = make_aae(max_iter=5, callbacks=[RaiseAt(2, Boom)])
    with pytest.raises(Boom):
        aae.fit(unit_data)
    with pytest.raises(NotFittedError):
        aae.transform(unit_data)


def test_callbacks_must_follow_the_protocol(make_aae, unit_data):
    for bad in (object(), RaiseAt):
        with pytest.raises(ValueError, match="on_fit_begin, on_epoch_end, on_fit_end"):
            make_aae(callbacks=[bad]).fit(unit_data)


def test_no_warning_without_faults(make_aae, unit_data):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        make_aae(callbacks=[KeepWeights()]).fit(unit_data)


# ---------------------------------------------------------------- callbacks
def test_checkpoint_saves_loadable_files_every_n_epochs(make_aae, unit_data, tmp_path):
    keep = KeepWeights()
    checkpoint = Checkpoint(tmp_path / "aae-{epoch:02d}.skaae", every=2)
    aae = make_aae(max_iter=5, callbacks=[checkpoint, keep])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the checkpoint's saves do not warn
        aae.fit(unit_data)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["aae-02.skaae", "aae-04.skaae"]
    for epoch in (2, 4):
        loaded = skaae.load(tmp_path / f"aae-{epoch:02d}.skaae")
        assert loaded.n_iter_ == epoch and loaded.callbacks is None
        _assert_same_weights(_weights(loaded), keep.epochs[epoch - 1])
    # Counted over warm starts; without {epoch} each save replaces the last.
    single = Checkpoint(tmp_path / "last.skaae", every=3)
    aae.set_params(warm_start=True, max_iter=2, callbacks=[single]).fit(unit_data)
    assert skaae.load(tmp_path / "last.skaae").n_iter_ == 6
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".skaae-")]


def test_checkpoint_checks_every(make_aae, unit_data, tmp_path):
    with pytest.raises(ValueError, match="every"):
        make_aae(callbacks=[Checkpoint(tmp_path / "x.skaae", every=0)]).fit(unit_data)


@pytest.mark.parametrize("mode", ["min", "max"])
def test_early_stopping_stops_on_the_chosen_key(make_aae, unit_data, mode):
    aae = make_aae(max_iter=50, callbacks=[EarlyStopping("epoch", patience=3, mode=mode)])
    aae.fit(unit_data)
    stopper = aae.callbacks[0]
    if mode == "max":  # the epoch number always improves: no stop
        assert aae.n_iter_ == 50 and stopper.stopped_epoch_ is None
        assert stopper.best_ == 50 and stopper.best_epoch_ == 50
    else:  # it never improves after epoch 1
        assert aae.n_iter_ == 4 and stopper.stopped_epoch_ == 4
        assert stopper.best_ == 1 and stopper.best_epoch_ == 1


def test_early_stopping_with_min_delta_on_a_loss(make_aae, unit_data):
    stopper = EarlyStopping("reconstruction_loss", patience=2, min_delta=1e9)
    aae = make_aae(max_iter=20, callbacks=[stopper]).fit(unit_data)
    assert aae.n_iter_ == 3
    assert stopper.best_ == aae.history_[0]["reconstruction_loss"]


def test_early_stopping_names_the_keys_of_a_bad_monitor(make_aae, unit_data):
    aae = make_aae(callbacks=[EarlyStopping("validation_loss")])
    with pytest.raises(ValueError, match="prior_match"):
        aae.fit(unit_data)


def test_callbacks_clone_and_pickle(make_aae, unit_data, tmp_path):
    callbacks = [Checkpoint(tmp_path / "c.skaae", every=2), EarlyStopping(patience=3)]
    aae = make_aae(max_iter=2, callbacks=callbacks)
    copy = clone(aae)
    assert copy.callbacks is not aae.callbacks
    assert [type(c) for c in copy.callbacks] == [Checkpoint, EarlyStopping]
    assert copy.callbacks[0] is not callbacks[0] and vars(copy.callbacks[1]) == vars(callbacks[1])
    aae.fit(unit_data)
    restored = pickle.loads(pickle.dumps(aae))
    assert repr(restored.callbacks[1]) == repr(aae.callbacks[1])
    np.testing.assert_array_equal(restored.transform(unit_data), aae.transform(unit_data))
    assert "EarlyStopping(monitor='prior_match', patience=3" in repr(aae)


def test_save_stores_no_callbacks_and_warns(make_aae, unit_data, tmp_path):
    aae = make_aae(callbacks=[EarlyStopping()]).fit(unit_data)
    with pytest.warns(UserWarning, match="does not store callbacks"):
        skaae.save(aae, tmp_path / "m.skaae")
    loaded = skaae.load(tmp_path / "m.skaae")
    assert loaded.callbacks is None
    np.testing.assert_array_equal(loaded.transform(unit_data), aae.transform(unit_data))


def test_callbacks_see_each_epoch_and_can_stop(make_aae, unit_data):
    calls = []

    class Log:
        def on_fit_begin(self, estimator):
            calls.append(("begin", estimator.n_iter_))

        def on_epoch_end(self, estimator, record):
            calls.append(("epoch", record["epoch"], estimator.n_iter_))
            return record["epoch"] == 2

        def on_fit_end(self, estimator):
            calls.append(("end", estimator.n_iter_))

    aae = make_aae(max_iter=5, callbacks=[Log(), KeepWeights()]).fit(unit_data)
    assert calls == [("begin", 0), ("epoch", 1, 1), ("epoch", 2, 2), ("end", 2)]
    assert len(aae.callbacks[1].epochs) == 2  # every callback saw the stopping epoch

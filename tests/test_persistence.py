"""Pickling: exact round trips, a clean state, CPU loading of GPU models, resuming."""

import io
import pickle

import joblib
import numpy as np
import pytest
import torch

from skaae import AdversarialAutoencoder

POSTERIORS = ["deterministic", "gaussian", "universal"]


def _roundtrip(estimator):
    return pickle.loads(pickle.dumps(estimator))


class _RecordingUnpickler(pickle.Unpickler):
    """Unpickler that records every class or function the pickle refers to."""

    def __init__(self, file):
        super().__init__(file)
        self.globals = set()

    def find_class(self, module, name):
        self.globals.add(f"{module}.{name}")
        return super().find_class(module, name)


def _walk(obj, seen=None):
    """Yield every object reachable through dicts, lists, tuples and sets."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return
    seen.add(id(obj))
    yield obj
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield from _walk(key, seen)
            yield from _walk(value, seen)
    elif isinstance(obj, list | tuple | set | frozenset):
        for item in obj:
            yield from _walk(item, seen)


@pytest.fixture
def fitted(make_aae, unit_data):
    return make_aae(prior="mixture", n_components=3).fit(unit_data)


@pytest.mark.parametrize("posterior", POSTERIORS)
@pytest.mark.parametrize("loss", ["bce", "mse"])
def test_pickle_round_trip_gives_identical_outputs(make_aae, unit_data, posterior, loss):
    aae = make_aae(posterior=posterior, reconstruction_loss=loss).fit(unit_data)
    loaded = _roundtrip(aae)
    Z = aae.transform(unit_data)
    np.testing.assert_array_equal(loaded.transform(unit_data), Z)
    np.testing.assert_array_equal(loaded.inverse_transform(Z), aae.inverse_transform(Z))
    np.testing.assert_array_equal(loaded.sample(5, random_state=0), aae.sample(5, random_state=0))
    assert loaded.score(unit_data) == aae.score(unit_data)
    assert loaded.get_params() == aae.get_params()
    assert loaded.history_ == aae.history_
    assert loaded.n_iter_ == aae.n_iter_
    assert loaded.reconstruction_loss_ == aae.reconstruction_loss_


def test_joblib_round_trip(fitted, unit_data, tmp_path):
    path = tmp_path / "aae.joblib"
    joblib.dump(fitted, path)
    loaded = joblib.load(path)
    np.testing.assert_array_equal(loaded.transform(unit_data), fitted.transform(unit_data))
    np.testing.assert_array_equal(loaded.prior_.means_, fitted.prior_.means_)


def test_joblib_round_trip_compressed(fitted, unit_data, tmp_path):
    path = tmp_path / "aae.joblib.gz"
    joblib.dump(fitted, path, compress=3)
    np.testing.assert_array_equal(
        joblib.load(path).transform(unit_data), fitted.transform(unit_data)
    )


def test_unfitted_estimator_round_trip():
    aae = AdversarialAutoencoder(n_components=4, prior="mixture")
    assert _roundtrip(aae).get_params() == aae.get_params()


def test_pickled_state_is_clean(fitted):
    state = fitted.__getstate__()
    assert "_trainer" not in state
    for obj in _walk(state):
        assert not isinstance(obj, torch.optim.Optimizer)
        assert not isinstance(obj, torch.Generator)
        assert not callable(obj) or isinstance(obj, torch.nn.Module | type)
        if isinstance(obj, torch.nn.Module):
            for tensor in [*obj.parameters(), *obj.buffers()]:
                assert tensor.device.type == "cpu"
        if isinstance(obj, torch.Tensor):
            assert obj.device.type == "cpu"
    # What the pickle stream refers to: no optimizer, trainer or generator.
    unpickler = _RecordingUnpickler(io.BytesIO(pickle.dumps(fitted)))
    unpickler.load()
    referenced = unpickler.globals
    assert not any(name.startswith("torch.optim") for name in referenced)
    assert not any("Trainer" in name or "Generator" in name for name in referenced)
    assert not any("lambda" in name or "function" in name for name in referenced)


def test_pickling_does_not_change_the_estimator(make_aae, unit_data):
    # Two identical runs, one pickled between two warm-started fits: pickling
    # must not drop the optimizer state or swap the live networks.
    params = {"warm_start": True, "max_iter": 2}
    plain = make_aae(**params).fit(unit_data)
    pickled = make_aae(**params).fit(unit_data)
    encoder = pickled.encoder_
    pickle.dumps(pickled)
    assert pickled.encoder_ is encoder
    plain.fit(unit_data)
    pickled.fit(unit_data)
    np.testing.assert_array_equal(pickled.transform(unit_data), plain.transform(unit_data))


def test_model_saved_on_cuda_loads_on_the_cpu(make_aae, unit_data):
    aae = make_aae(device="cpu").fit(unit_data)
    expected = aae.transform(unit_data)
    aae.device = "cuda"  # as if it had been fitted on a GPU machine
    loaded = _roundtrip(aae)
    assert loaded.device == "cuda"  # the parameter stays as given
    with pytest.warns(RuntimeWarning, match="CUDA is not available; using the CPU"):
        Z = loaded.transform(unit_data)
    np.testing.assert_array_equal(Z, expected)
    with pytest.warns(RuntimeWarning, match="CUDA is not available"):
        assert np.isfinite(loaded.sample(3, random_state=0)).all()
    with pytest.warns(RuntimeWarning, match="CUDA is not available"):
        assert np.isfinite(loaded.score(unit_data))
    # Switching the parameter to the CPU silences the warning.
    loaded.set_params(device="cpu")
    np.testing.assert_array_equal(loaded.transform(unit_data), expected)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_fitting_with_cuda_on_a_cpu_machine_falls_back(make_aae, unit_data):
    with pytest.warns(RuntimeWarning, match="CUDA is not available"):
        aae = make_aae(device="cuda").fit(unit_data)
    assert next(aae.encoder_.parameters()).device.type == "cpu"


def test_warm_start_after_unpickling_continues(make_aae, unit_data):
    aae = make_aae(warm_start=True, max_iter=2).fit(unit_data)
    loaded = _roundtrip(aae)
    before = loaded.transform(unit_data)
    loaded.fit(unit_data)
    assert loaded.n_iter_ == 4
    assert [record["epoch"] for record in loaded.history_] == [1, 2, 3, 4]
    Z = loaded.transform(unit_data)
    assert np.isfinite(Z).all()
    assert not np.allclose(Z, before)
    # The original is untouched by training its copy.
    np.testing.assert_array_equal(aae.transform(unit_data), before)
    assert aae.n_iter_ == 2


def test_unpickled_model_can_be_refitted(fitted, unit_data):
    loaded = _roundtrip(fitted)
    loaded.fit(unit_data)
    np.testing.assert_array_equal(loaded.transform(unit_data), fitted.transform(unit_data))

"""skaae.save / skaae.load: exact round trips, warm starts, and files refused unexecuted."""

import hashlib
import io
import json
import os
import pickle
import shlex
import warnings
import zipfile

import joblib
import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError

import skaae
from skaae import AdversarialAutoencoder, GaussianMixturePrior, UniformPrior
from skaae.persistence import FORMAT_VERSION, UnsafeOrCorruptFileError
from skaae.priors import GaussianPrior

TINY = {"hidden_layer_sizes": (16,), "discriminator_layer_sizes": (16,)}

CONFIGS = {
    "default": {},
    "gaussian-posterior": {"posterior": "gaussian"},
    "universal-posterior": {"posterior": "universal", "n_components": 3},
    "mixture-name": {"prior": "mixture", "n_components": 3},
    "mixture-instance": {"prior": GaussianMixturePrior(n_modes=4, scale=2.0), "n_components": 3},
    "mixture-explicit-means": {"prior": GaussianMixturePrior(n_modes=2, means=[[1, 0], [0, 1]])},
    "uniform-instance": {"prior": UniformPrior(scale=0.5)},
    "swiss-roll": {"prior": "swiss_roll"},
    "mse-scaling": {"reconstruction_loss": "mse"},
    "early-stopping": {"early_stopping": True, "validation_fraction": 0.2},
    "odd-param-types": {
        "hidden_layer_sizes": [16],
        "device": torch.device("cpu"),
        "random_state": np.int64(3),
        "learning_rate": np.float32(0.01),
    },
}


def _params_key(params):
    """get_params() in a comparable form (Prior instances compare by identity)."""
    return {k: (type(v), repr(v)) for k, v in params.items()}


def _assert_same_model(loaded, original, X):
    Z = original.transform(X)
    np.testing.assert_array_equal(loaded.transform(X), Z)
    np.testing.assert_array_equal(loaded.inverse_transform(Z), original.inverse_transform(Z))
    np.testing.assert_array_equal(
        loaded.sample(7, random_state=1), original.sample(7, random_state=1)
    )
    assert loaded.score(X) == original.score(X)
    assert _params_key(loaded.get_params()) == _params_key(original.get_params())
    assert loaded.history_ == original.history_
    assert loaded.n_iter_ == original.n_iter_
    assert loaded.reconstruction_loss_ == original.reconstruction_loss_
    assert loaded.n_features_in_ == original.n_features_in_
    assert _params_key(loaded._fitted_structure) == _params_key(original._fitted_structure)
    assert type(loaded.prior_) is type(original.prior_)
    assert loaded.prior_.std_ == original.prior_.std_


@pytest.fixture
def saved(make_aae, unit_data, tmp_path):
    """A fitted model and the path of its saved file."""
    aae = make_aae(**TINY, prior="mixture").fit(unit_data)
    path = tmp_path / "model.skaae"
    skaae.save(aae, path)
    return aae, path


# ------------------------------------------------------------ round trips
@pytest.mark.parametrize("config", CONFIGS.values(), ids=CONFIGS.keys())
def test_round_trip_gives_identical_outputs(make_aae, unit_data, real_data, tmp_path, config):
    X = real_data if config.get("reconstruction_loss") == "mse" else unit_data
    aae = make_aae(**{**TINY, **config}).fit(X)
    path = tmp_path / "model.skaae"
    skaae.save(aae, path)
    loaded = skaae.load(path)
    assert type(loaded) is AdversarialAutoencoder
    _assert_same_model(loaded, aae, X)
    for name in ("_offset", "_scale"):
        expected = getattr(aae, name)
        if expected is None:
            assert getattr(loaded, name) is None
        else:
            np.testing.assert_array_equal(getattr(loaded, name), expected)
            assert getattr(loaded, name).dtype == expected.dtype


def test_parameter_types_survive(make_aae, unit_data, tmp_path):
    config = CONFIGS["odd-param-types"]
    aae = make_aae(**{**TINY, **config}).fit(unit_data)
    skaae.save(aae, tmp_path / "m.skaae")
    params = skaae.load(tmp_path / "m.skaae").get_params()
    assert params["hidden_layer_sizes"] == [16]
    assert params["discriminator_layer_sizes"] == (16,)
    assert params["device"] == torch.device("cpu")
    assert type(params["random_state"]) is np.int64
    assert type(params["learning_rate"]) is np.float32


def test_random_state_instance_parameter(make_aae, unit_data, tmp_path):
    aae = make_aae(**TINY).fit(unit_data)
    aae.set_params(random_state=np.random.RandomState(5))
    skaae.save(aae, tmp_path / "m.skaae")
    loaded = skaae.load(tmp_path / "m.skaae").random_state
    assert loaded.randint(1000, size=5).tolist() == aae.random_state.randint(1000, size=5).tolist()


def test_pandas_feature_names_round_trip(make_aae, unit_data, tmp_path):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(unit_data, columns=[f"feature {i}" for i in range(unit_data.shape[1])])
    aae = make_aae(**TINY).fit(df)
    skaae.save(aae, tmp_path / "m.skaae")
    loaded = skaae.load(tmp_path / "m.skaae")
    np.testing.assert_array_equal(loaded.feature_names_in_, aae.feature_names_in_)
    assert loaded.feature_names_in_.dtype == object
    _assert_same_model(loaded, aae, df)
    loaded.set_output(transform="pandas")
    assert list(loaded.transform(df).columns) == list(aae.get_feature_names_out())
    with pytest.raises(ValueError, match="feature names"):
        loaded.transform(df.rename(columns={"feature 0": "other"}))


@pytest.mark.parametrize("output", ["pandas", "default"])
def test_set_output_survives_save_and_load_as_with_joblib(make_aae, unit_data, tmp_path, output):
    pd = pytest.importorskip("pandas")
    aae = make_aae(**TINY).fit(unit_data).set_output(transform=output)
    skaae.save(aae, tmp_path / "m.skaae")
    loaded = skaae.load(tmp_path / "m.skaae")
    joblibbed = joblib.load(joblib.dump(aae, tmp_path / "m.joblib")[0])
    for model in (loaded, joblibbed):
        Z = model.transform(unit_data)
        assert isinstance(Z, pd.DataFrame) is (output == "pandas")
        assert isinstance(model.inverse_transform(Z), pd.DataFrame) is (output == "pandas")


def test_a_file_without_output_config_loads_with_default_output(saved, unit_data):
    _, path = saved
    assert "output_config" not in json.loads(_members(path)["metadata.json"])
    assert isinstance(skaae.load(path).transform(unit_data), np.ndarray)


def test_device_parameter_is_kept_and_networks_are_on_the_cpu(saved):
    aae, path = saved
    aae.device = "cuda"  # as if fitted on a GPU machine
    skaae.save(aae, path)
    loaded = skaae.load(path)
    assert loaded.device == "cuda"
    assert next(loaded.encoder_.parameters()).device.type == "cpu"


def test_load_leaves_the_global_torch_rng_alone(saved):
    _, path = saved
    state = torch.random.get_rng_state()
    skaae.load(path)
    assert torch.equal(torch.random.get_rng_state(), state)


# ------------------------------------------------------------ training on
def test_warm_start_after_load_matches_warm_start_after_unpickling(make_aae, unit_data, tmp_path):
    aae = make_aae(**TINY, warm_start=True).fit(unit_data)
    skaae.save(aae, tmp_path / "m.skaae")
    loaded = skaae.load(tmp_path / "m.skaae")
    unpickled = pickle.loads(pickle.dumps(aae))
    loaded.fit(unit_data)
    unpickled.fit(unit_data)
    assert loaded.n_iter_ == 4
    assert [record["epoch"] for record in loaded.history_] == [1, 2, 3, 4]
    np.testing.assert_array_equal(loaded.transform(unit_data), unpickled.transform(unit_data))
    assert not np.array_equal(loaded.transform(unit_data), aae.transform(unit_data))


def test_a_parameter_missing_from_an_older_file_takes_its_default(saved, unit_data):
    aae, path = saved
    _edit_metadata(path, lambda metadata: metadata["params"].pop("verbose"))
    loaded = skaae.load(path)
    assert loaded.verbose == AdversarialAutoencoder().verbose
    np.testing.assert_array_equal(loaded.transform(unit_data), aae.transform(unit_data))


def test_warm_start_after_load_refuses_structural_changes(saved, unit_data):
    _, path = saved
    loaded = skaae.load(path).set_params(warm_start=True, hidden_layer_sizes=(8,))
    with pytest.raises(ValueError, match="cannot change hidden_layer_sizes"):
        loaded.fit(unit_data)


def test_loaded_model_can_be_refitted_from_scratch(saved, unit_data):
    aae, path = saved
    loaded = skaae.load(path)
    loaded.fit(unit_data)
    np.testing.assert_array_equal(loaded.transform(unit_data), aae.transform(unit_data))


def test_loaded_model_pickles_and_joblibs(saved, unit_data, tmp_path):
    aae, path = saved
    loaded = skaae.load(path)
    expected = aae.transform(unit_data)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(loaded)).transform(unit_data), expected)
    joblib.dump(loaded, tmp_path / "m.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "m.joblib").transform(unit_data), expected)


# ------------------------------------------------------------ what save refuses
def test_save_unfitted_raises_not_fitted(tmp_path):
    with pytest.raises(NotFittedError):
        skaae.save(AdversarialAutoencoder(), tmp_path / "m.skaae")
    assert not (tmp_path / "m.skaae").exists()


class _MyPrior(GaussianPrior):
    pass


class _MyAutoencoder(AdversarialAutoencoder):
    pass


def test_save_refuses_what_it_cannot_store_safely(make_aae, unit_data, tmp_path):
    aae = make_aae(**TINY, prior=_MyPrior()).fit(unit_data)
    with pytest.raises(TypeError, match="Cannot store the prior _MyPrior safely"):
        skaae.save(aae, tmp_path / "m.skaae")
    subclass = _MyAutoencoder(**TINY, max_iter=1, device="cpu").fit(unit_data)
    with pytest.raises(TypeError, match="use pickle or joblib"):
        skaae.save(subclass, tmp_path / "m.skaae")
    assert os.listdir(tmp_path) == []  # no partial or temporary file left behind


# ------------------------------------------------------------ what load refuses
def _members(path):
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _write(path, members, fix_checksums=True):
    """Write ``members`` as a zip; with ``fix_checksums`` as a forger would, checksums redone."""
    members = dict(members)
    if fix_checksums and "checksums.json" in members:
        checksums = json.loads(members["checksums.json"])
        checksums["members"] = {
            name: hashlib.sha256(members[name]).hexdigest() for name in checksums["members"]
        }
        members["checksums.json"] = json.dumps(checksums).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def _edit_metadata(path, edit, fix_checksums=True):
    members = _members(path)
    metadata = json.loads(members["metadata.json"])
    edit(metadata)
    members["metadata.json"] = json.dumps(metadata).encode()
    _write(path, members, fix_checksums)


def test_refuses_a_file_that_is_not_a_zip(tmp_path):
    path = tmp_path / "m.skaae"
    path.write_bytes(b"just some text\n" * 10)
    with pytest.raises(UnsafeOrCorruptFileError, match="not a skaae file or is truncated"):
        skaae.load(path)


def test_refuses_another_zip(tmp_path):
    path = tmp_path / "m.skaae"
    _write(path, {"README.txt": b"hello"})
    with pytest.raises(UnsafeOrCorruptFileError, match="Not a skaae file: expected the members"):
        skaae.load(path)


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.95])
def test_refuses_a_truncated_file(saved, keep):
    _, path = saved
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(UnsafeOrCorruptFileError, match="truncated or corrupt"):
        skaae.load(path)


def test_refuses_tampered_metadata(saved):
    _, path = saved

    def edit(metadata):
        metadata["attributes"]["n_iter_"] = 1000

    _edit_metadata(path, edit, fix_checksums=False)
    with pytest.raises(UnsafeOrCorruptFileError, match=r"Checksum mismatch for metadata.json"):
        skaae.load(path)


def test_refuses_tampered_weights(saved):
    _, path = saved
    members = _members(path)
    tensors = torch.load(io.BytesIO(members["tensors.pt"]), weights_only=True)
    tensors["modules"]["encoder_"]["body.0.weight"][0, 0] += 1.0
    buffer = io.BytesIO()
    torch.save(tensors, buffer)
    members["tensors.pt"] = buffer.getvalue()
    _write(path, members, fix_checksums=False)
    with pytest.raises(UnsafeOrCorruptFileError, match=r"Checksum mismatch for tensors.pt"):
        skaae.load(path)


def test_refuses_a_flipped_byte(saved):
    _, path = saved
    data = bytearray(path.read_bytes())
    start = data.index(b"PK\x03\x04", 1) + 200  # inside the second member's data
    data[start] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(UnsafeOrCorruptFileError, match=r"corrupt|modified"):
        skaae.load(path)


@pytest.mark.parametrize("member", ["checksums.json", "metadata.json"])
def test_refuses_a_newer_format_version(saved, member):
    _, path = saved
    members = _members(path)
    document = json.loads(members[member])
    document["format_version"] = FORMAT_VERSION + 1
    members[member] = json.dumps(document).encode()
    _write(path, members)
    with pytest.raises(UnsafeOrCorruptFileError, match="newer than this skaae reads"):
        skaae.load(path)


def test_refuses_a_file_of_another_format(saved):
    _, path = saved
    members = _members(path)
    members["checksums.json"] = json.dumps(
        {**json.loads(members["checksums.json"]), "format": "skops"}
    ).encode()
    _write(path, members)
    with pytest.raises(UnsafeOrCorruptFileError, match="has no 'format': 'skaae'"):
        skaae.load(path)


@pytest.mark.parametrize("extra", ["data.pkl", "metadata.json"])
def test_refuses_unexpected_members(saved, extra):
    _, path = saved
    members = _members(path)
    with zipfile.ZipFile(path, "a") as archive, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns of a duplicate name
        archive.writestr(extra, b"\x80\x04N.")
    assert set(members) <= set(_members(path))
    with pytest.raises(UnsafeOrCorruptFileError, match="expected the members"):
        skaae.load(path)


@pytest.mark.parametrize("name", ["os.system", "builtins.eval", "Pipeline", "Prior"])
def test_refuses_an_estimator_class_outside_the_whitelist(saved, name):
    _, path = saved

    def edit(metadata):
        metadata["estimator"] = name

    _edit_metadata(path, edit)
    with pytest.raises(UnsafeOrCorruptFileError, match="Unknown estimator class"):
        skaae.load(path)


def test_refuses_a_prior_class_outside_the_whitelist(saved):
    _, path = saved

    def edit(metadata):
        metadata["params"]["prior"] = {
            "__type__": "prior",
            "prior_class": "subprocess.Popen",
            "params": {"args": ["touch", "x"]},
        }

    _edit_metadata(path, edit)
    with pytest.raises(UnsafeOrCorruptFileError, match=r"Unknown prior class 'subprocess.Popen'"):
        skaae.load(path)


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda m: m["params"].update(evil={"__type__": "callable"}), "Unknown tagged value"),
        (lambda m: m["params"].update(extra=1), "parameters stored do not match"),
        (lambda m: m["params"].update(n_components=-1), "invalid estimator state"),
        (lambda m: m["attributes"].update(_trainer=None), "Unexpected attributes"),
        (lambda m: m["attributes"].update(__class__="x"), "Unexpected attributes"),
        (lambda m: m["arrays"].update(_offset="_offset"), "arrays the metadata lists"),
        (lambda m: m["attributes"].update(n_features_in_=7), "invalid estimator state"),
        (lambda m: m.update(output_config={"transform": "os.system"}), "output_config"),
        (lambda m: m.update(output_config={"fit": "pandas"}), "output_config"),
        (
            lambda m: m["params"].update(
                random_state={"__type__": "ndarray", "dtype": "O", "shape": [1], "data": [1]}
            ),
            "Invalid 'ndarray' value",
        ),
    ],
    ids=[
        "unknown-tag",
        "unknown-param",
        "invalid-param",
        "private-attribute",
        "dunder-attribute",
        "missing-array",
        "shape-mismatch",
        "bad-output-value",
        "bad-output-key",
        "object-array",
    ],
)
def test_refuses_inconsistent_metadata(saved, edit, match):
    _, path = saved
    _edit_metadata(path, edit)
    with pytest.raises(UnsafeOrCorruptFileError, match=match):
        skaae.load(path)


# ------------------------------------------------------------ the pickle payload
class _Exploit:
    """Unpickling this runs a shell command that creates a marker file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {shlex.quote(str(self.marker))}",))


def _raw_pickle(marker):
    return pickle.dumps({"modules": _Exploit(marker), "arrays": {}})


def _torch_zip_pickle(marker):
    buffer = io.BytesIO()
    torch.save({"modules": {"encoder_": {"w": torch.zeros(1)}}, "arrays": _Exploit(marker)}, buffer)
    return buffer.getvalue()


def _torch_load_unsafely(payload):
    return torch.load(io.BytesIO(payload), weights_only=False)


@pytest.mark.filterwarnings("ignore:Detected pickle protocol:UserWarning")
@pytest.mark.parametrize(
    ("make_payload", "unsafe_load"),
    [(_raw_pickle, pickle.loads), (_torch_zip_pickle, _torch_load_unsafely)],
    ids=["raw-pickle", "torch-save-zip"],
)
def test_a_pickle_payload_is_refused_and_nothing_runs(saved, tmp_path, make_payload, unsafe_load):
    _, path = saved
    # The payload is armed: unpickling it without weights_only runs the command.
    armed = tmp_path / "armed"
    unsafe_load(make_payload(armed))
    assert armed.exists()

    marker = tmp_path / "pwned"
    members = _members(path)
    members["tensors.pt"] = make_payload(marker)
    _write(path, members)  # checksums redone: only the payload itself can give it away
    with pytest.raises(
        UnsafeOrCorruptFileError, match=r"not a plain tensor file .*nothing in it ran"
    ):
        skaae.load(path)
    assert not marker.exists()


def test_a_tensor_file_with_the_wrong_layout_is_refused(saved):
    _, path = saved
    members = _members(path)
    buffer = io.BytesIO()
    torch.save({"modules": {"encoder_": [torch.zeros(1)]}, "arrays": {}}, buffer)
    members["tensors.pt"] = buffer.getvalue()
    _write(path, members)
    with pytest.raises(UnsafeOrCorruptFileError, match="expected tensor layout"):
        skaae.load(path)


def test_the_estimators_saved_are_the_public_estimator_classes_found_by_themselves():
    public = {
        name
        for name in skaae.__all__
        if isinstance(getattr(skaae, name), type)
        and issubclass(getattr(skaae, name), skaae._base.BaseAdversarialEstimator)
    }
    assert set(skaae.persistence.ESTIMATORS) == public
    assert "CategoricalStyleAutoencoder" not in skaae.persistence.ESTIMATORS  # a shared base

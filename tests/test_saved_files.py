"""Files written by earlier versions keep loading and predicting the same.

``tests/fixtures/format_v<N>/`` holds models saved by the skaae that wrote file
format N (``make_saved_models.py`` there says how), ``pickle_<version>/`` the
same models pickled by that version of skaae (``make_pickles.py``), each with
their outputs.
"""

import json
import pickle
from pathlib import Path

import numpy as np
import pytest

import skaae

FIXTURES = Path(__file__).parent / "fixtures"


def _cases():
    for pattern, suffix in (("format_v*", ".skaae"), ("pickle_*", ".pickle")):
        for folder in sorted(FIXTURES.glob(pattern)):
            expected = json.loads((folder / "outputs.json").read_text())
            for name, outputs in expected["models"].items():
                path = folder / f"{name}{suffix}"
                yield pytest.param(path, outputs, id=f"{folder.name}-{name}")


def _load(path):
    if path.suffix == ".pickle":
        return pickle.loads(path.read_bytes())  # a fixture of this repository
    return skaae.load(path)


def _inputs():
    from sklearn.datasets import load_digits

    X, _ = load_digits(return_X_y=True)
    return (X[:20] / 16).astype(np.float32)


@pytest.mark.parametrize(("path", "outputs"), list(_cases()))
def test_saved_file_loads_and_predicts_as_when_written(path, outputs):
    model = _load(path)
    X = _inputs()
    codes = model.transform(X)
    np.testing.assert_allclose(codes, outputs["transform"], rtol=1e-5, atol=1e-5)
    if "predict_proba" in outputs:
        np.testing.assert_allclose(
            model.predict_proba(X), outputs["predict_proba"], rtol=1e-5, atol=1e-5
        )
    if isinstance(model, skaae.AAEClassifier | skaae.AAEClustering):
        labels = model.predict(X)
    else:
        labels = np.arange(len(X)) % 10 if getattr(model, "conditional", False) else None
    np.testing.assert_allclose(
        model.inverse_transform(codes, labels), outputs["inverse_transform"], rtol=1e-5, atol=1e-5
    )


def test_format_v1_covers_every_estimator_of_its_time():
    names = {skaae.load(path).__class__.__name__ for path in FIXTURES.glob("format_v1/*.skaae")}
    assert names == {"AdversarialAutoencoder", "AAEClassifier", "AAEClustering", "AAEEmbedding"}


@pytest.mark.parametrize(("path", "outputs"), list(_cases()))
def test_a_loaded_old_model_keeps_training(path, outputs):
    model = _load(path)
    X = _inputs()
    n_iter = model.n_iter_
    y = np.arange(len(X)) % 3 if hasattr(model, "classes_") else None
    model.set_params(warm_start=True, max_iter=1)
    if isinstance(model, skaae.AAEClustering | skaae.AAEEmbedding) and y is None:
        model.fit(X)
    else:
        model.fit(X, None if y is None else model.classes_[y])
    assert model.n_iter_ == n_iter + 1
    assert np.isfinite(model.transform(X)).all()

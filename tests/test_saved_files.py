"""Files written by earlier versions of ``skaae.save`` keep loading and predicting the same.

``tests/fixtures/format_v<N>/`` holds models saved by the skaae that wrote file
format N (``make_saved_models.py`` there says how), with their outputs.
"""

import json
from pathlib import Path

import numpy as np
import pytest

import skaae

FIXTURES = Path(__file__).parent / "fixtures"


def _cases():
    for folder in sorted(FIXTURES.glob("format_v*")):
        expected = json.loads((folder / "outputs.json").read_text())
        for name, outputs in expected["models"].items():
            yield pytest.param(folder / f"{name}.skaae", outputs, id=f"{folder.name}-{name}")


def _inputs():
    from sklearn.datasets import load_digits

    X, _ = load_digits(return_X_y=True)
    return (X[:20] / 16).astype(np.float32)


@pytest.mark.parametrize(("path", "outputs"), list(_cases()))
def test_saved_file_loads_and_predicts_as_when_written(path, outputs):
    model = skaae.load(path)
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

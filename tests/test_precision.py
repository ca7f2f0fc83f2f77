"""The ``precision`` parameter: bfloat16 mixed precision in training and inference."""

import platform
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.utils._param_validation import InvalidParameterError

from skaae import AAEClassifier, AAEClustering, AAEEmbedding, AdversarialAutoencoder
from skaae.training import has_native_bfloat16, precision_context

POSTERIORS = ["deterministic", "gaussian", "universal"]

# On a CPU without bfloat16 units every bfloat16 fit warns that it is slow;
# test_bfloat16_without_hardware_support_warns checks the warning itself.
pytestmark = pytest.mark.filterwarnings("ignore:precision='bfloat16' on a:UserWarning")


@pytest.mark.parametrize("posterior", POSTERIORS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bfloat16_fit_gives_finite_outputs_in_the_input_dtype(make_aae, digits, posterior, dtype):
    X = digits[0].astype(dtype)
    aae = make_aae(posterior=posterior, precision="bfloat16").fit(X)
    Z = aae.transform(X)
    decoded = aae.inverse_transform(Z)
    assert Z.dtype == dtype and decoded.dtype == dtype
    assert np.isfinite(Z).all() and np.isfinite(decoded).all()
    assert np.isfinite(aae.sample(5, random_state=0)).all()
    assert np.isfinite(aae.score(X))
    assert all(np.isfinite(record["reconstruction_loss"]) for record in aae.history_)


@pytest.mark.parametrize(
    "make",
    [
        lambda **kw: AAEClassifier(**kw),
        lambda **kw: AAEClustering(n_clusters=4, **kw),
        lambda **kw: AAEEmbedding(**kw),
        lambda **kw: AdversarialAutoencoder(conditional=True, **kw),
    ],
    ids=["classifier", "clustering", "embedding", "conditional"],
)
def test_every_estimator_offers_bfloat16(fast_params, digits, make):
    X, y = digits[0][:400], digits[2][:400]
    y_partial = np.where(np.arange(len(y)) % 4 == 0, y, -1)
    estimator = make(**{**fast_params, "n_components": 2}, precision="bfloat16")
    estimator.fit(X, y if "Autoencoder" in type(estimator).__name__ else y_partial)
    assert estimator.get_params()["precision"] == "bfloat16"
    Z = estimator.transform(X)
    assert Z.dtype == X.dtype and np.isfinite(Z).all()
    if hasattr(estimator, "predict_proba"):
        proba = estimator.predict_proba(X)
        assert proba.dtype == np.float64 and np.allclose(proba.sum(axis=1), 1, atol=1e-2)


@pytest.mark.parametrize("loss", ["bce", "mse"])
def test_bfloat16_is_reproducible_for_a_seed(make_aae, unit_data, loss):
    first = make_aae(precision="bfloat16", reconstruction_loss=loss).fit(unit_data)
    second = make_aae(precision="bfloat16", reconstruction_loss=loss).fit(unit_data)
    np.testing.assert_array_equal(first.transform(unit_data), second.transform(unit_data))


def test_bfloat16_trains_the_float32_weights(make_aae, unit_data):
    aae = make_aae(precision="bfloat16").fit(unit_data)
    for name in ("encoder_", "decoder_", "discriminator_"):
        assert all(p.dtype == torch.float32 for p in getattr(aae, name).parameters())


def test_bfloat16_quality_close_to_float32(digits):
    X_train, X_test = digits[0], digits[1]
    params = dict(
        n_components=8,
        hidden_layer_sizes=(128,),
        discriminator_layer_sizes=(64,),
        batch_size=64,
        max_iter=15,
        device="cpu",
        random_state=0,
    )
    scores = {
        precision: AdversarialAutoencoder(precision=precision, **params).fit(X_train).score(X_test)
        for precision in ("float32", "bfloat16")
    }
    # Minus the mean BCE per pixel; a mean-image reconstruction scores about -0.45.
    assert scores["bfloat16"] == pytest.approx(scores["float32"], abs=0.01)


def test_precision_can_change_on_warm_start(make_aae, unit_data):
    aae = make_aae(warm_start=True).fit(unit_data)
    aae.set_params(precision="bfloat16").fit(unit_data)
    assert aae._trainer.precision == "bfloat16"
    assert aae.n_iter_ == 2 * make_aae().max_iter


@pytest.mark.parametrize("precision", ["float16", "bf16", "", None, 16])
def test_bad_precision_is_rejected(make_aae, unit_data, precision):
    with pytest.raises(InvalidParameterError, match="precision"):
        make_aae(precision=precision).fit(unit_data)


def test_precision_context_rejects_unknown_values():
    with pytest.raises(ValueError, match="precision"):
        precision_context("cpu", "float16")


def test_precision_context_sees_weights_updated_inside_it():
    # An optimiser step inside one autocast region must reach the next forward
    # pass (autocast's weight cache would serve the stale cast).
    layer = torch.nn.Linear(4, 3)
    x = torch.randn(2, 4, generator=torch.Generator().manual_seed(0))
    with precision_context("cpu", "bfloat16"):
        before = layer(x)
        with torch.no_grad():
            layer.weight.add_(1.0)
        after = layer(x)
    assert before.dtype == torch.bfloat16
    assert not torch.equal(before, after)


def test_losses_are_computed_in_float32_under_bfloat16():
    layer = torch.nn.Linear(4, 3)
    x, target = torch.randn(2, 4), torch.rand(2, 3)
    with precision_context("cpu", "bfloat16"):
        assert F.binary_cross_entropy_with_logits(layer(x), target).dtype == torch.float32
        assert F.mse_loss(layer(x), target).dtype == torch.float32


@pytest.mark.parametrize("native", [True, False, None])
def test_bfloat16_without_hardware_support_warns(make_aae, unit_data, monkeypatch, native):
    # Emulated bfloat16 products run many times slower than float32: say so.
    monkeypatch.setattr("skaae._training_mixin.has_native_bfloat16", lambda device: native)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        make_aae(precision="bfloat16").fit(unit_data)
        make_aae(precision="float32").fit(unit_data)
    slow = [w for w in caught if "emulated" in str(w.message)]
    assert len(slow) == (1 if native is False else 0)
    if slow:
        assert slow[0].category is UserWarning and slow[0].filename == __file__


def test_native_bfloat16_probe_answers_for_the_cpu():
    answer = has_native_bfloat16("cpu")
    assert answer in (True, False, None)
    if platform.machine().lower() in ("x86_64", "amd64"):
        assert answer == (
            torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
        )

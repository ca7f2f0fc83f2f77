"""Data augmentation: RandomShift's arithmetic, and what the estimators pass through it."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone

import skaae
from skaae import AAEClassifier, AdversarialAutoencoder
from skaae._json_values import decode, encode
from skaae.augmentation import RandomShift
from skaae.persistence import UnsafeOrCorruptFileError
from skaae.training import AdversarialTrainer, Batch


def _shifted(images, dy, dx, fill):
    """``images`` (n, c, h, w) moved down by dy and right by dx, ``fill`` entering."""
    h, w = images.shape[-2:]
    out = np.full_like(images, fill)
    out[:, :, max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = images[
        :, :, max(-dy, 0) : h - max(dy, 0), max(-dx, 0) : w - max(dx, 0)
    ]
    return out


def _offsets(x, out, shape, max_shift, fill):
    """For each row, the (dy, dx) that turns the image of ``x`` into that of ``out``."""
    images = x.numpy().reshape(len(x), *shape)
    moved = out.numpy().reshape(len(x), *shape)
    found = []
    for row in range(len(x)):
        matches = [
            (dy, dx)
            for dy in range(-max_shift, max_shift + 1)
            for dx in range(-max_shift, max_shift + 1)
            if np.array_equal(_shifted(images[row : row + 1], dy, dx, fill), moved[row : row + 1])
        ]
        assert len(matches) == 1, f"row {row}: {matches}"
        found.append(matches[0])
    return found


@pytest.mark.parametrize("shape", [(5, 7), (3, 4, 6)])
def test_each_image_moves_by_one_whole_shift_within_the_limit(shape):
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(300, int(np.prod(shape)), generator=generator) + 1  # no pixel equals fill
    before = x.clone()
    out = RandomShift(shape, max_shift=2, fill=-1.0)(x, generator)
    assert out.shape == x.shape and out.dtype == x.dtype
    assert torch.equal(x, before)  # the input is left alone
    offsets = _offsets(x, out, (1, *shape) if len(shape) == 2 else shape, 2, -1.0)
    # Every one of the 25 shifts occurs, none far more often than the others.
    counts = np.unique(np.array(offsets), axis=0, return_counts=True)[1]
    assert len(counts) == 25 and counts.max() < 3 * 300 / 25


def test_the_shifts_come_from_the_generator():
    x = torch.rand(50, 64)
    shift = RandomShift((8, 8))
    first = shift(x, torch.Generator().manual_seed(3))
    assert torch.equal(first, shift(x, torch.Generator().manual_seed(3)))
    assert not torch.equal(first, shift(x, torch.Generator().manual_seed(4)))


def test_no_shift_returns_a_copy():
    x = torch.rand(4, 12)
    out = RandomShift((3, 4), max_shift=0)(x, torch.Generator())
    assert torch.equal(out, x) and out.data_ptr() != x.data_ptr()


@pytest.mark.parametrize(
    "params, n_features, message",
    [
        ({"image_shape": (7, 8)}, 64, r"needs 56 features per sample, but X has 64"),
        ({"image_shape": (64,)}, 64, "image_shape must be"),
        ({"image_shape": (8, 0)}, 64, "image_shape must be"),
        ({"image_shape": "8x8"}, 64, "image_shape must be"),
        ({"image_shape": (8, 8), "max_shift": -1}, 64, "max_shift must be"),
        ({"image_shape": (8, 8), "max_shift": 1.5}, 64, "max_shift must be"),
        ({"image_shape": (8, 8), "fill": float("nan")}, 64, "fill must be"),
    ],
)
def test_bad_parameters_or_feature_counts_are_named(params, n_features, message):
    with pytest.raises(ValueError, match=message):
        RandomShift(**params)(torch.zeros(2, n_features), torch.Generator())


def test_a_wrong_image_shape_fails_before_training_starts(digits):
    X = digits[0]
    aae = AdversarialAutoencoder(max_iter=1, augmentation=RandomShift((7, 8)))
    with pytest.raises(ValueError, match="needs 56 features"):
        aae.fit(X)
    assert not hasattr(aae, "history_")


@pytest.mark.parametrize(
    "augmentation, got",
    [
        (lambda x, generator: x[:1], r"returned a torch.float32 tensor of shape \(1, 64\)"),
        (lambda x, generator: x.numpy(), "returned a ndarray"),
        (lambda x, generator: x.long(), "returned a torch.int64 tensor"),
    ],
)
def test_an_augmentation_with_unusable_output_is_refused(digits, augmentation, got):
    with pytest.raises(ValueError, match=f"augmentation must return a float tensor.*{got}"):
        AdversarialAutoencoder(max_iter=1, augmentation=augmentation).fit(digits[0])


def test_the_parameter_is_validated():
    with pytest.raises(ValueError, match=r"'augmentation' parameter .* must be a callable or None"):
        AdversarialAutoencoder(augmentation="shift").fit(np.zeros((10, 4)))


class _Recorder:
    """An augmentation that adds ``delta`` and records what it was given."""

    def __init__(self, delta=0.0):
        self.delta = delta
        self.batches = []

    def __call__(self, x, generator):
        self.batches.append(x.clone())
        return x + self.delta


def test_training_batches_pass_through_it_in_the_units_of_x(digits, fast_params):
    X = digits[0] * 16  # outside [0, 1]: the MSE loss, on standardised features
    recorder = _Recorder()
    aae = AdversarialAutoencoder(**fast_params, neighbor_weight=0, augmentation=recorder).fit(X)
    assert aae.reconstruction_loss_ == "mse"
    seen = torch.cat(recorder.batches[1:])  # (the first is fit's check, on zeros)
    assert len(seen) == 2 * len(X)  # every row of both epochs, once each
    np.testing.assert_allclose(np.sort(seen.numpy(), axis=0)[::2], np.sort(X, axis=0), atol=1e-4)
    # Inference never sees it.
    n_calls = len(recorder.batches)
    aae.transform(X), aae.inverse_transform(aae.transform(X[:5])), aae.score(X)
    assert len(recorder.batches) == n_calls


def test_inputs_neighbours_and_labelled_rows_are_each_augmented(digits, fast_params):
    X, y = digits[0][:100], digits[2][:100]
    model = AAEClassifier(**fast_params).fit(X, y)
    trainer = model._make_trainer(torch.device("cpu"))
    trainer.generator.manual_seed(0)
    trainer.augmentation = _Recorder(delta=1.0)
    x, near, labelled = (torch.as_tensor(X[i : i + 5], dtype=torch.float32) for i in (0, 5, 10))
    batch = Batch(x, neighbors=near, labelled=(labelled, torch.zeros(5, dtype=torch.long)))
    augmented = trainer._augmented(batch)
    torch.testing.assert_close(augmented.x, x + 1)
    torch.testing.assert_close(augmented.neighbors, near + 1)
    torch.testing.assert_close(augmented.labelled[0], labelled + 1)
    assert augmented.labelled[1] is batch.labelled[1]
    assert isinstance(trainer, AdversarialTrainer)


def test_the_decoder_is_asked_for_the_batch_as_given(digits, fast_params):
    model = AdversarialAutoencoder(**fast_params).fit(digits[0])
    trainer = model._make_trainer(torch.device("cpu"))
    trainer.generator.manual_seed(0)
    trainer.augmentation = _Recorder(delta=0.25)
    targets, loss = [], trainer.model.reconstruction.loss

    def recording_loss(output, target):
        targets.append(target)
        return loss(output, target)

    trainer.model.reconstruction.loss = recording_loss
    x = torch.as_tensor(digits[0][:8], dtype=torch.float32)
    trainer.train_batch(Batch(x))
    torch.testing.assert_close(trainer.augmentation.batches[0], x)  # (the encoder got x + 0.25)
    assert len(targets) == 1 and torch.equal(targets[0], x)


def test_fits_with_it_are_reproducible_and_differ_from_fits_without(digits, fast_params):
    X, y = digits[0], digits[2]
    partial = np.where(np.arange(len(y)) % 5 == 0, y, -1)
    shift = RandomShift((8, 8), max_shift=1)
    first = AAEClassifier(**fast_params, augmentation=shift).fit(X, partial)
    second = AAEClassifier(**fast_params, augmentation=clone(shift)).fit(X, partial)
    plain = AAEClassifier(**fast_params).fit(X, partial)
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))
    assert not np.allclose(first.predict_proba(X), plain.predict_proba(X))


def test_clone_set_params_pickle_and_save_keep_it(digits, fast_params, tmp_path):
    X, y = digits[0], digits[2]
    model = AAEClassifier(**fast_params, augmentation=RandomShift((8, 8), max_shift=1))
    tuned = clone(model).set_params(augmentation__max_shift=2)
    assert tuned.augmentation.max_shift == 2 and model.augmentation.max_shift == 1
    model.fit(X, y)
    path = tmp_path / "model.skaae"
    skaae.save(model, path)
    for restored in (skaae.load(path), pickle.loads(pickle.dumps(model))):
        assert restored.augmentation.get_params() == model.augmentation.get_params()
        np.testing.assert_array_equal(restored.predict_proba(X), model.predict_proba(X))


def test_only_known_augmentations_are_stored_and_loaded():
    encoded = encode(RandomShift((28, 28), max_shift=3))
    assert decode(encoded).get_params() == {"image_shape": (28, 28), "max_shift": 3, "fill": 0.0}
    with pytest.raises(TypeError, match="Cannot store a value of type _Recorder"):
        encode(_Recorder())
    with pytest.raises(UnsafeOrCorruptFileError, match=r"Unknown augmentation 'os\.system'"):
        decode({**encoded, "augmentation_class": "os.system"})

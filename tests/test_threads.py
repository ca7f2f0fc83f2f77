"""The thread policy of fit and inference (skaae/_threads.py): counts used and restored."""

import numpy as np
import pytest
import torch
from joblib import Parallel, delayed
from threadpoolctl import threadpool_limits

from skaae import AAEClassifier, AdversarialAutoencoder, _threads
from skaae._threads import ENVIRONMENT_VARIABLE, WORK_PER_THREAD, choose_threads
from skaae.callbacks import Callback

# Enough work per mini-batch for several threads (256 rows x 0.6M parameters).
LARGE = {"hidden_layer_sizes": (512, 512), "batch_size": 256}


class ThreadRecorder(Callback):
    """Records ``torch.get_num_threads()`` at each epoch's end."""

    def on_fit_begin(self, estimator):
        self.seen = []

    def on_epoch_end(self, estimator, record):
        self.seen.append(torch.get_num_threads())


class Raiser(Callback):
    def on_epoch_end(self, estimator, record):
        raise RuntimeError("stop here")


@pytest.fixture
def two_threads(monkeypatch):
    """Torch at 2 threads for the test (the suite runs at 1), the policy unfixed."""
    monkeypatch.delenv(ENVIRONMENT_VARIABLE, raising=False)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def X():
    return np.random.RandomState(0).uniform(size=(300, 64)).astype(np.float32)


def fit_threads(X, y=None, estimator=AdversarialAutoencoder, **params):
    """The fitted estimator and the thread counts seen at its epochs' ends."""
    recorder = ThreadRecorder()
    fitted = estimator(callbacks=[recorder], **params).fit(X, y)
    return fitted, recorder.seen


def test_fit_and_transform_restore_the_callers_count(two_threads, X, fast_params):
    fitted, seen = fit_threads(X, **fast_params)
    assert seen == [1, 1]  # a tiny network trains on one thread
    assert torch.get_num_threads() == 2
    fitted.transform(X)
    fitted.inverse_transform(fitted.transform(X))
    fitted.sample(10, random_state=0)
    assert torch.get_num_threads() == 2


def test_count_restored_when_fit_raises(two_threads, X, fast_params):
    with pytest.raises(RuntimeError, match="stop here"):
        AdversarialAutoencoder(callbacks=[Raiser()], **fast_params).fit(X)
    assert torch.get_num_threads() == 2


def test_threadpool_limits_cap_the_fit(two_threads, X, fast_params):
    fast_params.update(LARGE)
    with threadpool_limits(limits=1):
        _, seen = fit_threads(X, **fast_params)
        assert torch.get_num_threads() == 1
    assert seen == [1, 1]
    assert torch.get_num_threads() == 2


def test_callers_count_is_the_ceiling(X, fast_params, monkeypatch):
    """The suite's single thread holds even for a network that could use more."""
    monkeypatch.delenv(ENVIRONMENT_VARIABLE, raising=False)
    assert torch.get_num_threads() == 1
    fast_params.update(LARGE)
    _, seen = fit_threads(X, **fast_params)
    assert seen == [1, 1]


def test_environment_variable_fixes_the_count(X, fast_params, monkeypatch):
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "2")
    before = torch.get_num_threads()
    fitted, seen = fit_threads(X, **fast_params)
    assert seen == [2, 2]  # above the caller's count and the work's: it is fixed
    assert torch.get_num_threads() == before
    fitted.transform(X)
    assert torch.get_num_threads() == before


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5"])
def test_environment_variable_checked(X, fast_params, monkeypatch, value):
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, value)
    with pytest.raises(ValueError, match=ENVIRONMENT_VARIABLE):
        AdversarialAutoencoder(**fast_params).fit(X)


@pytest.mark.parametrize("value", ["", "auto"])
def test_environment_variable_auto(X, fast_params, monkeypatch, value):
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, value)
    _, seen = fit_threads(X, **fast_params)
    assert seen == [1, 1]


def test_policy_fits_as_a_fixed_count(two_threads, X, fast_params, monkeypatch):
    """Under the policy (2 threads asked, 1 chosen) a fit is the one-thread fit, bit for bit."""
    chosen, seen = fit_threads(X, **fast_params)
    assert seen == [1, 1]
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "1")
    fixed, _ = fit_threads(X, **fast_params)
    np.testing.assert_array_equal(chosen.transform(X), fixed.transform(X))
    for mine, theirs in zip(chosen.model_.parameters(), fixed.model_.parameters(), strict=True):
        torch.testing.assert_close(mine, theirs, rtol=0, atol=0)


def test_classifier_follows_the_policy(two_threads, fast_params):
    rng = np.random.RandomState(0)
    X = rng.uniform(size=(200, 10))
    y = np.where(rng.uniform(size=200) < 0.2, rng.randint(0, 3, 200), -1)
    fitted, seen = fit_threads(X, y, estimator=AAEClassifier, **fast_params)
    assert seen == [1, 1]
    fitted.predict(X)
    assert torch.get_num_threads() == 2


def _fit_in_worker(X, params):
    """The threads a fit used and torch's count, inside a joblib worker."""
    _, seen = fit_threads(X, **params)
    return seen, torch.get_num_threads()


@pytest.mark.slow  # starts two worker processes
def test_joblib_process_workers_share_the_cores(X, fast_params):
    """loky gives each of n_jobs workers its share of the cores (OMP_NUM_THREADS); fits keep it."""
    fast_params.update(LARGE)
    results = Parallel(n_jobs=2, backend="loky")(
        delayed(_fit_in_worker)(X, fast_params) for _ in range(2)
    )
    for seen, count in results:
        assert count == max(1, _threads._cpu_count() // 2)
        assert set(seen) == {count}


def test_choose_threads_by_work_and_load(monkeypatch):
    monkeypatch.delenv(ENVIRONMENT_VARIABLE, raising=False)
    monkeypatch.setattr(_threads, "_cpu_count", lambda: 4)
    monkeypatch.setattr(_threads, "busy_cores", lambda: 0.0)
    assert choose_threads(WORK_PER_THREAD // 2, available=4) == 1
    assert choose_threads(2 * WORK_PER_THREAD, available=4) == 2
    assert choose_threads(100 * WORK_PER_THREAD, available=4) == 4
    assert choose_threads(100 * WORK_PER_THREAD, available=3) == 3
    monkeypatch.setattr(_threads, "busy_cores", lambda: 1.0)  # a CPU-bound process elsewhere
    assert choose_threads(100 * WORK_PER_THREAD, available=4) == 3
    monkeypatch.setattr(_threads, "busy_cores", lambda: 7.2)  # more demand than cores
    assert choose_threads(100 * WORK_PER_THREAD, available=4) == 1
    monkeypatch.setattr(_threads, "busy_cores", lambda: None)  # no /proc: no load cap
    assert choose_threads(100 * WORK_PER_THREAD, available=4) == 4


def test_busy_cores_reads_the_run_queue():
    busy = _threads.busy_cores(max_age=0)
    if busy is None:
        pytest.skip("no /proc/loadavg")
    assert busy >= 0
    assert _threads.busy_cores(max_age=60) == busy  # reused

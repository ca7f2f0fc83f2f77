"""Model selection through joblib's distributed backends (dask.distributed).

GridSearchCV with n_jobs=-1 fans its fits out through joblib; under
``joblib.parallel_config("dask")`` they run on the workers of a dask cluster
instead of local loky processes. Here the cluster is a LocalCluster of two
worker processes on the loopback interface; a multi-machine cluster only
differs in the address given to ``Client``.
"""

import joblib
import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV

from skaae import AdversarialAutoencoder

distributed = pytest.importorskip("distributed")

PARAMS = {
    "hidden_layer_sizes": (16,),
    "discriminator_layer_sizes": (16,),
    "batch_size": 64,
    "device": "cpu",
    "random_state": 0,
}
GRID = {"n_components": [2, 4], "max_iter": [1, 2]}


@pytest.fixture(scope="module")
def dask_client():
    # Loopback only (the scheduler's small health-check HTTP server too, on
    # 127.0.0.1:8787 or a free port), no dashboard. The nanny starts each worker
    # process with OMP/MKL/OpenBLAS_NUM_THREADS=1 (dask's config
    # distributed.nanny.pre-spawn-environ), so torch in a worker uses one
    # thread, like a loky worker here.
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


X = load_digits().data[:300] / 16.0


def _search(backend):
    search = GridSearchCV(AdversarialAutoencoder(**PARAMS), GRID, cv=2, n_jobs=-1)
    with joblib.parallel_config(backend):
        search.fit(X)
    return search


def test_grid_search_on_dask_cluster_matches_loky(dask_client):
    with distributed.get_task_stream(dask_client) as tasks:
        dask_search = _search("dask")
    # The fits really ran on the cluster, on both workers.
    assert len(tasks.data) > 0
    assert len({task["worker"] for task in tasks.data}) == 2
    loky_search = _search("loky")

    assert dask_search.best_params_ == loky_search.best_params_
    # CPU, int random_state, one thread per worker: bit-identical scores.
    for key in ("mean_test_score", "split0_test_score", "split1_test_score"):
        np.testing.assert_array_equal(dask_search.cv_results_[key], loky_search.cv_results_[key])
    np.testing.assert_array_equal(
        dask_search.best_estimator_.transform(X), loky_search.best_estimator_.transform(X)
    )

"""Peak memory of fitting data larger than memory, measured in fresh processes.

Run from the repository root::

    python benchmarks/out_of_core.py                    # 2,000,000 x 784 memmap (6 GB on disk)
    python benchmarks/out_of_core.py --n-rows 400000    # a quicker, smaller run

It writes ``benchmarks/results/out_of_core.json`` and ``out_of_core.md`` (or
into ``--output-dir``) and prints the table. Each fit runs in its own Python
process, which reports its peak resident set size (``VmHWM`` of
``/proc/self/status``: anonymous memory and mapped file pages) after the
imports and after the fit. The cases:

- ``AdversarialAutoencoder(max_iter=1, random_state=0)`` on a float32
  ``numpy.memmap`` of ``--n-rows`` x 784 (default 2,000,000; MNIST training
  images scaled to [0, 1], tiled with small noise, rows in random order),
  written to a temporary directory (``--tmp-dir``) and deleted afterwards.
  Bar: peak RSS <= 1.5 GB (set for 2,000,000 rows). The file was just
  written, so it is read from the page cache; on a cold cache the fit reads
  it from disk and can take longer;
- the default 2-D model of issue 19,
  ``AdversarialAutoencoder(hidden_layer_sizes=(64,), max_iter=1, batch_size=1000,
  random_state=0)`` (``n_components=2``, so ``neighbor_weight="auto"`` turns the
  neighbourhood term on: each window of the memmap is searched for neighbours),
  on the first 400,000 rows of the same file (1.25 GB), whatever ``--n-rows``
  is. Bar: peak RSS <= 1 GB (it was 2.3 GB while the search of a window held
  about the memory of its whole distance matrix). Next to it, for comparison,
  the same fit with ``neighbor_weight=0`` (reported);
- the default estimator on the 60,000 MNIST training images in memory
  (float32), for comparison (bar of the in-memory case: <= 1 GB);
- the default estimator on a sparse CSR matrix of 100,000 x 5,000 with 0.1 %
  non zeros (2 GB as a dense float32 array), which must never be densified
  whole.

``--n-rows`` sets the rows of the first case only (the file holds at least
400,000 rows, for the second); a smaller file is quicker to write and to fit,
but the first case's bar was set for 2,000,000 rows.

Linux only (``/proc/self/status``).
"""

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results"
REPOSITORY = Path(__file__).resolve().parents[1]
DEFAULT_MNIST = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "mnist.npz"
N_FEATURES = 784
# The default 2-D model of issue 19 (its neighbourhood term on) and its rows.
ISSUE_ROWS = 400_000
ISSUE_PARAMS = {"hidden_layer_sizes": (64,), "batch_size": 1000}
SPARSE_SHAPE, SPARSE_DENSITY = (100_000, 5_000), 1e-3


def peak_rss_mb():
    """Peak resident set size of this process so far (VmHWM), in MB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status (this benchmark needs Linux)")


# ------------------------------------------------------------------ the data
def write_memmap(path, n_rows, mnist_path, seed=0):
    """Write ``n_rows`` x 784 float32 values in [0, 1] to ``path``, 60,000 rows at a time.

    Plain file writes, so that this process does not map the file either.
    """
    images = np.load(mnist_path)["X_train"].astype(np.float32) / 255.0
    rng = np.random.default_rng(seed)
    with open(path, "wb") as file:
        for start in range(0, n_rows, len(images)):
            n = min(len(images), n_rows - start)
            chunk = images[rng.permutation(len(images))[:n]]
            chunk += rng.normal(0.0, 0.02, size=chunk.shape).astype(np.float32)
            np.clip(chunk, 0.0, 1.0, out=chunk)
            file.write(chunk.tobytes())


def load_case(case, path, n_rows, mnist_path):
    """The training data of one case, as the fitting process sees it."""
    if case.startswith("memmap"):
        # The first n_rows rows of the file (it may hold more).
        return np.memmap(path, dtype=np.float32, mode="r", shape=(n_rows, N_FEATURES))
    if case == "mnist":
        return np.load(mnist_path)["X_train"].astype(np.float32) / 255.0
    import scipy.sparse as sp

    # Not sp.random: it draws the positions from all n_rows * n_features cells at once.
    rng = np.random.default_rng(0)
    nnz = round(SPARSE_DENSITY * SPARSE_SHAPE[0] * SPARSE_SHAPE[1])
    rows, columns = (rng.integers(0, size, nnz) for size in SPARSE_SHAPE)
    values = rng.random(nnz, dtype=np.float32)
    return sp.coo_matrix((values, (rows, columns)), shape=SPARSE_SHAPE).tocsr()


# ------------------------------------------------------------ in the worker
def estimator_params(case):
    """The parameters of the case's ``AdversarialAutoencoder`` besides ``max_iter=1``."""
    if case == "memmap-2d":
        return dict(ISSUE_PARAMS)
    if case == "memmap-2d-no-term":
        return {**ISSUE_PARAMS, "neighbor_weight": 0}
    return {}


def worker(case, path, n_rows, mnist_path):
    """Fit one case in this (fresh) process and print its measurements as JSON."""
    from skaae import AdversarialAutoencoder

    X = load_case(case, path, n_rows, mnist_path)
    baseline = peak_rss_mb()
    aae = AdversarialAutoencoder(max_iter=1, random_state=0, **estimator_params(case))
    start = time.perf_counter()
    aae.fit(X)
    fit_time = time.perf_counter() - start
    result = {
        "baseline_mb": baseline,
        "peak_mb": peak_rss_mb(),
        "fit_s": fit_time,
        "samples_per_s": X.shape[0] / fit_time,
        "n_samples": X.shape[0],
        "reconstruction_loss": aae.history_[-1]["reconstruction_loss"],
        "neighbourhood_term": "neighbor_loss" in aae.history_[-1],
        "threads": __import__("torch").get_num_threads(),
        "load_average": os.getloadavg()[0],  # of the last minute, at the end of the fit
    }
    print(json.dumps(result))


def run_worker(case, path, n_rows, mnist_path):
    command = [sys.executable, __file__, "--worker", case, "--n-rows", str(n_rows)]
    command += ["--path", str(path), "--mnist-path", str(mnist_path)]
    # The workers measure the skaae of this checkout, whatever is installed.
    path_entries = [str(REPOSITORY), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, path_entries))}
    output = subprocess.run(command, check=True, capture_output=True, text=True, env=env)
    output = output.stdout
    return json.loads(output.strip().splitlines()[-1])


# ------------------------------------------------------------------ the table
def rows_of(label, result, bar):
    return [
        {
            "data": label,
            "measure": "peak RSS of the fitting process (MB)",
            "skaae": result["peak_mb"],
            "reference": result["baseline_mb"],
            "reference_name": "after imports and loading",
            "bar": bar,
        },
        {
            "data": label,
            "measure": "fit time, 1 epoch (s)",
            "skaae": result["fit_s"],
            "reference": result["load_average"],
            "reference_name": "load average at the end",
        },
        {"data": label, "measure": "samples / s", "skaae": result["samples_per_s"]},
    ]


def markdown(rows, environment):
    lines = [
        f"Measured {environment['date']} on {environment['machine']} "
        f"({environment['threads']} threads, {environment['memory_gb']:.0f} GB RAM), "
        f"skaae {environment['skaae']}, torch {environment['torch']}, "
        f"scikit-learn {environment['sklearn']}. Peak RSS is VmHWM of a fresh process; "
        "timings taken while other work runs (load average above the threads) are unreliable.",
        "",
        "| data | measure | skaae | reference | bar |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        reference = ""
        if "reference" in row:
            digits = 1 if row["reference"] < 100 else 0
            reference = f"{row['reference']:.{digits}f} ({row['reference_name']})"
        cells = [row["data"], row["measure"], f"{row['skaae']:.1f}", reference]
        lines.append("| " + " | ".join([*cells, row.get("bar", "(reported)")]) + " |")
    return "\n".join(lines) + "\n"


def environment():
    import sklearn
    import torch

    sys.path.insert(0, str(REPOSITORY))
    from _common import cpu_model  # (after the path: it imports this checkout's skaae)

    import skaae

    return {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()} {cpu_model()}",
        "threads": torch.get_num_threads(),
        "memory_gb": os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9,
        "skaae": skaae.__version__,
        "torch": torch.__version__,
        "sklearn": sklearn.__version__,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--n-rows",
        type=int,
        default=2_000_000,
        help="rows of the first memmap case (the 2-D model's case has 400,000 whatever this is)",
    )
    parser.add_argument(
        "--mnist-path",
        default=os.environ.get("SKAAE_MNIST", str(DEFAULT_MNIST)),
        help="path of mnist.npz (default: $SKAAE_MNIST or ../shared/data/mnist.npz)",
    )
    parser.add_argument("--tmp-dir", default=None, help="where to write the memmap file")
    parser.add_argument("--output-dir", default=str(RESULTS))
    parser.add_argument(
        "--worker",
        choices=["memmap", "memmap-2d", "memmap-2d-no-term", "mnist", "sparse"],
        help=argparse.SUPPRESS,
    )
    parser.add_argument("--path", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.path, args.n_rows, args.mnist_path)
        return

    directory = tempfile.mkdtemp(prefix="skaae-out-of-core-", dir=args.tmp_dir)
    path = Path(directory) / "X.f32"
    file_rows = max(args.n_rows, ISSUE_ROWS)

    def gigabytes(n_rows):
        return n_rows * N_FEATURES * 4 / 1e9

    try:
        start = time.perf_counter()
        write_memmap(path, file_rows, args.mnist_path)
        print(
            f"wrote {path} ({gigabytes(file_rows):.2f} GB) in {time.perf_counter() - start:.0f} s"
        )
        memmap = run_worker("memmap", path, args.n_rows, args.mnist_path)
        issue = run_worker("memmap-2d", path, ISSUE_ROWS, args.mnist_path)
        no_term = run_worker("memmap-2d-no-term", path, ISSUE_ROWS, args.mnist_path)
    finally:
        shutil.rmtree(directory)
    if not issue["neighbourhood_term"] or no_term["neighbourhood_term"]:
        raise RuntimeError("the 2-D model's case must fit with the neighbourhood term, and only it")
    mnist = run_worker("mnist", None, args.n_rows, args.mnist_path)
    sparse = run_worker("sparse", None, args.n_rows, args.mnist_path)
    dense_gb = SPARSE_SHAPE[0] * SPARSE_SHAPE[1] * 4 / 1e9
    issue_data = (
        f"float32 memmap {ISSUE_ROWS:,} x 784 ({gigabytes(ISSUE_ROWS):.2f} GB), the 2-D model of "
        "issue 19 (hidden_layer_sizes=(64,), batch_size=1000)"
    )
    rows = [
        *rows_of(
            f"float32 memmap {args.n_rows:,} x 784 ({gigabytes(args.n_rows):.1f} GB)",
            memmap,
            "<= 1500",
        ),
        *rows_of(f"{issue_data}, neighbourhood term on", issue, "<= 1000"),
        *rows_of(f"{issue_data} with neighbor_weight=0 (term off)", no_term, "(reported)"),
        *rows_of("MNIST 60,000 x 784 float32, in memory", mnist, "<= 1000"),
        *rows_of(
            f"sparse CSR {SPARSE_SHAPE[0]:,} x {SPARSE_SHAPE[1]:,}, {SPARSE_DENSITY:.1%} "
            f"non-zero ({dense_gb:.1f} GB dense)",
            sparse,
            "(reported)",
        ),
    ]
    env = environment()
    table = markdown(rows, env)
    print(table)
    output = Path(args.output_dir)
    output.mkdir(parents=True, exist_ok=True)
    raw = {"memmap": memmap, "memmap-2d": issue, "memmap-2d-no-term": no_term}
    raw.update(mnist=mnist, sparse=sparse)
    results = {"environment": env, "rows": rows, "raw": raw}
    (output / "out_of_core.json").write_text(json.dumps(results, indent=2))
    (output / "out_of_core.md").write_text(table)


if __name__ == "__main__":
    main()

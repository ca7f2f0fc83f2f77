"""The thread policy (``skaae/_threads.py``) against 1 and all threads, quiet and loaded.

Run from the repository root::

    python benchmarks/threads.py                   # every case, 3 repeats (about 15 minutes)
    python benchmarks/threads.py --repeats 1 --skip-mnist   # a smoke run on digits and a table

Torch's intra-op threads meet at a barrier after every operation; when
another process holds a core, a thread waits there for one that is off its
core. The issue (20, item 5) saw two threads train an ``AAEClassifier`` epoch
in 58 s against 0.9 s with one on a busy 2-core machine. Each case is timed
with torch's thread count set to 1 (and ``SKAAE_NUM_THREADS=1``), to torch's
default (one per core, and ``SKAAE_NUM_THREADS`` set to it), and under the
policy (torch's default count, ``SKAAE_NUM_THREADS`` unset), on the machine
as it is ("no load added": quiet only if no other job runs) and while a
second process runs a CPU-bound loop (``python -c "while True: pass"``, started here and killed
after). The cases:

- digits (``load_digits``, scaled to [0, 1]): ``AdversarialAutoencoder(
  n_components=8, max_iter=20)``;
- an ``AAEClassifier`` epoch on MNIST 10k with 100 labels (digits with 100
  labels under ``--skip-mnist``);
- a table: 10,000 x 100 random numbers (60 Gaussian, 10 log-normal, 30 0/1
  columns), the default ``AdversarialAutoencoder``, 5 epochs;
- MNIST 10k x 784: the default ``AdversarialAutoencoder``, one epoch;
- ``transform`` of those 10,000 images (the inference path), 5 calls.

Each time is the median of ``--repeats`` runs taken in turns (1, default,
policy, 1, ...) after a warm-up fit; a mode over 3 times slower than one
thread at its first run is not run again (its "runs" in the JSON say so).
"threads" is what ``torch.get_num_threads()`` said inside the fit (a
callback at each epoch's end) or inside inference (forward hooks on the
encoder's linear layers). Every row records the 1-minute load average and
the other processes' runnable threads (``skaae._threads.busy_cores``) when
it started: the machine is shared, and other jobs count as load too. It
writes ``benchmarks/results/threads.json``
and ``threads.md`` and prints the table.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from _common import (
    RESULTS,
    cpu_model,
    environment_line,
    load_mnist,
    mnist_path_argument,
    partial_labels,
    write_results,
)
from sklearn.datasets import load_digits

from skaae import AAEClassifier, AdversarialAutoencoder
from skaae._threads import ENVIRONMENT_VARIABLE, busy_cores
from skaae.callbacks import Callback

# CPU flags that decide how fast the matrix products run.
RELEVANT_FLAGS = ("avx2", "avx512", "amx")
# A mode this many times slower than one thread at its first run runs once.
CLIFF = 3.0


class ThreadRecorder(Callback):
    """Records ``torch.get_num_threads()`` at each epoch's end."""

    def on_fit_begin(self, estimator):
        self.seen = []

    def on_epoch_end(self, estimator, record):
        self.seen.append(torch.get_num_threads())


def cpu_flags():
    """The CPU flags (``/proc/cpuinfo``) among :data:`RELEVANT_FLAGS`, space-separated."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                flags = line.split(":", 1)[1].split()
                return " ".join(f for f in flags if f.startswith(RELEVANT_FLAGS))
    except OSError:
        pass
    return "unknown"


def table_data(n_rows=10_000, seed=0):
    """A table of random numbers: 60 Gaussian, 10 log-normal and 30 0/1 columns."""
    rng = np.random.RandomState(seed)
    return np.hstack(
        [
            rng.randn(n_rows, 60) * rng.uniform(0.5, 5, 60) + rng.uniform(-3, 3, 60),
            rng.lognormal(0, 1, (n_rows, 10)),
            rng.randint(0, 2, (n_rows, 30)),
        ]
    ).astype(np.float32)


def fit_case(make, X, y=None):
    """A case that times ``make(callbacks).fit(X, y)``."""

    def run():
        recorder = ThreadRecorder()
        estimator = make([recorder])
        start = time.perf_counter()
        estimator.fit(X, y)
        return time.perf_counter() - start, sorted(set(recorder.seen))

    return run


def transform_case(estimator, X, calls=5):
    """A case that times ``calls`` calls of ``estimator.transform(X)``."""
    seen = []
    for module in estimator.encoder_.modules():
        if isinstance(module, torch.nn.Linear):
            module.register_forward_hook(lambda *_: seen.append(torch.get_num_threads()))

    def run():
        seen.clear()
        start = time.perf_counter()
        for _ in range(calls):
            estimator.transform(X)
        return time.perf_counter() - start, sorted(set(seen))

    return run


def cases(args):
    """``{name: run}``; ``run()`` returns seconds and the thread counts seen."""
    digits = (load_digits().data / 16.0).astype(np.float32)
    labels = partial_labels(load_digits().target, 10)
    found = {
        "digits, AAE 8-D, 20 epochs": fit_case(
            lambda cb: AdversarialAutoencoder(
                n_components=8, max_iter=20, random_state=0, callbacks=cb
            ),
            digits,
        ),
        "table 10,000 x 100, default AAE, 5 epochs": fit_case(
            lambda cb: AdversarialAutoencoder(max_iter=5, random_state=0, callbacks=cb),
            table_data(),
        ),
    }
    if args.skip_mnist:
        found["digits, AAEClassifier (100 labels), 1 epoch"] = fit_case(
            lambda cb: AAEClassifier(max_iter=1, random_state=0, callbacks=cb), digits, labels
        )
        return found
    X, y, _, _ = load_mnist(args.mnist_path, n_train=10_000)
    X = X.reshape(len(X), -1)
    found["MNIST 10k, AAEClassifier (100 labels), 1 epoch"] = fit_case(
        lambda cb: AAEClassifier(max_iter=1, random_state=0, callbacks=cb),
        X,
        partial_labels(y, 10),
    )
    found["MNIST 10k, default AAE, 1 epoch"] = fit_case(
        lambda cb: AdversarialAutoencoder(max_iter=1, random_state=0, callbacks=cb), X
    )
    fitted = AdversarialAutoencoder(max_iter=1, random_state=0).fit(X)
    found["MNIST 10k, transform x 5"] = transform_case(fitted, X)
    return found


def set_mode(threads, default):
    """Fix ``threads`` (torch and ``SKAAE_NUM_THREADS``), or None: the policy at ``default``."""
    if threads is None:
        os.environ.pop(ENVIRONMENT_VARIABLE, None)
        torch.set_num_threads(default)
    else:
        os.environ[ENVIRONMENT_VARIABLE] = str(threads)
        torch.set_num_threads(threads)


def measure(found, modes, default, repeats, load):
    """One row per case and mode: the median time of ``repeats`` runs in turns.

    A mode whose first run took over :data:`CLIFF` times the first one-thread
    run is not run again.
    """
    one = next(mode for mode, threads in modes.items() if threads == 1)
    rows = []
    for case, run in found.items():
        state = {"load_average": os.getloadavg()[0], "busy_cores": busy_cores(max_age=0)}
        times = {mode: [] for mode in modes}
        seen = {mode: set() for mode in modes}
        for repeat in range(repeats):
            for mode, threads in modes.items():
                if repeat and min(times[mode]) > CLIFF * min(times[one]):
                    continue  # once over the cliff, once is enough
                set_mode(threads, default)
                elapsed, threads_seen = run()
                times[mode].append(elapsed)
                seen[mode].update(threads_seen)
                print(f"  {load}: {case}: {mode} {elapsed:.2f} s {threads_seen}", flush=True)
        for mode in modes:
            rows.append(
                {
                    "case": case,
                    "load": load,
                    "mode": mode,
                    "seconds": statistics.median(times[mode]),
                    "runs": times[mode],
                    "threads": sorted(seen[mode]),
                    **state,
                    "load_average_after": os.getloadavg()[0],
                }
            )
    set_mode(None, default)
    return rows


def render(rows, env, run):
    """The environment line, the CPU (``run``: cpu, cpu_count, cpu_flags, command,
    repeats) and one table per load."""
    modes = list(dict.fromkeys(row["mode"] for row in rows))
    lines = [
        environment_line(env),
        "",
        f"CPU: {run['cpu']} ({run['cpu_count']} cores; flags {run['cpu_flags']}).",
        f"Command: `{run['command']}`. Times are medians of {run['repeats']} runs (s); "
        "'policy / best' is the policy's time over the faster of the fixed counts; "
        "'threads' is what torch used in the policy's runs. 'load' is the 1-minute load "
        "average and 'busy' the other processes' runnable threads when the case started.",
    ]
    for load in dict.fromkeys(row["load"] for row in rows):
        lines += [
            "",
            f"### {load}",
            "",
            "| case | " + " | ".join(modes) + " | policy threads | policy / best | load | busy |",
            "|---|" + "---|" * (len(modes) + 4),
        ]
        for case in dict.fromkeys(row["case"] for row in rows if row["load"] == load):
            by_mode = {r["mode"]: r for r in rows if r["load"] == load and r["case"] == case}
            policy = by_mode["policy"]
            best = min(r["seconds"] for mode, r in by_mode.items() if mode != "policy")
            busy = policy["busy_cores"]
            cells = [case, *(f"{by_mode[mode]['seconds']:.2f}" for mode in modes)]
            cells += [
                ",".join(map(str, policy["threads"])),
                f"{policy['seconds'] / best:.2f}",
                f"{policy['load_average']:.1f}",
                "n/a" if busy is None else f"{busy:.1f}",
            ]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mnist_path_argument(parser)
    parser.add_argument("--skip-mnist", action="store_true", help="digits and the table only")
    parser.add_argument("--repeats", type=int, default=3, help="runs per case and mode")
    parser.add_argument("--skip-loaded", action="store_true", help="no CPU-bound loop")
    parser.add_argument("--output-dir", default=str(RESULTS))
    args = parser.parse_args(argv)

    default = torch.get_num_threads()
    modes = {"1 thread": 1, f"{default} threads": default, "policy": None}
    found = cases(args)
    for threads in sorted({1, default}):  # warm-up: the first fit at a count is slower
        set_mode(threads, default)
        next(iter(found.values()))()
    rows = measure(found, modes, default, args.repeats, "no load added")
    if not args.skip_loaded:
        loop = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        try:
            time.sleep(1.0)
            rows += measure(found, modes, default, args.repeats, "beside a CPU-bound loop")
        finally:
            loop.kill()
            loop.wait()
    run = {
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpu_flags": cpu_flags(),
        "command": "python benchmarks/threads.py"
        + "".join(f" {a}" for a in (argv or sys.argv[1:])),
        "repeats": args.repeats,
    }
    write_results(
        "threads", rows, args.output_dir, render=lambda rows, env: render(rows, env, run), **run
    )


if __name__ == "__main__":
    main()

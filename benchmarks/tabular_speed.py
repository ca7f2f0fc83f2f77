"""How long a default fit on a real table takes, alone and beside a CPU-bound process.

Run from the repository root (no thread settings: the fit runs as a user's
would, with skaae's thread policy choosing the count)::

    python benchmarks/tabular_speed.py
    python benchmarks/tabular_speed.py --table credit_data --repeats 1

It fits ``AdversarialAutoencoder()`` at its defaults on the whole table
(``../shared/data/tabular/<table>.parquet``, default ``lending_club``:
9,857 x 23, mixed types) ``--repeats`` times, first with nothing added to
the machine's load, then while a second process runs ``while True: pass``,
and writes ``benchmarks/results/tabular_speed.{json,md}``: the median fit
time, the epochs run and the torch threads a callback saw during the fit.
The bar (issue 20): under a minute on a 2-core machine, in both cases.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import torch
from _common import RESULTS, cpu_model, environment_line, write_results

import skaae

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "tabular"
BAR_SECONDS = 60.0


class ThreadsSeen:
    """A callback that records torch's thread count at each epoch's end."""

    def __init__(self):
        self.counts = set()

    def on_epoch_end(self, estimator, record):
        self.counts.add(torch.get_num_threads())


def time_default_fit(table, repeats):
    """``(median seconds, epochs, threads seen)`` of default fits on ``table``."""
    seconds, seen = [], ThreadsSeen()
    for _ in range(repeats):
        model = skaae.AdversarialAutoencoder(random_state=0, callbacks=[seen])
        start = time.perf_counter()
        model.fit(table)
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds), model.n_iter_, sorted(seen.counts)


def render(rows, env):
    lines = [
        environment_line(env),
        "",
        f"CPU: {cpu_model()}, {os.cpu_count()} cores.",
        "",
        "| table | load added | default fit (s, median) | epochs | torch threads | "
        "load average before | bar |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['table']} | {row['load_added']} | {row['seconds']:.1f} | {row['epochs']} | "
            f"{', '.join(map(str, row['threads']))} | {row['load_before']:.1f} | "
            f"{'met' if row['seconds'] < BAR_SECONDS else 'missed'} (< {BAR_SECONDS:.0f} s) |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", default="lending_club", help="table name (default: %(default)s)")
    parser.add_argument("--data-dir", default=str(DATA), help="where the tables are")
    parser.add_argument("--repeats", type=int, default=3, help="fits per case (default: 3)")
    parser.add_argument("--output-dir", default=str(RESULTS), help="where to write the results")
    args = parser.parse_args(argv)
    path = Path(args.data_dir) / f"{args.table}.parquet"
    if not path.exists():
        sys.exit(f"{path} not found; pass --data-dir")
    table = pd.read_parquet(path)
    rows = []
    for load_added in ("none", "a CPU-bound process"):
        loop = None
        if load_added != "none":
            loop = subprocess.Popen([sys.executable, "-c", "while True: pass"])
            time.sleep(1.0)
        try:
            load_before = os.getloadavg()[0]
            seconds, epochs, threads = time_default_fit(table, args.repeats)
        finally:
            if loop is not None:
                loop.kill()
                loop.wait()
        rows.append(
            {
                "table": args.table,
                "load_added": load_added,
                "seconds": seconds,
                "epochs": epochs,
                "threads": threads,
                "load_before": load_before,
                "cpu": cpu_model(),
            }
        )
        print(rows[-1], flush=True)
    write_results("tabular_speed", rows, args.output_dir, render=render)


if __name__ == "__main__":
    main()

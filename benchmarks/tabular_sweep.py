"""The Quality of an AdversarialAutoencoder's synthetic rows for settings given on the command line.

The quick probe behind the table defaults (``doc/notes/parameter_measurements.md``):
one fit per setting and table, scored as in ``benchmarks/tabular.py`` (its
split, metadata and SDMetrics QualityReport), without the peers, efficacy or
privacy. Run from the repository root in the ``bench`` environment::

    OMP_NUM_THREADS=1 python benchmarks/tabular_sweep.py \\
        --datasets wa_churn credit_data \\
        --settings '{"n_components": 8}' '{"n_components": 8, "adversarial_weight": 0.01}'

It prints one JSON line per fit: table, setting, seed, Quality, Column Shapes,
Column Pair Trends, fit seconds and epochs.
"""

import argparse
import json
import time
from pathlib import Path

import torch
from tabular import (
    LABELS,
    add_data_dir_argument,
    categorical_columns,
    conform,
    load_table,
    metadata,
    plain,
    quality,
)
from threadpoolctl import threadpool_limits

import skaae


def probe(name, setting, seed, data_dir):
    """One fit of ``AdversarialAutoencoder(**setting)`` on table ``name``: its scores."""
    train, _ = load_table(data_dir / f"{name}.parquet", LABELS[name])
    start = time.perf_counter()
    model = skaae.AdversarialAutoencoder(random_state=seed, **setting).fit(train)
    seconds = time.perf_counter() - start
    rows = conform(model.sample(len(train), random_state=0), train)
    categorical = categorical_columns(train)
    scores = quality(plain(train, categorical), plain(rows, categorical), metadata(train))
    return {
        "table": name,
        "setting": setting,
        "seed": seed,
        **{key: round(value, 4) for key, value in scores.items()},
        "fit_seconds": round(seconds, 1),
        "epochs": model.n_iter_,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=sorted(LABELS), help="tables to fit")
    parser.add_argument("--settings", nargs="+", default=["{}"], help="JSON dicts of parameters")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0], help="random_state values")
    add_data_dir_argument(parser)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    threadpool_limits(1)
    for name in args.datasets:
        for setting in args.settings:
            for seed in args.seeds:
                print(json.dumps(probe(name, json.loads(setting), seed, Path(args.data_dir))))


if __name__ == "__main__":
    main()

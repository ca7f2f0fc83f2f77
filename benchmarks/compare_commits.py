"""Training throughput of two installs of skaae, measured in alternating runs.

A refactor must not slow training down. This runner takes two Python
interpreters, each from a virtual environment with one commit of skaae
installed, and times the same fit in a fresh process of each, alternating
between them (``A B A B ...``) so that both see the same drift of the
machine's load. Each run fits ``AdversarialAutoencoder`` with the paper's
networks (two hidden layers of 1,000, a discriminator of 1,000 x 1,000, 2-D
codes, ``neighbor_weight=0``: the paper's model) on the first 10,000 MNIST
training images for a few epochs with ``OMP_NUM_THREADS=1``, and reports
samples per second over the epochs after the first (the first warms caches
and allocators). The table gives each install's median, the runs, and the
ratio of the medians.

    python benchmarks/compare_commits.py --a /work/venv-pre/bin/python \\
        --b /work/venv-post/bin/python --runs 5

Results go to ``benchmarks/results/compare_commits.md`` (and ``.json``).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import DEFAULT_MNIST, RESULTS, cpu_model

# The child's program: one fit, its samples/s printed as JSON on the last line.
CHILD = """
import json, sys, time
import numpy as np
import skaae
path, (n_train, epochs, batch_size) = sys.argv[1], map(int, sys.argv[2:5])
with np.load(path) as data:
    X = data["X_train"][:n_train].astype(np.float32) / 255.0
aae = skaae.AdversarialAutoencoder(
    n_components=2, hidden_layer_sizes=(1000, 1000), discriminator_layer_sizes=(1000, 1000),
    activation="relu", neighbor_weight=0, batch_size=batch_size, max_iter=epochs,
    random_state=0, device="cpu",
).fit(X)
seconds = sum(record["time"] for record in aae.history_[1:])
print(json.dumps({"samples_per_second": n_train * (epochs - 1) / seconds,
                  "skaae": skaae.__file__, "version": skaae.__version__}))
"""


def run_once(python, args):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    command = [python, "-c", CHILD, args.mnist_path, str(args.n_train), str(args.epochs),
               str(args.batch_size)]  # fmt: skip
    # From a neutral directory: `python -c` puts the working directory first on
    # sys.path, which from a checkout would import its skaae instead of the install's.
    output = subprocess.run(
        command, env=env, capture_output=True, text=True, check=True, cwd=tempfile.gettempdir()
    )
    return json.loads(output.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--a", required=True, help="python of the first install (before)")
    parser.add_argument("--b", required=True, help="python of the second install (after)")
    parser.add_argument("--label-a", default="before")
    parser.add_argument("--label-b", default="after")
    parser.add_argument("--runs", type=int, default=5, help="runs of each install")
    parser.add_argument(
        "--epochs", type=int, default=4, help="epochs per run (the first is warm-up)"
    )
    parser.add_argument("--n-train", type=int, default=10000)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--mnist-path", default=os.environ.get("SKAAE_MNIST", str(DEFAULT_MNIST)))
    parser.add_argument("--output-dir", default=str(RESULTS))
    args = parser.parse_args(argv)
    start_load = os.getloadavg()[0]
    runs = {args.label_a: [], args.label_b: []}
    installs = {}
    for index in range(args.runs):
        for label, python in ((args.label_a, args.a), (args.label_b, args.b)):
            result = run_once(python, args)
            runs[label].append(result["samples_per_second"])
            installs[label] = result["skaae"]
            print(f"run {index + 1} {label}: {result['samples_per_second']:.0f} samples/s",
                  flush=True)  # fmt: skip
    medians = {label: statistics.median(values) for label, values in runs.items()}
    ratio = medians[args.label_b] / medians[args.label_a]
    lines = [
        f"Measured {time.strftime('%Y-%m-%d %H:%M')} on {cpu_model()} ({os.cpu_count()} CPUs), "
        f"OMP_NUM_THREADS=1, load average {start_load:.1f} at the start and "
        f"{os.getloadavg()[0]:.1f} at the end. Command: `python benchmarks/compare_commits.py "
        f"{' '.join(sys.argv[1:] if argv is None else argv)}`.",
        "",
        f"AdversarialAutoencoder, paper networks, MNIST {args.n_train:,}, batch "
        f"{args.batch_size}, {args.epochs} epochs per run (samples/s over epochs 2-"
        f"{args.epochs}), runs alternating between the installs.",
        "",
        "| install | skaae imported from | median samples/s | runs |",
        "|---|---|---|---|",
    ]
    for label, values in runs.items():
        shown = ", ".join(f"{value:.0f}" for value in values)
        lines.append(f"| {label} | `{installs[label]}` | {medians[label]:.0f} | {shown} |")
    lines += ["", f"Ratio of the medians, {args.label_b} / {args.label_a}: **{ratio:.3f}**", ""]
    output = Path(args.output_dir)
    output.mkdir(parents=True, exist_ok=True)
    (output / "compare_commits.md").write_text("\n".join(lines))
    (output / "compare_commits.json").write_text(
        json.dumps(
            {"runs": runs, "medians": medians, "ratio": ratio, "installs": installs}, indent=1
        )
    )
    print("\n".join(lines))


if __name__ == "__main__":
    main()

"""Helpers shared by the benchmark runners: data, environment record, tables."""

import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import sklearn
import torch
from sklearn.neighbors import KNeighborsClassifier

import skaae
from skaae.augmentation import RandomShift

RESULTS = Path(__file__).parent / "results"
DEFAULT_MNIST = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "mnist.npz"
# What the suites' augmented models are told about MNIST: a digit moved by up to 2 pixels.
MNIST_SHIFTS = RandomShift(image_shape=(28, 28), max_shift=2)


def mnist_path_argument(parser):
    """Add the ``--mnist-path`` option (default: $SKAAE_MNIST or ../shared/data/mnist.npz)."""
    parser.add_argument(
        "--mnist-path",
        default=os.environ.get("SKAAE_MNIST", str(DEFAULT_MNIST)),
        help="path of mnist.npz (default: $SKAAE_MNIST or ../shared/data/mnist.npz)",
    )


def load_mnist(path, n_train=60000):
    """``X_train, y_train, X_test, y_test``: the first ``n_train`` images, scaled to [0, 1]."""
    if not Path(path).exists():
        sys.exit(f"MNIST not found at {path}; pass --mnist-path, set SKAAE_MNIST or --skip-mnist.")
    with np.load(path) as data:
        X_train = data["X_train"][:n_train].astype(np.float32) / 255.0
        y_train = data["y_train"][:n_train]
        X_test = data["X_test"].astype(np.float32) / 255.0
        y_test = data["y_test"]
    return X_train, y_train, X_test, y_test


def knn_accuracy(Z_train, y_train, Z_test, y_test):
    """Test accuracy of a 5-nearest-neighbour classifier fitted on the training codes."""
    return float(KNeighborsClassifier(5).fit(Z_train, y_train).score(Z_test, y_test))


def cpu_model():
    """The CPU's model name (Linux's /proc/cpuinfo), else what platform knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment(versions=None):
    """Date, machine, threads, load and versions, recorded with every table.

    ``versions`` (a dict, e.g. ``{"umap-learn": "0.5.12"}``) adds the versions
    of other packages a runner measured.
    """
    return {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()} {platform.processor() or platform.system()}",
        "threads": torch.get_num_threads(),
        "load_average": os.getloadavg()[0],
        "skaae": skaae.__version__,
        "torch": torch.__version__,
        "sklearn": sklearn.__version__,
        **(versions or {}),
    }


# The keys every environment record has; others are versions added by a runner.
_ENVIRONMENT_KEYS = ("date", "machine", "threads", "load_average", "skaae", "torch", "sklearn")


def environment_line(env):
    """One sentence: when, where, threads, load and versions."""
    others = "".join(f", {name} {env[name]}" for name in env if name not in _ENVIRONMENT_KEYS)
    return (
        f"Measured {env['date']} on {env['machine']} ({env['threads']} threads, load average "
        f"{env.get('load_average', float('nan')):.1f} at the end), skaae {env['skaae']}, "
        f"torch {env['torch']}, scikit-learn {env['sklearn']}{others}."
    )


def results_header(title, env, command):
    """The first lines of a results file: its title, where and how it ran, its command."""
    return [
        f"# {title}",
        "",
        environment_line(env) + f" CPU: {cpu_model()}.",
        "",
        f"Command: `{command}`",
        "",
    ]


def markdown(rows, env):
    """The rows as a Markdown table, headed by the environment."""
    return environment_line(env) + "\n\n" + bar_table(rows)


def bar_table(rows):
    """Rows of ``data, measure, skaae, reference, bar`` as a Markdown table."""
    lines = [
        "| data | measure | skaae | reference | bar |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        reference = (
            f"{row['reference']:.3f} ({row['reference_name']})" if "reference" in row else ""
        )
        value = row["skaae"]
        value = value if isinstance(value, str) else f"{value:.3f}"
        cells = [row["data"], row["measure"], value, reference, row["bar"]]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def partial_labels(y, per_class, seed=0):
    """``y`` with ``per_class`` labels of each class kept (drawn with ``seed``), the rest -1."""
    rng = np.random.RandomState(seed)
    kept = np.concatenate(
        [rng.choice(np.flatnonzero(y == k), per_class, replace=False) for k in np.unique(y)]
    )
    partial = np.full_like(y, -1)
    partial[kept] = y[kept]
    return partial


def write_results(name, rows, output_dir, *, render=markdown, versions=None, **extra):
    """Print the table and write ``<name>.json`` and ``<name>.md`` to ``output_dir``.

    ``render(rows, env)`` makes the Markdown text (default: :func:`markdown`);
    ``versions`` goes to :func:`environment`; ``extra`` keys go to the JSON.
    """
    env = environment(versions)
    table = render(rows, env)
    print(table)
    output = Path(output_dir)
    output.mkdir(parents=True, exist_ok=True)
    record = {"environment": env, "rows": rows, **extra}
    (output / f"{name}.json").write_text(json.dumps(record, indent=2))
    (output / f"{name}.md").write_text(table)

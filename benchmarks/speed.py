"""How fast skaae trains and infers, next to a plain loop and to this machine's matmul peak.

Run from the repository root (a few minutes on 2 cores)::

    python benchmarks/speed.py

It writes ``benchmarks/results/speed.json`` and ``benchmarks/results/speed.md``
and prints the table. Everything uses the paper's MNIST networks (encoder
784-1000-1000-2, decoder 2-1000-1000-784, discriminator 2-1000-1000-1, ReLU)
unless said. Measured, each a median of ``--repeats`` runs after a warm-up:

- dense matmul throughput (GFLOP/s) in float32 and bfloat16, at the training
  step's shapes (batch x 1000 x 1000) and at 2048^3 (the roofline peak);
- training throughput (samples/s) at batch 100 and 1000 of the plain loop in
  ``reference_aae.py`` (DataLoader, three phases with their own forward
  passes, four Adam optimisers, float32) and of ``AdversarialAutoencoder``
  with the paper's three phases (``neighbor_weight=0``; the trainer's epoch
  time from ``history_``, one warm-start epoch at a time) in float32 and
  bfloat16, measured in turns so that both see the same
  machine; roofline efficiency = step FLOPs (counted from the layer sizes by
  ``reference_aae.step_flops``) per second / the 2048^3 throughput of the
  same dtype, probed right before each timed run (a shared machine's
  throughput drifts within a minute), median over the runs;
- the ceiling of the float32 roofline at each batch size: every matrix
  product of a skaae step (``reference_aae.phase_matmuls``) timed alone at
  its shape, with warm caches and nothing else to do; their sum is the step
  time no implementation of this work can beat with these matmuls, the
  step's FLOPs over it the highest GFLOP/s it can reach;
- the same with 1 and 2 torch threads (the thread policy);
- ``transform`` of the 10,000 test images and ``inverse_transform`` of their
  codes;
- peak RSS (VmHWM) of a fresh process fitting all 60,000 training images for
  one epoch, with the default networks and with the paper's;
- bfloat16 vs float32 quality: MNIST (first 10,000 training images, paper
  networks, batch 100, ``--quality-epochs`` epochs; 5-NN accuracy and prior
  match of the 10,000 test codes, reconstruction score) and digits (the
  defaults of ``core.py``: 2-D mixture codes, 5-NN and prior match).

The machine is shared: the load average (1 minute) is recorded at the start
and end of every section, and timings taken at a load above the core count
are unreliable.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import sklearn
import torch

# The skaae of this checkout, not whichever one is installed (e.g. editable elsewhere).
sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).parent)]
from _common import DEFAULT_MNIST, RESULTS, knn_accuracy  # noqa: E402
from core import prior_distances  # noqa: E402
from reference_aae import ReferenceAAE, phase_flops, phase_matmuls, step_flops  # noqa: E402

import skaae  # noqa: E402
from skaae import AdversarialAutoencoder  # noqa: E402
from skaae.training import has_native_bfloat16  # noqa: E402

PAPER = dict(
    hidden_layer_sizes=(1000, 1000),
    discriminator_layer_sizes=(1000, 1000),
    activation="relu",
    device="cpu",
    random_state=0,
)
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


def load_mnist(path):
    if not Path(path).exists():
        sys.exit(f"MNIST not found at {path}; pass --mnist-path or set SKAAE_MNIST.")
    with np.load(path) as data:
        arrays = [data[key] for key in ("X_train", "y_train", "X_test", "y_test")]
    for i in (0, 2):  # scaled in place: no second float copy at load time
        arrays[i] = arrays[i].astype(np.float32)
        arrays[i] /= 255.0
    return arrays


def load():
    return os.getloadavg()[0]


def median_time(function, repeats, warmup=1):
    for _ in range(warmup):
        function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


# ------------------------------------------------------------------ matmul
MATMUL_SHAPES = [(100, 1000, 1000), (1000, 1000, 1000), (2048, 2048, 2048)]
PEAK_SHAPE = (2048, 2048, 2048)


def matmul_gflops(shape, dtype, repeats, seconds_per_timing=0.1):
    """Median GFLOP/s of ``torch.mm`` at ``shape`` (m, k, n) in ``dtype``."""
    m, k, n = shape
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(m, k, generator=generator).to(dtype)
    b = torch.randn(k, n, generator=generator).to(dtype)
    flops = 2 * m * k * n
    for _ in range(3):
        torch.mm(a, b)
    start = time.perf_counter()
    torch.mm(a, b)
    # About seconds_per_timing per timing, however fast this shape runs.
    inner = max(1, round(seconds_per_timing / (time.perf_counter() - start)))

    def run():
        for _ in range(inner):
            torch.mm(a, b)

    return flops / (median_time(run, repeats, warmup=2) / inner) / 1e9


def matmul_rows(repeats, precisions):
    return [
        {
            "dtype": name,
            "shape": "x".join(map(str, shape)),
            "gflops": matmul_gflops(shape, DTYPES[name], repeats),
        }
        for name in precisions
        for shape in MATMUL_SHAPES
    ]


def peak(matmul, dtype, shape="2048x2048x2048"):
    """The matmul throughput of ``dtype`` at ``shape`` (2048^3: the roofline's ceiling)."""
    return next(r["gflops"] for r in matmul if r["dtype"] == dtype and r["shape"] == shape)


# ---------------------------------------------------------------- training
def reference_run(X, batch_size, n_steps):
    model = ReferenceAAE(n_features=X.shape[1])
    model.train(X, batch_size, 3)  # warm-up

    def run():
        model.train(X, batch_size, n_steps)

    return run


def skaae_run(X, batch_size, precision):
    # neighbor_weight=0: the paper's three phases, the work the reference loop
    # does and ``step_flops`` counts (the default 2-D map adds the neighbourhood
    # term's second encoder pass).
    model = AdversarialAutoencoder(
        batch_size=batch_size,
        max_iter=1,
        warm_start=True,
        precision=precision,
        neighbor_weight=0.0,
        **PAPER,
    ).fit(X[: 3 * batch_size])  # warm-up; later fits continue these networks

    def run():
        model.fit(X)
        return model.history_[-1]["time"]

    return run


def training_rows(X, batch_sizes, repeats, steps, precisions):
    """Samples/s of the reference and of skaae (float32, bfloat16), timed in turns."""
    rows = []
    for batch_size in batch_sizes:
        n_steps = steps[batch_size]
        subset = X[: n_steps * batch_size]
        runs = {"reference float32": reference_run(torch.from_numpy(subset), batch_size, n_steps)}
        for precision in precisions:
            runs[f"skaae {precision}"] = skaae_run(subset, batch_size, precision)
        times = {name: [] for name in runs}
        peaks = {name: [] for name in runs}
        for _ in range(repeats):
            for name, run in runs.items():
                # The peak of the moment, right before the run: on a shared
                # machine the matmul throughput drifts by tens of percent
                # within a minute, so a peak from another section would
                # misstate the run's efficiency either way.
                dtype = DTYPES[name.split()[1]]
                peaks[name].append(matmul_gflops(PEAK_SHAPE, dtype, repeats=3))
                start = time.perf_counter()
                epoch_time = run()
                times[name].append(epoch_time or time.perf_counter() - start)
        for name, values in times.items():
            loop, precision = name.split()
            mflops = step_flops(loop=loop) / 1e6
            rooflines = [
                len(subset) / seconds * mflops / 1e3 / peak_gflops
                for seconds, peak_gflops in zip(values, peaks[name], strict=True)
            ]
            rows.append(
                {
                    "batch_size": batch_size,
                    "loop": loop,
                    "precision": precision,
                    "threads": torch.get_num_threads(),
                    "samples_per_s": len(subset) / statistics.median(values),
                    "samples_per_s_all": [len(subset) / t for t in values],
                    "peak_gflops_all": peaks[name],
                    "roofline": statistics.median(rooflines),
                    "roofline_all": rooflines,
                    "step_mflops_per_sample": mflops,
                    "phase_mflops_per_sample": {
                        phase: flops / 1e6 for phase, flops in phase_flops(loop=loop).items()
                    },
                }
            )
    return rows


def ceiling_rows(batch_sizes, repeats):
    """The step's float32 matmuls timed one shape at a time: the step's ideal time and GFLOP/s."""
    rows = []
    for batch_size in batch_sizes:
        products = Counter(
            product
            for phase in phase_matmuls(batch_size, loop="skaae").values()
            for product in phase
        )
        flops = sum(count * 2 * m * k * n for (m, k, n), count in products.items())
        seconds = sum(
            count * 2 * m * k * n / (matmul_gflops((m, k, n), torch.float32, repeats) * 1e9)
            for (m, k, n), count in products.items()
        )
        rows.append(
            {
                "batch_size": batch_size,
                "products": len(products),
                "ideal_step_ms": seconds * 1e3,
                "samples_per_s": batch_size / seconds,
                "gflops": flops / seconds / 1e9,
                "peak_gflops": matmul_gflops(PEAK_SHAPE, torch.float32, repeats),
            }
        )
    return rows


def thread_rows(X, batch_sizes, repeats, steps, precisions):
    rows = []
    default = torch.get_num_threads()
    try:
        for threads in sorted({1, default}):
            torch.set_num_threads(threads)
            for batch_size in batch_sizes:
                subset = X[: steps[batch_size] * batch_size]
                for precision in precisions:
                    run = skaae_run(subset, batch_size, precision)
                    epoch = statistics.median(run() for _ in range(repeats))
                    rows.append(
                        {
                            "batch_size": batch_size,
                            "precision": precision,
                            "threads": threads,
                            "samples_per_s": len(subset) / epoch,
                        }
                    )
    finally:
        torch.set_num_threads(default)
    return rows


# --------------------------------------------------------------- inference
def inference_rows(X_train, X_test, repeats, precisions):
    rows = []
    for precision in precisions:
        model = AdversarialAutoencoder(max_iter=1, batch_size=100, precision=precision, **PAPER)
        model.fit(X_train[:2000])
        Z = model.transform(X_test)
        for what, function in (
            ("transform, 10,000 test images", lambda m=model: m.transform(X_test)),
            ("inverse_transform, 10,000 codes", lambda m=model, Z=Z: m.inverse_transform(Z)),
        ):
            seconds = median_time(function, repeats, warmup=2)
            rows.append({"what": what, "precision": precision, "seconds": seconds})
    return rows


# ------------------------------------------------------------------ memory
def rss_child(path, kind):
    """Fit all of MNIST for one epoch; print VmHWM in MiB after loading and after fitting."""
    X = load_mnist(path)[0]
    loaded = vm_hwm()
    params = PAPER if kind == "paper" else {"random_state": 0, "device": "cpu"}
    AdversarialAutoencoder(max_iter=1, **params).fit(X)
    print(json.dumps({"after_loading_mib": loaded, "peak_mib": vm_hwm()}))


def vm_hwm():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def memory_rows(path):
    rows = []
    for kind in ("default", "paper"):
        output = subprocess.run(
            [sys.executable, __file__, "--rss-child", kind, "--mnist-path", str(path)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        rows.append({"networks": kind, **json.loads(output.strip().splitlines()[-1])})
    return rows


# ----------------------------------------------------------------- quality
def quality_rows(mnist, epochs, precisions):
    X_train, y_train, X_test, y_test = mnist
    split = X_train[:10000], y_train[:10000], X_test, y_test
    rows = [
        quality_row(
            f"MNIST 10k, paper networks, {epochs} epochs",
            AdversarialAutoencoder(batch_size=100, max_iter=epochs, precision=precision, **PAPER),
            *split,
        )
        for precision in precisions
    ]
    return rows + digits_quality_rows(precisions)


def digits_quality_rows(precisions):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X / 16.0, y, test_size=0.25, stratify=y, random_state=0
    )
    return [
        quality_row(
            "digits, defaults (core.py)",
            AdversarialAutoencoder(
                n_components=2, prior="mixture", random_state=0, device="cpu", precision=precision
            ),
            X_train,
            y_train,
            X_test,
            y_test,
        )
        for precision in precisions
    ]


def quality_row(data, model, X_train, y_train, X_test, y_test):
    """Fit ``model`` and measure its test codes: 5-NN accuracy, prior match, score, fit time."""
    start = time.perf_counter()
    model.fit(X_train)
    fit_time = time.perf_counter() - start
    Z_test = model.transform(X_test)
    energy, nearest = prior_distances(model, Z_test)
    return {
        "data": data,
        "precision": model.precision,
        "knn": knn_accuracy(model.transform(X_train), y_train, Z_test, y_test),
        "energy": energy,
        "nearest": nearest,
        "score": model.score(X_test),
        "fit_time": fit_time,
    }


# ---------------------------------------------------------------- reporting
def environment():
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "cpu": cpu,
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "machine": f"{platform.machine()} {platform.system()}",
        "cpu_count": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "skaae": skaae.__version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "sklearn": sklearn.__version__,
        "python": platform.python_version(),
    }


def summary_rows(results):
    """The bars of issue 4 next to the measured values."""
    training = {(r["batch_size"], r["loop"], r["precision"]): r for r in results["training"]}
    peak32 = peak(results["matmul"], "float32")
    rows = []
    for batch_size in results["batch_sizes"]:
        reference = training[batch_size, "reference", "float32"]["samples_per_s"]
        for precision in results["precisions"]:
            ratio = training[batch_size, "skaae", precision]["samples_per_s"] / reference
            rows.append(
                (f"throughput skaae {precision} / reference, batch {batch_size}", ratio, ">= 2")
            )
    for batch_size, bar in zip(results["batch_sizes"], (">= 0.70", ">= 0.85"), strict=False):
        row = training[batch_size, "skaae", "float32"]
        gflops = row["samples_per_s"] * row["step_mflops_per_sample"] / 1e3
        rows.append((f"float32 roofline efficiency, batch {batch_size}", row["roofline"], bar))
        rows.append(
            (
                f"float32 step GFLOP/s / the matmul section's 2048^3 GFLOP/s, batch {batch_size}",
                gflops / peak32,
                "(reported)",
            )
        )
        matched = peak(results["matmul"], "float32", f"{batch_size}x1000x1000")
        rows.append(
            (
                f"float32 step GFLOP/s / {batch_size}x1000x1000 matmul GFLOP/s",
                gflops / matched,
                "(reported)",
            )
        )
        for ceiling in results.get("ceiling", []):
            if ceiling["batch_size"] == batch_size:
                rows.append(
                    (
                        f"float32 roofline ceiling, batch {batch_size}: the step's matmuls "
                        "alone / 2048^3 GFLOP/s probed after them",
                        ceiling["gflops"] / ceiling["peak_gflops"],
                        "(reported)",
                    )
                )
                rows.append(
                    (
                        f"float32 step GFLOP/s / that ceiling's GFLOP/s, batch {batch_size}",
                        gflops / ceiling["gflops"],
                        "(reported)",
                    )
                )
    transform = next(
        r["seconds"]
        for r in results["inference"]
        if r["precision"] == "float32" and r["what"].startswith("transform")
    )
    rows.append(("transform, 10,000 test images, float32 (s)", transform, "<= 0.3"))
    for row in results.get("memory", []):
        name = f"peak RSS, fit 60,000 images, {row['networks']} networks (MiB)"
        rows.append((name, row["peak_mib"], "<= 1024"))
    return rows


def markdown(results):
    env = results["environment"]
    lines = [
        f"Measured {env['date']} on {env['cpu']} ({env.get('cpu_capability', '?')}, "
        f"{env['cpu_count']} CPUs, {env['threads']} torch "
        f"threads), skaae {env['skaae']}, torch {env['torch']}, numpy {env['numpy']}, "
        f"scikit-learn {env['sklearn']}. Load average (1 min) at start "
        f"{results['load_start']:.2f}, at end {results['load_end']:.2f}. "
        f"Command: `{results['command']}`.",
        "",
    ]
    if results["precisions"] == ["float32"]:
        lines += [
            "bfloat16 not measured: this CPU has no bfloat16 units (AVX512-BF16 or AMX), so "
            "its bfloat16 products are emulated, many times slower than float32 "
            "(`--bfloat16 on` measures them anyway).",
            "",
        ]
    lines += [
        "| bar | measured | target |",
        "|---|---|---|",
    ]
    lines += [f"| {name} | {value:.3g} | {bar} |" for name, value, bar in summary_rows(results)]
    lines += ["", "Matmul throughput (GFLOP/s, median):", "", "| dtype | shape | GFLOP/s |"]
    lines += ["|---|---|---|"]
    lines += [f"| {r['dtype']} | {r['shape']} | {r['gflops']:.0f} |" for r in results["matmul"]]
    peaks = {dtype: peak(results["matmul"], dtype) for dtype in results["precisions"]}
    lines += [
        "",
        "Training throughput, paper networks on MNIST (median samples/s). Roofline: each "
        "run's step FLOPs/s over the 2048^3 matmul throughput of the same dtype measured "
        "right before that run, median over the runs; the next columns divide the median "
        "GFLOP/s by the matmul section's 2048^3 and batch x 1000 x 1000 throughputs instead:",
        "",
        "| batch | loop | precision | samples/s (median) | runs | MFLOP/sample | GFLOP/s "
        "| 2048^3 before each run | roofline | vs matmul section 2048^3 "
        "| vs batch x 1000 x 1000 matmul |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results["training"]:
        gflops = r["samples_per_s"] * r["step_mflops_per_sample"] / 1e3
        matched = peak(results["matmul"], r["precision"], f"{r['batch_size']}x1000x1000")
        runs = ", ".join(f"{v:.0f}" for v in r["samples_per_s_all"])
        probes = ", ".join(f"{v:.0f}" for v in r["peak_gflops_all"])
        lines.append(
            f"| {r['batch_size']} | {r['loop']} | {r['precision']} | {r['samples_per_s']:.0f} | "
            f"{runs} | {r['step_mflops_per_sample']:.1f} | {gflops:.0f} | {probes} | "
            f"{r['roofline']:.0%} | {gflops / peaks[r['precision']]:.0%} | "
            f"{gflops / matched:.0%} |"
        )
    if results.get("ceiling"):
        lines += [
            "",
            "Ceiling of the float32 step: each matrix product of a skaae step timed alone "
            "at its shape (median, warm caches, nothing else to do), summed; no implementation "
            "of the step's work runs faster with these matmuls. Roofline ceiling: its GFLOP/s "
            "over the 2048^3 throughput probed right after:",
            "",
            "| batch | distinct shapes | ideal step (ms) | samples/s | GFLOP/s | 2048^3 GFLOP/s "
            "| roofline ceiling | skaae float32 / ceiling |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in results["ceiling"]:
            measured = next(
                t["samples_per_s"]
                for t in results["training"]
                if (t["batch_size"], t["loop"], t["precision"])
                == (r["batch_size"], "skaae", "float32")
            )
            lines.append(
                f"| {r['batch_size']} | {r['products']} | {r['ideal_step_ms']:.1f} | "
                f"{r['samples_per_s']:.0f} | {r['gflops']:.0f} | {r['peak_gflops']:.0f} | "
                f"{r['gflops'] / r['peak_gflops']:.0%} | {measured / r['samples_per_s']:.0%} |"
            )
    if results.get("threads"):
        lines += ["", "skaae samples/s by torch thread count:", ""]
        lines += ["| batch | precision | threads | samples/s |", "|---|---|---|---|"]
        lines += [
            f"| {r['batch_size']} | {r['precision']} | {r['threads']} | {r['samples_per_s']:.0f} |"
            for r in results["threads"]
        ]
    lines += ["", "Inference, paper networks (median seconds):", ""]
    lines += ["| what | precision | seconds |", "|---|---|---|"]
    lines += [
        f"| {r['what']} | {r['precision']} | {r['seconds']:.3f} |" for r in results["inference"]
    ]
    if results.get("memory"):
        lines += ["", "Peak RSS of a fresh process fitting 60,000 MNIST images for 1 epoch:", ""]
        lines += ["| networks | after loading (MiB) | peak (MiB) |", "|---|---|---|"]
        lines += [
            f"| {r['networks']} | {r['after_loading_mib']:.0f} | {r['peak_mib']:.0f} |"
            for r in results["memory"]
        ]
    if results.get("quality"):
        lines += ["", "Quality by precision (test set):", ""]
        lines += [
            "| data | precision | 5-NN acc | energy distance | 1-NN two-sample | score | fit (s) |",
            "|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {r['data']} | {r['precision']} | {r['knn']:.3f} | {r['energy']:.3f} | "
            f"{r['nearest']:.3f} | {r['score']:.4f} | {r['fit_time']:.1f} |"
            for r in results["quality"]
        ]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mnist-path", default=os.environ.get("SKAAE_MNIST", str(DEFAULT_MNIST)))
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per measurement")
    parser.add_argument("--quality-epochs", type=int, default=10)
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--skip-threads", action="store_true")
    parser.add_argument(
        "--threads", type=int, help="torch threads (default: torch's own, one per core)"
    )
    parser.add_argument(
        "--bfloat16",
        choices=["auto", "on", "off"],
        default="auto",
        help="measure bfloat16 too; auto: only where the CPU has bfloat16 units (AVX512-BF16 or "
        "AMX), since emulated bfloat16 products run many times slower than float32",
    )
    parser.add_argument("--output-dir", default=str(RESULTS))
    parser.add_argument("--rss-child", choices=["default", "paper"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rss_child:
        return rss_child(args.mnist_path, args.rss_child)

    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    native = has_native_bfloat16("cpu")
    with_bfloat16 = args.bfloat16 == "on" or (args.bfloat16 == "auto" and native is not False)
    precisions = ["float32", "bfloat16"] if with_bfloat16 else ["float32"]
    results = {
        "environment": environment(),
        "command": "python benchmarks/speed.py " + " ".join(argv or sys.argv[1:]),
        "load_start": load(),
        "batch_sizes": [100, 1000],
        "precisions": precisions,
        "native_bfloat16": native,
        "loads": {},
    }
    steps = {100: 40, 1000: 8}
    mnist = load_mnist(args.mnist_path)
    sections = [
        ("matmul", lambda: matmul_rows(args.repeats, precisions)),
        ("training", lambda: training_rows(mnist[0], [100, 1000], args.repeats, steps, precisions)),
        ("ceiling", lambda: ceiling_rows([100, 1000], args.repeats)),
        ("inference", lambda: inference_rows(mnist[0], mnist[2], args.repeats, precisions)),
    ]
    if not args.skip_threads:
        sections.append(
            ("threads", lambda: thread_rows(mnist[0], [100, 1000], 3, steps, precisions))
        )
    if not args.skip_memory:
        sections.append(("memory", lambda: memory_rows(args.mnist_path)))
    if not args.skip_quality:
        sections.append(("quality", lambda: quality_rows(mnist, args.quality_epochs, precisions)))
    for name, run in sections:
        before = load()
        start = time.perf_counter()
        results[name] = run()
        results["loads"][name] = {"start": before, "end": load()}
        print(f"{name}: {time.perf_counter() - start:.0f} s, load {before:.2f} -> {load():.2f}")
    results["load_end"] = load()
    table = markdown(results)
    print(table)
    output = Path(args.output_dir)
    output.mkdir(parents=True, exist_ok=True)
    (output / "speed.json").write_text(json.dumps(results, indent=2))
    (output / "speed.md").write_text(table)


if __name__ == "__main__":
    main()

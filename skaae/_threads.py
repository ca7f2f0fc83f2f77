"""How many torch threads training and inference use on the CPU.

Torch's intra-op threads (OpenMP) meet at a barrier after every operation.
When another process holds one of the cores, a thread waits there for a
colleague that is off its core for a scheduler time slice (milliseconds),
after every operation, so that on a busy machine two threads train many times
slower than one; on a quiet machine more threads help only once a mini-batch
carries enough work to share. The measurements are in
doc/user_guide/model_selection.rst ("Threads") and
doc/notes/parameter_measurements.md ("torch's thread count").

:func:`thread_policy` sets the count for one ``fit`` or one inference call
and restores the caller's count afterwards:

1. ``SKAAE_NUM_THREADS=n`` (a positive integer) in the environment: exactly
   ``n`` threads, whatever else holds.
2. Otherwise at most ``torch.get_num_threads()``, the caller's count, so
   that ``torch.set_num_threads``, ``OMP_NUM_THREADS``, a
   ``threadpoolctl.threadpool_limits`` block (on the OpenMP API, the
   default) and joblib's process workers (loky sets ``OMP_NUM_THREADS`` to
   their share of the cores) cap it.
3. One thread per :data:`WORK_PER_THREAD` multiply-adds of a mini-batch's
   forward pass (rows times the model's parameters).
4. No more threads than cores left free by other processes: the runnable
   tasks of the system (Linux's ``/proc/loadavg``) less this process's own,
   sampled for a few milliseconds when more than one thread is in question.
"""

import contextlib
import math
import os
import time

import torch

__all__ = ["WORK_PER_THREAD", "choose_threads", "thread_policy"]

# Multiply-adds of a mini-batch's forward pass that justify one more thread:
# the tests' tiny networks (0.3 million at 64 rows) stay on one thread, digits
# (22 million), tables and MNIST at the default sizes may use more, as two
# threads were faster there on an idle machine. The threshold between those
# sizes is not measured (doc/notes/parameter_measurements.md).
WORK_PER_THREAD = 4_000_000

# The environment variable that fixes the count.
ENVIRONMENT_VARIABLE = "SKAAE_NUM_THREADS"

# The load probe: this many samples of the run queue, this far apart (s).
_PROBE_SAMPLES = 5
_PROBE_INTERVAL = 0.001
# When the last probe ran (time.monotonic()) and what it found.
_LAST_PROBE = [-float("inf"), None]


def _environment_threads():
    """The count ``SKAAE_NUM_THREADS`` fixes, or None when unset, empty or ``"auto"``.

    Raises
    ------
    ValueError
        If the variable holds something else than a positive integer or
        ``"auto"``.
    """
    value = os.environ.get(ENVIRONMENT_VARIABLE, "").strip()
    if value in ("", "auto"):
        return None
    try:
        threads = int(value)
    except ValueError:
        threads = 0
    if threads < 1:
        raise ValueError(
            f"{ENVIRONMENT_VARIABLE}={value!r}: expected a positive integer or 'auto'."
        )
    return threads


def _cpu_count():
    """The cores this process may run on (its affinity where the OS says)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _runnable_tasks():
    """The system's runnable tasks (threads) now, from ``/proc/loadavg``."""
    with open("/proc/loadavg") as file:
        return int(file.read().split()[3].split("/")[0])


def _own_runnable_threads():
    """This process's threads that are runnable now (at least the caller)."""
    count = 0
    for task in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{task}/stat") as file:
                stat = file.read()
        except OSError:  # the thread ended meanwhile
            continue
        # The state follows the command name, which is in parentheses.
        count += stat[stat.rindex(")") + 2] == "R"
    return max(count, 1)


def busy_cores(max_age=1.0):
    """The mean number of other processes' runnable threads over a few milliseconds.

    A CPU-bound process elsewhere counts about 1. Each sample is the
    system's runnable tasks less this process's own. The probe takes 5 ms
    (20 ms on a busy machine); a result younger than ``max_age`` seconds is
    reused, so that many small ``transform`` calls do not each pay for it.

    Parameters
    ----------
    max_age : float, default=1.0
        Reuse the last result if it is younger than this (seconds); 0 probes
        afresh.

    Returns
    -------
    float or None
        None where ``/proc`` does not tell (not Linux).
    """
    taken, busy = _LAST_PROBE
    if time.monotonic() - taken < max_age:
        return busy
    samples = []
    try:
        for sample in range(_PROBE_SAMPLES):
            if sample:
                time.sleep(_PROBE_INTERVAL)
            samples.append(max(_runnable_tasks() - _own_runnable_threads(), 0))
        busy = sum(samples) / len(samples)
    except (OSError, ValueError, IndexError):
        busy = None
    _LAST_PROBE[:] = [time.monotonic(), busy]
    return busy


def choose_threads(work, available=None):
    """The torch thread count for mini-batches of ``work`` multiply-adds.

    Parameters
    ----------
    work : int
        Multiply-adds of one mini-batch's forward pass (rows times the
        model's parameters).
    available : int, default=None
        The caller's count, the ceiling; ``torch.get_num_threads()`` when
        None.

    Returns
    -------
    int
        ``SKAAE_NUM_THREADS`` when set; else at most ``available``, one per
        :data:`WORK_PER_THREAD` of ``work``, and no more than the cores other
        processes leave free (see the module docstring).
    """
    fixed = _environment_threads()
    if fixed is not None:
        return fixed
    threads = torch.get_num_threads() if available is None else available
    threads = min(threads, max(1, int(work // WORK_PER_THREAD)))
    if threads > 1:
        busy = busy_cores()
        if busy is not None:
            threads = min(threads, max(1, math.floor(_cpu_count() - busy + 0.5)))
    return threads


@contextlib.contextmanager
def thread_policy(model, rows, device):
    """Run the block with the thread count :func:`choose_threads` picks.

    The caller's count (``torch.get_num_threads()``) comes back when the
    block ends, also when it raises. Torch is called only when the count
    changes, so a block that keeps the count changes no state.

    Parameters
    ----------
    model : torch.nn.Module
        The networks the block runs; its parameter count times ``rows`` is
        the work of a mini-batch.
    rows : int
        Rows of a mini-batch (training) or of an inference block.
    device : torch.device
        Off the CPU the count is left alone.

    Yields
    ------
    int
        The thread count in force in the block.
    """
    before = torch.get_num_threads()
    if torch.device(device).type != "cpu":
        yield before
        return
    work = rows * sum(parameter.numel() for parameter in model.parameters())
    threads = choose_threads(work, before)
    if threads == before:
        yield threads
        return
    torch.set_num_threads(threads)
    try:
        yield threads
    finally:
        torch.set_num_threads(before)

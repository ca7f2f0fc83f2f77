"""What ``verbose`` prints while the epochs run.

``verbose=1``: one progress line (epoch i/n, the latest losses and prior match, the
elapsed time and an estimate of the time left), redrawn in place with a carriage
return on a terminal or in a Jupyter notebook; where the output is neither (a CI log,
a file, a pipe), plain lines instead: the first epoch, then one about every 10 s or
every 10 % of the epochs, whichever is rarer, and the last. ``verbose=2``: every
epoch's record, one line each.

A small writer of our own rather than tqdm or rich: tqdm writes its carriage-return
redraws into files and pipes too (one run-on line in a CI log), and one line per fit
does not justify a dependency or a second, optional code path.
"""

import math
import os
import shutil
import sys
import time

__all__ = ["EpochProgress", "format_record"]

# Plain lines: at most one per _PLAIN_SECONDS and per _PLAIN_FRACTION of a fit's epochs.
_PLAIN_SECONDS = 10.0
_PLAIN_FRACTION = 0.1
_clock = time.monotonic  # the tests replace it


def format_record(record, max_iter):
    """``verbose=2``'s line for one epoch: every number of ``record`` and the epoch's time."""
    parts = [f"Epoch {record['epoch']}/{max_iter}"]
    for key, value in record.items():
        if key not in ("epoch", "time"):
            parts.append(f"{key.replace('_', ' ')} {value:.4f}")
    parts.append(f"{record['time']:.2f}s")
    return ", ".join(parts)


def _duration(seconds):
    minutes, seconds = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def _is_live(stream):
    """Whether ``stream`` redraws a line at "\\r": a terminal, or a Jupyter kernel's output."""
    if type(stream).__module__.partition(".")[0] == "ipykernel":
        return True  # not a tty, but the notebook honours "\r"
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # no isatty, or a closed stream
        return False


def _terminal_width(stream):
    try:
        columns = os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, ValueError, OSError):
        columns = 0
    # A pseudo-terminal may report 0 columns; then $COLUMNS, or 80.
    return columns or shutil.get_terminal_size().columns or 80


class EpochProgress:
    """The verbose output of one fit's epochs.

    A context manager: leaving it ends the live line with a newline (and writes
    the last epoch's plain line if it is still due), however the epochs ended.

    Parameters
    ----------
    verbose : int
        0 prints nothing, 1 a progress line, 2 or more one line per epoch.
    last_epoch : int
        The ``n`` of "Epoch i/n": the epoch this fit would end at.
    prefix : str, default=""
        Put before the progress line, e.g. ``"restart 2/5"``.
    """

    def __init__(self, verbose, last_epoch, prefix=""):
        self.verbose = int(verbose)
        self.last_epoch = last_epoch
        self.prefix = prefix
        self._start = _clock()
        self._n_done = 0  # epochs finished in this fit
        self._step = 1  # plain lines: epochs between two
        self._drawn = 0  # the length of the live line on screen; 0: none
        self._printed = None  # plain lines: (epochs done, time) at the last one
        self._pending = None  # plain lines: the latest epoch's, not written yet

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
        return False

    def update(self, record):
        """Show the epoch that just finished: ``record``, as kept in ``history_``."""
        if self.verbose <= 0:
            return
        self._n_done += 1
        stream = sys.stdout  # looked up now, so redirections and capsys apply
        if stream is None:
            return
        if self.verbose >= 2:
            stream.write(format_record(record, self.last_epoch) + "\n")
            stream.flush()
            return
        now = _clock()
        if self._n_done == 1:
            n_epochs = self.last_epoch - record["epoch"] + 1
            self._step = max(1, math.ceil(_PLAIN_FRACTION * n_epochs))
        if _is_live(stream):
            width = _terminal_width(stream) - 1 if stream.isatty() else None
            line = self._line(record, now, width)
            stream.write("\r" + line.ljust(self._drawn))
            stream.flush()
            self._drawn = len(line)
            return
        line = self._line(record, now)
        due = (
            self._printed is None
            or record["epoch"] >= self.last_epoch
            or (
                self._n_done - self._printed[0] >= self._step
                and now - self._printed[1] >= _PLAIN_SECONDS
            )
        )
        if due:
            stream.write(line + "\n")
            stream.flush()
            self._printed, self._pending = (self._n_done, now), None
        else:
            self._pending = line

    def close(self):
        """End the live line with a newline, or write the last plain line still due."""
        stream = sys.stdout
        ending = ("\n" if self._drawn else "") + (self._pending + "\n" if self._pending else "")
        self._drawn, self._pending = 0, None
        if ending and stream is not None:
            stream.write(ending)
            stream.flush()

    def _line(self, record, now, width=None):
        """The progress line; with ``width``, numbers left out (not the prior match) to fit."""
        elapsed = now - self._start
        head = f"Epoch {record['epoch']}/{self.last_epoch}"
        if self.prefix:
            head = f"{self.prefix}: {head}"
        left = self.last_epoch - record["epoch"]
        tail = f"{_duration(elapsed)} elapsed"
        if left > 0:  # honest: the mean time of this fit's epochs so far
            tail += f", ~{_duration(elapsed / self._n_done * left)} left"
        numbers = [
            (key, f"{key.removesuffix('_loss').replace('_', ' ')} {value:.4f}")
            for key, value in record.items()
            if key not in ("epoch", "time")
        ]
        line = ", ".join([head, *(text for _, text in numbers), tail])
        if width is None:
            return line
        droppable = [i for i, (key, _) in enumerate(numbers) if key != "prior_match"]
        while len(line) > width and droppable:
            del numbers[droppable.pop()]
            line = ", ".join([head, *(text for _, text in numbers), "...", tail])
        return line[:width]

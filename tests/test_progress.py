"""What ``verbose`` prints: a live line on a terminal or in a notebook, plain lines in a log."""

import io
import sys

import numpy as np
import pytest

import skaae._progress
from skaae import AAEClustering, AdversarialAutoencoder, TrainingDivergedError

TINY = {
    "n_components": 2,
    "hidden_layer_sizes": (8,),
    "discriminator_layer_sizes": (8,),
    "batch_size": 32,
    "device": "cpu",
    "random_state": 0,
}


@pytest.fixture(scope="module")
def X():
    return np.random.RandomState(0).uniform(size=(60, 4))


def make(**params):
    return AdversarialAutoencoder(**{**TINY, **params})


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


class NotebookStream(io.StringIO):
    """Like ipykernel's ``OutStream``: not a tty, but the notebook honours "\\r"."""


NotebookStream.__module__ = "ipykernel.iostream"


@pytest.fixture
def terminal(monkeypatch):
    """A fake terminal as sys.stdout: ``terminal()`` in the test's body, after pytest's
    capture has set sys.stdout for the call."""

    def install(stream_type=FakeTerminal):
        stream = stream_type()
        monkeypatch.setattr(sys, "stdout", stream)
        return stream

    return install


def screen(output):
    """The lines a terminal shows after ``output``: "\\r" goes back to the line's start."""
    lines, row, column = [[]], 0, 0
    for char in output:
        if char == "\r":
            column = 0
        elif char == "\n":
            lines.append([])
            row, column = row + 1, 0
        else:
            line = lines[row]
            line[column : column + 1] = [char]
            column += 1
    return ["".join(line).rstrip() for line in lines]


class Raise:
    """A callback that raises ``error`` at the end of epoch ``at``."""

    def __init__(self, error, at=2):
        self.error, self.at = error, at

    def on_epoch_end(self, estimator, record):
        if record["epoch"] == self.at:
            raise self.error


class PoisonWeights:
    """Makes the weights NaN after epoch ``at``: the next epoch diverges."""

    def __init__(self, at=1):
        self.at = at

    def on_epoch_end(self, estimator, record):
        if record["epoch"] == self.at:
            for parameter in estimator.model_.parameters():
                parameter.data.fill_(float("nan"))


class StopAfter:
    def __init__(self, at):
        self.at = at

    def on_epoch_end(self, estimator, record):
        return record["epoch"] >= self.at


class Clock:
    """A clock advancing ``step`` seconds a call."""

    def __init__(self, step):
        self.step, self.now = step, 0.0

    def __call__(self):
        self.now += self.step
        return self.now


# ---------------------------------------------------------------- a log: plain lines
def test_a_log_gets_the_first_and_the_last_epoch(X, capsys):
    model = make(max_iter=5, verbose=1).fit(X)
    out = capsys.readouterr().out
    assert "\r" not in out and out.endswith("\n")
    lines = out.splitlines()
    assert [line.split(",")[0] for line in lines] == ["Epoch 1/5", "Epoch 5/5"]
    # The record's numbers, as kept in history_.
    last = model.history_[-1]
    for key in ("reconstruction_loss", "discriminator_loss", "prior_match"):
        assert f"{last[key]:.4f}" in lines[-1]
    assert "prior match" in lines[-1] and "elapsed" in lines[-1]
    assert "left" in lines[0] and "left" not in lines[-1]


@pytest.mark.parametrize(
    "seconds_per_epoch, printed",
    [
        (3.0, [1, 5, 9, 13, 17, 20]),  # every 10 s is the rarer
        (60.0, [1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 20]),  # every 10 % is the rarer
    ],
)
def test_a_log_gets_a_line_every_10_s_or_10_percent(
    X, capsys, monkeypatch, seconds_per_epoch, printed
):
    monkeypatch.setattr(skaae._progress, "_clock", Clock(seconds_per_epoch))
    make(max_iter=20, verbose=1).fit(X)
    lines = capsys.readouterr().out.splitlines()
    assert [int(line.split("/")[0].removeprefix("Epoch ")) for line in lines] == printed


def test_time_left_is_the_mean_epoch_time_so_far(X, capsys, monkeypatch):
    monkeypatch.setattr(skaae._progress, "_clock", Clock(60.0))
    make(max_iter=3, verbose=1).fit(X)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith("1:00 elapsed, ~2:00 left")
    assert lines[-1].endswith("3:00 elapsed")


def test_a_stopped_fit_still_writes_its_last_epoch(X, capsys):
    make(max_iter=5, verbose=1, callbacks=[StopAfter(3)]).fit(X)
    out = capsys.readouterr().out
    assert [line.split(",")[0] for line in out.splitlines()] == ["Epoch 1/5", "Epoch 3/5"]


def test_warm_start_counts_on(X, capsys):
    model = make(max_iter=2, warm_start=True, verbose=1).fit(X)
    capsys.readouterr()
    model.fit(X)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(",")[0] for line in lines] == ["Epoch 3/4", "Epoch 4/4"]


# ------------------------------------------------------- a terminal: one live line
def test_a_terminal_gets_one_line_redrawn_in_place(X, terminal):
    stream = terminal()
    make(max_iter=3, verbose=1).fit(X)
    out = stream.getvalue()
    assert out.count("\r") == 3 and out.count("\n") == 1 and out.endswith("\n")
    shown = screen(out)
    assert shown[1:] == [""]  # one line, ended
    assert shown[0].startswith("Epoch 3/3,") and shown[0].endswith("elapsed")
    # The last state is shorter (no time left): no debris of the longer one.
    assert "left" in out and "left" not in shown[0]


def test_a_narrow_terminal_gets_a_shorter_line(X, terminal, monkeypatch):
    stream = terminal()
    monkeypatch.setenv("COLUMNS", "70")
    make(max_iter=2, verbose=1).fit(X)
    drawn = stream.getvalue().rstrip("\n").split("\r")[1:]
    assert drawn and all(len(line.rstrip()) < 70 for line in drawn)
    assert all("prior match" in line and "elapsed" in line for line in drawn)


def test_a_notebook_gets_one_line_redrawn_in_place(X, terminal, monkeypatch):
    stream = terminal(NotebookStream)
    monkeypatch.setenv("COLUMNS", "70")
    make(max_iter=3, verbose=1).fit(X)
    out = stream.getvalue()
    assert out.count("\r") == 3 and out.endswith("\n")
    shown = screen(out)
    assert shown[0].startswith("Epoch 3/3,") and "generator" in shown[0]  # no width cut


@pytest.mark.parametrize(
    "callback, error",
    [
        (Raise(ValueError("boom")), ValueError),
        (PoisonWeights(), TrainingDivergedError),
    ],
)
def test_a_fit_that_raises_ends_the_line(X, terminal, callback, error):
    stream = terminal()
    with pytest.raises(error):
        make(max_iter=5, verbose=1, callbacks=[callback], on_divergence="raise").fit(X)
    out = stream.getvalue()
    assert out.count("\r") >= 1 and out.endswith("\n") and out.count("\n") == 1


@pytest.mark.parametrize(
    "callback, warning",
    [
        (Raise(KeyboardInterrupt(), at=2), "interrupted"),
        (PoisonWeights(), "diverged"),
    ],
)
def test_an_interrupted_or_rolled_back_fit_ends_the_line(X, terminal, callback, warning):
    stream = terminal()
    with pytest.warns(RuntimeWarning, match=warning):
        make(max_iter=5, verbose=1, callbacks=[callback], on_divergence="rollback").fit(X)
    out = stream.getvalue()
    assert out.endswith("\n") and out.count("\n") == 1


def test_early_stopping_ends_the_line(X, terminal):
    stream = terminal()
    model = make(max_iter=30, verbose=1, early_stopping=True, n_iter_no_change=1, tol=10.0)
    model.fit(X)
    assert model.n_iter_ < 30
    shown = screen(stream.getvalue())
    assert len(shown) == 2 and shown[1] == "" and shown[0].startswith(f"Epoch {model.n_iter_}/30,")


# ------------------------------------------------------------- verbose=2 and verbose=0
def test_verbose_2_prints_every_epoch(X, terminal):
    stream = terminal()
    model = make(max_iter=3, verbose=2).fit(X)
    lines = stream.getvalue().splitlines()
    assert "\r" not in stream.getvalue() and len(lines) == 3
    for i, (line, record) in enumerate(zip(lines, model.history_, strict=True), start=1):
        assert line.startswith(f"Epoch {i}/3, reconstruction loss ")
        assert f"prior match {record['prior_match']:.4f}" in line
        assert line.endswith(f", {record['time']:.2f}s")


@pytest.mark.parametrize("stream_type", [FakeTerminal, io.StringIO])
def test_verbose_0_is_silent(X, terminal, stream_type):
    stream = terminal(stream_type)
    make(max_iter=2).fit(X)
    assert stream.getvalue() == ""


def test_history_is_the_same_at_every_verbosity(X, terminal):
    terminal()  # the live line's path
    histories = [make(max_iter=2, verbose=verbose).fit(X).history_ for verbose in (0, 1, 2)]
    for history in histories:
        for record in history:
            record.pop("time")
    assert histories[0] == histories[1] == histories[2]


# ------------------------------------------------------------- AAEClustering's restarts
def test_clustering_restarts_name_themselves_in_the_line(X, capsys):
    model = AAEClustering(n_clusters=2, n_init=2, max_iter=2, verbose=1, **TINY).fit(X)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(",")[0] for line in lines] == [
        "restart 1/2: Epoch 1/2",
        "restart 1/2: Epoch 2/2",
        "restart 1/2: score " + lines[2].split("score ")[1],
        "restart 2/2: Epoch 1/2",
        "restart 2/2: Epoch 2/2",
        "restart 2/2: score " + lines[5].split("score ")[1],
    ]
    assert not hasattr(model, "_progress_prefix")

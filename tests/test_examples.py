"""The example scripts: they leave the checkout alone, and are ready for sphinx-gallery."""

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SCRIPTS = sorted(EXAMPLES.glob("plot_*.py"))


def run(script, *args, tmp_path):
    """Run an example in a subprocess (temporary files under ``tmp_path``); its stdout."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg", "TMPDIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, str(script), *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_there_are_examples():
    assert len(SCRIPTS) >= 7


def test_example_without_output_dir_writes_to_a_new_temporary_directory(tmp_path):
    committed = {png: png.stat().st_mtime_ns for png in (EXAMPLES / "figures").glob("*.png")}
    stdout = run(EXAMPLES / "plot_latent_space.py", "--max-iter", "1", tmp_path=tmp_path)
    # The committed figures are untouched ...
    assert committed
    assert {png: png.stat().st_mtime_ns for png in (EXAMPLES / "figures").glob("*.png")} == (
        committed
    )
    # ... and the last line names the folder the PNGs went to: a new one in the temporary
    # directory.
    match = re.fullmatch(r"figures written to (.+)", stdout.strip().splitlines()[-1])
    assert match, stdout
    folder = Path(match.group(1))
    assert folder.parent == tmp_path
    assert sorted(png.name for png in folder.glob("*.png")) == ["latent_space.png", "samples.png"]
    assert all(png.stat().st_size > 0 for png in folder.glob("*.png"))


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.stem)
def test_example_is_ready_for_sphinx_gallery(script):
    source = script.read_text()
    module = ast.parse(source)
    docstring = ast.get_docstring(module, clean=False)
    assert docstring is not None, "no module docstring"
    # The docstring opens with an rst title (its underline as long) and a paragraph.
    lines = docstring.strip("\n").splitlines()
    title, underline = lines[0], lines[1]
    assert title.strip() and underline == "=" * len(title), lines[:2]
    assert not lines[2].strip() and lines[3].strip()
    # Cells, each opened by a comment block that explains the step.
    cells = re.findall(r"^# %%\n((?:#.*\n)+)", source, flags=re.MULTILINE)
    assert len(cells) >= 3
    assert source.count("\n# %%\n") == len(cells)
    # The figures stay open for the gallery's scraper, and __file__ is not used (the
    # gallery does not set it) nor is __doc__ (the gallery empties it).
    assert "plt.close" not in source
    assert "__file__" not in source
    assert "__doc__" not in source


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.stem)
def test_example_help_names_the_shared_options(script, tmp_path):
    stdout = " ".join(run(script, "--help", tmp_path=tmp_path).split())  # unwrapped
    assert "--max-iter" in stdout
    assert "--output-dir" in stdout
    assert "temporary directory" in stdout

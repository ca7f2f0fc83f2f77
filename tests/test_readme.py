"""The README, the front door: short, and naming what it promises to name."""

import re
from pathlib import Path

import pytest

import skaae
from skaae.priors import PRIORS

README = Path(__file__).resolve().parents[1] / "README.md"

pytestmark = pytest.mark.skipif(not README.is_file(), reason="README.md is not beside the tests")


def readme():
    return README.read_text(encoding="utf-8")


def test_readme_fits_on_a_few_screens():
    assert len(readme().splitlines()) <= 150


def test_readme_names_every_registered_prior():
    text = readme()
    missing = [name for name in PRIORS if f'"{name}"' not in text]
    assert not missing, f"README.md does not list the priors {missing}"


def test_readme_names_every_public_estimator():
    text = readme()
    estimators = [
        name
        for name in skaae.__all__
        if name[0].isupper()
        and name.endswith(("Autoencoder", "Classifier", "Clustering", "Embedding", "Transformer"))
    ]
    assert estimators, "no estimator found in skaae.__all__"
    missing = [name for name in estimators if f"`{name}`" not in text]
    assert not missing, f"README.md does not name {missing}"


def test_readme_says_how_long_the_tests_take_and_how_to_skip_the_slow_ones():
    text = readme()
    assert 'python -m pytest -m "not slow"' in text
    assert re.search(r"takes about [\w\s-]+ minutes", text)


def test_readme_links_resolve_in_the_repository():
    root = README.parent
    targets = re.findall(r"\]\(([^)#\s]+)\)", readme())
    local = [t for t in targets if not re.match(r"[a-z]+://", t)]
    assert local, "the README links to no file of the repository"
    missing = [t for t in local if not (root / t).exists()]
    assert not missing, f"README.md links to missing files {missing}"

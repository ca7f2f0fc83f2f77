"""Sphinx configuration of skaae's documentation site.

Build it from the root of the repository (the ``docs`` extra installs what it needs)::

    python -m pip install -e ".[docs]"
    OMP_NUM_THREADS=1 python -m sphinx -W --keep-going -b html doc doc/_build/html
    OMP_NUM_THREADS=1 python -m sphinx -W --keep-going -D plot_gallery=0 -b doctest \
        doc doc/_build/doctest

Nothing is fetched at build time: there is no intersphinx. The gallery runs every
``examples/plot_*.py`` in a quick mode (a few epochs, figures to a temporary directory,
see :func:`reset_argv`); each example's page then shows the committed figures of its
full-length run from ``examples/figures/`` (see :data:`FULL_RUN_FIGURES`).
``-D plot_gallery=0`` builds without running the examples (the doctest build uses it).
"""

import inspect
import re
import sys
import tempfile
from pathlib import Path

import skaae

DOC = Path(__file__).resolve().parent
ROOT = DOC.parent
# "conf.reset_argv" below names this module: sphinx-gallery imports it from here.
if str(DOC) not in sys.path:
    sys.path.insert(0, str(DOC))

# -- Project -------------------------------------------------------------------------

project = "skaae"
author = "The skaae developers"
copyright = "The skaae developers"
version = release = skaae.__version__

# -- General -------------------------------------------------------------------------

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.doctest",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = ["_build", "**/.ipynb_checkpoints", "auto_examples/*.ipynb"]
default_role = "obj"
# Unresolved references in the docstrings' prose stay plain text, as in scikit-learn's.
nitpicky = False

# -- autodoc, autosummary, numpydoc --------------------------------------------------

autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "none"
# The class template lists the methods itself (doc/_templates/autosummary/class.rst).
numpydoc_show_class_members = False
numpydoc_show_inherited_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
# Parameter types as cross-references: skaae's classes become links, and names such as
# ``n_features_in_`` are read as names, not as reST hyperlink references. Without
# intersphinx, other libraries' types (ndarray, DataFrame) render as plain code.
numpydoc_xref_param_type = True
numpydoc_xref_ignore = {
    "of", "or", "and", "shape", "default", "optional", "instance", "like", "a", "an",
    "the", "with", "in", "to", "for", "each", "one", "any", "per", "by", "on", "as",
}  # fmt: skip
# numpydoc's default aliases of these are :ref: and :term: links into the Python and NumPy
# docs, which need intersphinx (and warn without it): plain names instead.
numpydoc_xref_aliases = {
    "bool": "bool",
    "boolean": "bool",
    "array-like": "array_like",
    "array_like": "array_like",
    "iterable": "iterable",
    "sequence": "sequence",
    "generator": "generator",
    "scalar": "scalar",
}

# -- doctest: run the ``>>>`` blocks of the docstrings and of the pages ---------------

# "default": plain ``>>>`` blocks (the numpydoc Examples sections autodoc brings in)
# are tests of the "default" group, one namespace per page.
doctest_test_doctest_blocks = "default"
doctest_global_setup = """
import numpy as np
import torch
torch.set_num_threads(1)
"""

# -- MyST (the repository's Markdown files) -------------------------------------------

myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3
# The included results tables link each other by file name ("family.md"): on the
# benchmarks page they are sections, so such a link becomes a link to the section.
RESULTS = ROOT / "benchmarks" / "results"


def benchmark_anchor(stem):
    """The label of the section of ``benchmarks/results/<stem>.md`` on the benchmarks page."""
    return "bench-" + stem.replace("_", "-")


def rewrite_results_links(app, relative_path, parent_docname, content):
    """Point ``](name.md)`` links of an included results file at the section of that file."""
    path = (Path(app.srcdir) / relative_path).resolve()
    if path.parent != RESULTS:
        return

    def replace(match):
        text, stem = match.groups()
        if not (RESULTS / f"{stem}.md").is_file():
            return match.group(0)
        return f"{{ref}}`{text} <{benchmark_anchor(stem)}>`"

    content[0] = re.sub(r"\[([^\]`]+)\]\(([\w-]+)\.md\)", replace, content[0])


# -- sphinx-gallery ----------------------------------------------------------------------

# Quick mode: the options of each example's run at build time. Every example writes its
# PNGs to a temporary directory (never over the committed examples/figures/).
# The digits examples (--data digits is their default) get a sixth to a third of their 300
# epochs, 15-35 s each on a loaded 2-core machine; the MNIST ones one epoch (their full runs
# take minutes each); the table five of its 30.
QUICK_ARGS = {
    "plot_latent_space.py": ["--data", "digits", "--max-iter", "100"],
    "plot_label_regularised.py": ["--data", "digits", "--max-iter", "50"],
    "plot_style_content.py": ["--max-iter", "100"],
    "plot_cluster_heads.py": ["--max-iter", "1"],
    "plot_semi_supervised.py": ["--max-iter", "1"],
    "plot_aae_vs_vae.py": ["--max-iter", "1"],
    "plot_tabular.py": ["--max-iter", "5"],
}
QUICK_OUTPUT = Path(tempfile.gettempdir()) / "skaae-docs-figures"

# The committed figures of each example's full-length run, shown on its page under the
# quick run's (whose few epochs cannot show what the example is about).
FULL_RUN_FIGURES = {
    "plot_latent_space": ["examples/figures/latent_space.png", "examples/figures/samples.png"],
    "plot_label_regularised": [
        "examples/figures/label_regularised.png",
        "examples/figures/label_regularised_samples.png",
    ],
    "plot_style_content": ["examples/figures/style_content.png"],
    "plot_cluster_heads": [
        "examples/figures/cluster_heads.png",
        "examples/figures/cluster_heads_100_labels.png",
    ],
    "plot_semi_supervised": ["examples/figures/semi_supervised.png"],
    "plot_aae_vs_vae": ["benchmarks/results/aae_vs_vae.png"],
    "plot_tabular": [
        "examples/figures/tabular_map.png",
        "examples/figures/tabular_marginals.png",
        "examples/figures/tabular_correlations.png",
    ],
}


def reset_argv(gallery_conf, script_vars):
    """The command line of an example's quick run (sphinx-gallery's ``reset_argv``)."""
    name = Path(script_vars["src_file"]).name
    if name not in QUICK_ARGS:
        raise ValueError(f"doc/conf.py: no quick-mode options for {name} (QUICK_ARGS)")
    return [*QUICK_ARGS[name], "--output-dir", str(QUICK_OUTPUT / Path(name).stem)]


sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    # A helper module of the examples, not an example.
    "ignore_pattern": r"(__init__|_common)\.py",
    "reset_argv": "conf.reset_argv",
    # "Examples using X" on the API pages (the minigallery of the autosummary templates).
    "backreferences_dir": "generated/backreferences",
    "doc_module": ("skaae",),
    "abort_on_example_error": False,
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    "capture_repr": (),
    "show_memory": False,
    "line_numbers": False,
}


def add_full_run_figures(app, docname, source):
    """Append the committed figures of the full-length run to an example's page."""
    if not docname.startswith("auto_examples/plot_"):
        return
    example = docname.split("/", 1)[1]
    figures = FULL_RUN_FIGURES.get(example)
    if not figures:
        raise ValueError(f"doc/conf.py: no full-length figures for {example}")
    lines = [
        "",
        "",
        ".. rubric:: The full-length run",
        "",
        "The figures above come from the quick run of this page's build (a few epochs, so",
        "that the whole site builds in minutes). The committed figures of the example's",
        "full-length run (its default options, ``python examples/" + example + ".py``):",
        "",
    ]
    for figure in figures:
        path = ROOT / figure
        if not path.is_file():
            raise FileNotFoundError(f"doc/conf.py: missing full-length figure {figure}")
        lines += [f".. figure:: /../{figure}", f"   :alt: {path.stem}", "   :width: 100%", ""]
        lines += [f"   ``{figure}``", ""]
    source[0] = source[0] + "\n".join(lines)


# -- HTML ---------------------------------------------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = f"skaae {release}"
html_short_title = "skaae"
html_static_path = ["_static"]
html_css_files = ["skaae.css"]
html_show_sourcelink = False
html_copy_source = False
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "header_links_before_dropdown": 6,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
    "secondary_sidebar_items": ["page-toc"],
}
html_context = {"default_mode": "light"}
html_sidebars = {"index": [], "changelog": [], "benchmarks": []}

# -- The API page names every public name ---------------------------------------------------

# The modules whose ``__all__`` doc/api.rst documents in full (each name either under the
# module or, for the re-exports, under the package).
API_MODULES = [
    "skaae",
    "skaae.priors",
    "skaae.losses",
    "skaae.callbacks",
    "skaae.augmentation",
    "skaae.metrics",
    "skaae.plotting",
    "skaae.tabular",
    "skaae.persistence",
    "skaae.nn",
    "skaae.regularisers",
    "skaae.model",
    "skaae.training",
]


def documented_api_names(text):
    """``module.name`` of every autosummary entry and ``py:data`` in ``text`` (api.rst)."""
    names, module, in_table = set(), None, False
    for line in text.splitlines():
        if line.startswith(".. currentmodule::"):
            module = line.split("::", 1)[1].strip()
        elif line.startswith(".. py:data::"):
            names.add(f"{module}.{line.split('::', 1)[1].strip()}")
            in_table = False
        elif line.startswith(".. autosummary::"):
            in_table = True
        elif in_table and line.startswith("   "):
            name = line.strip()
            if name and not name.startswith(":"):
                names.add(name if "." in name else f"{module}.{name}")
        elif in_table and line.strip():
            in_table = False
    return names


def check_api_coverage(app):
    """A warning (an error under -W) for each public name that doc/api.rst leaves out."""
    import importlib

    from sphinx.util import logging

    logger = logging.getLogger("skaae.api")
    documented = documented_api_names((DOC / "api.rst").read_text())
    objects = set()
    for qualified in documented:
        module_name, _, name = qualified.rpartition(".")
        obj = getattr(importlib.import_module(module_name), name, None)
        objects.add(id(obj))
    for module_name in API_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            if name == "__version__" or f"{module_name}.{name}" in documented:
                continue
            obj = getattr(module, name)
            # A re-export documented under another name (skaae.GaussianPrior for
            # skaae.priors.GaussianPrior) counts, classes and functions only.
            if (inspect.isclass(obj) or inspect.isroutine(obj)) and id(obj) in objects:
                continue
            logger.warning(f"doc/api.rst does not document {module_name}.{name}")


# -- Members: skaae's own, not those inherited from scikit-learn or torch ----------------


def skip_foreign_members(app, what, name, obj, skip, options):
    """Skip class members defined outside skaae (scikit-learn's and torch's methods)."""
    if what != "class" or skip:
        return None
    target = obj.fget if isinstance(obj, property) else obj
    target = getattr(target, "__func__", target)
    module = getattr(target, "__module__", None)
    if inspect.isroutine(target) or isinstance(obj, property):
        if module is None or not module.startswith("skaae"):
            return True
    return None


def setup(app):
    app.connect("include-read", rewrite_results_links)
    app.connect("source-read", add_full_run_figures)
    app.connect("builder-inited", check_api_coverage)
    app.connect("autodoc-skip-member", skip_foreign_members)

"""Sphinx configuration of the skvae documentation (built with ``-W``: warnings fail)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import skvae

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))
# Examples train small networks: one thread each keeps the build predictable.
os.environ.setdefault("OMP_NUM_THREADS", "1")

project = "skvae"
author = "skvae developers"
copyright = "2026, skvae developers"
release = skvae.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
# Result tables are pulled into pages with `.. include::`, never pages of their own.
exclude_patterns = [
    "_build",
    "README.md",
    "results/**/cells",
    "results/**/*.md",
    "auto_examples/*.ipynb",
]
suppress_warnings = ["myst.header"]
myst_heading_anchors = 3

autodoc_default_options = {"inherited-members": False}
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_show_inherited_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

intersphinx_mapping = {}  # no network in CI: references stay plain text

sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    # A plain script (ASCII output, no title block): not part of the gallery.
    "ignore_pattern": r"oversample_digits\.py",
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
    "within_subsection_order": "FileNameSortKey",
}

html_theme = "pydata_sphinx_theme"
html_title = "skvae"
html_static_path = []
html_theme_options = {"navigation_with_keys": False, "show_toc_level": 2}

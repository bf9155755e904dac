"""Sphinx configuration for the spikelayers documentation."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

project = "spikelayers"
author = "The spikelayers authors"
copyright = "2026, the spikelayers authors"
extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.viewcode"]
html_theme = "furo"
html_title = "spikelayers"
exclude_patterns = ["_build", "_generated"]
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"show-inheritance": True}
napoleon_google_docstring = True
napoleon_numpy_docstring = False
nitpicky = False
suppress_warnings = ["ref.python"]


def _write_catalogue(app) -> None:
    from catalogue import write_catalogue

    write_catalogue(HERE / "catalogue.rst")


def _write_bench_tables(app) -> None:
    from bench_tables import write_tables

    write_tables(HERE / "performance", HERE / "_generated")


def _write_surrogate_gallery(app) -> None:
    from surrogate_gallery import write_gallery

    write_gallery(HERE / "_generated" / "surrogate-gallery.rst", HERE / "_generated" / "surrogates")


def setup(app):
    app.connect("builder-inited", _write_catalogue)
    app.connect("builder-inited", _write_bench_tables)
    app.connect("builder-inited", _write_surrogate_gallery)

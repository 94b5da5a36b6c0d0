"""Sphinx configuration of the powerfirst docs (``make docs``).

Offline by design: no intersphinx (its inventories would be fetched from the network), notebooks
rendered from their committed state (``nb_execution_mode = "off"``), references generated from
the code by ``_ext/pf_docs.py``.
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))
sys.path.insert(0, str(HERE.parent / "toolkit"))  # the sources, also without an editable install

import powerfirst  # noqa: E402

project = "powerfirst"
author = "powerfirst developers"
copyright = "powerfirst developers, BSD-3-Clause"
release = powerfirst.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.extlinks",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_nb",
    "pf_docs",
]

exclude_patterns = ["_build", "**.ipynb_checkpoints", "Thumbs.db", ".DS_Store"]
templates_path = ["_templates"]
root_doc = "index"
nitpicky = False

# -- API reference -------------------------------------------------------------------------------
autosummary_generate = True
autosummary_ignore_module_all = (
    True  # recurse into every public module; re-exports via pf-reexports
)
autosummary_imported_members = False  # each object documented once, where it is defined
# the recursive scan imports every submodule, private ones too; `python -m powerfirst` would run
# the CLI on sphinx-build's arguments
autosummary_mock_imports = ["powerfirst.__main__"]
autodoc_typehints = "none"  # numpydoc docstrings carry the types (with units)
autodoc_member_order = "bysource"
autodoc_default_options = {"show-inheritance": True}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

extlinks = {"doi": ("https://doi.org/%s", "doi:%s")}

# -- notebooks (copied from ../notebooks at build time, never executed here) ---------------------
pf_notebooks = [("../notebooks", "_notebooks")]
nb_execution_mode = "off"
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
# outputs of Panel/HoloViews/Bokeh cells carry JavaScript mime types that a static page cannot use
suppress_warnings = ["mystnb.unknown_mime_type"]

# -- HTML ----------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"powerfirst {release}"
html_static_path = []
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "navbar_align": "left",
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_sidebars = {"index": []}

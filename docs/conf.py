"""Sphinx configuration of skmid's documentation."""

import os
from pathlib import Path

# The examples' small networks run fastest on one thread; several threads
# spin against each other on a loaded machine (set before numpy and torch
# load their thread pools).
os.environ.setdefault("OMP_NUM_THREADS", "1")

import matplotlib  # noqa: E402

import skmid  # noqa: E402

# The gallery's examples run at build time with a non-interactive backend.
matplotlib.use("Agg")

# Examples that need a data file read it from the project's shared data
# folder (``../shared/data`` beside the repository, as the tests do) rather
# than downloading it: the build stays offline.
_SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
if "SKMID_DATA" not in os.environ and _SHARED_DATA.is_dir():
    os.environ["SKMID_DATA"] = str(_SHARED_DATA)

project = "skmid"
author = "The skmid developers"
copyright = "2026, The skmid developers"
version = release = skmid.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    # MathJax copied into the built site: formulas render offline.
    "sphinx-mathjax-offline",
    "sphinx.ext.viewcode",
    "sphinx_copybutton",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
autosummary_generate = True
# Class pages list inherited public methods too (a post-processor's transform
# comes from BasePostProcessor), as scikit-learn's API pages do: see
# _templates/autosummary/class.rst.
autodoc_default_options = {"members": True}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
templates_path = ["_templates"]
exclude_patterns = ["_build", "generated/*.examples"]
html_theme = "pydata_sphinx_theme"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
}
copybutton_prompt_text = r">>> |\.\.\. |\$ "
copybutton_prompt_is_regexp = True
html_static_path = ["_static"]

# The example gallery (examples/ -> auto_examples/): every plot_*.py script is
# executed at build time, its figures scraped and its thumbnail made; API pages
# list the examples that use the object (backreferences, see the templates).
# Only skmid's own names are linked (no intersphinx: the build is offline).
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "within_subsection_order": "FileNameSortKey",
    "doc_module": ("skmid",),
    "backreferences_dir": "gen_modules/backreferences",
    "reference_url": {"skmid": None},
    "remove_config_comments": True,
    "image_scrapers": ("matplotlib",),
    "min_reported_time": 1,
    "show_memory": False,
}


def _skip_members_not_defined_in_skmid(app, what, name, obj, skip, options):
    """Document skmid's own methods, not those classes inherit from scikit-learn."""
    if what == "class" and not (getattr(obj, "__module__", "") or "").startswith(
        "skmid"
    ):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_members_not_defined_in_skmid)

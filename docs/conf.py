"""Sphinx configuration of skmid's documentation."""

import skmid

project = "skmid"
author = "The skmid developers"
copyright = "2026, The skmid developers"
version = release = skmid.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
]
autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
templates_path = ["_templates"]
exclude_patterns = ["_build", "generated/*.examples"]
html_theme = "alabaster"
html_static_path = ["_static"]


def _skip_members_not_defined_in_skmid(app, what, name, obj, skip, options):
    """Document skmid's own methods, not those classes inherit from scikit-learn."""
    if what == "class" and not (getattr(obj, "__module__", "") or "").startswith(
        "skmid"
    ):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_members_not_defined_in_skmid)

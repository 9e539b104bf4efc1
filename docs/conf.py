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
    # MathJax copied into the built site: formulas render offline.
    "sphinx-mathjax-offline",
    "sphinx.ext.viewcode",
    "sphinx_copybutton",
    "numpydoc",
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


def _skip_members_not_defined_in_skmid(app, what, name, obj, skip, options):
    """Document skmid's own methods, not those classes inherit from scikit-learn."""
    if what == "class" and not (getattr(obj, "__module__", "") or "").startswith(
        "skmid"
    ):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_members_not_defined_in_skmid)

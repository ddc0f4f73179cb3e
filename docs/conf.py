"""Sphinx configuration for the autopatchelf docs (built by ``nox -s docs``)."""

project = "autopatchelf"
author = "the autopatchelf developers"
copyright = "2026, the autopatchelf developers"
extensions = ["sphinx.ext.autodoc"]
autodoc_typehints = "none"
exclude_patterns = ["_build"]
html_theme = "alabaster"
nitpicky = True
# Only what Sphinx cannot know: the standard library and attrs' own names (no intersphinx
# here: the docs build offline). Every autopatchelf name must resolve.
nitpick_ignore_regex = [
    (r"py:class", r"(typing|collections\.abc|enum|os|attrs?|pysat)\..*"),
]

"""Sphinx configuration for the autopatchelf docs (built by ``nox -s docs``)."""

project = "autopatchelf"
author = "the autopatchelf developers"
copyright = "2026, the autopatchelf developers"
extensions = ["sphinx.ext.autodoc"]
autodoc_typehints = "none"
exclude_patterns = ["_build"]
html_theme = "alabaster"
nitpicky = True
# Types from attrs/typing that autodoc names but Sphinx cannot link.
nitpick_ignore_regex = [(r"py:.*", r".*")]

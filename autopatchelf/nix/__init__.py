"""Talking to Nix itself: where it keeps things (:mod:`~autopatchelf.nix.dirs`), its
database read-only (:mod:`~autopatchelf.nix.db`), the ``nix-store`` command
(:mod:`~autopatchelf.nix.cli`).

Nothing is imported eagerly: ``run`` with a lock loads only what it asks for.
"""

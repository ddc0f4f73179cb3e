"""Editing ELF files in place: find the targets, plan the edits, rewrite with lief, commit
atomically (``patch``)."""

"""Names from foreign files reach terminals, CI logs, XML and shells: made safe per format.

A DT_NEEDED string, a RUNPATH or a file name is whatever bytes the file holds. We keep
them as they are (``str`` with undecodable bytes as surrogate escapes, the way the ELF
reader decodes them) until the output, and escape them here, per format:

* :func:`visible` for text meant to be read (terminals, logs, XML text): control
  characters, format characters (bidi overrides), DEL/C1 and undecodable bytes become
  ``\\n``, ``\\x1b``, ``\\u202e``, ``\\xff``: nothing can move the cursor, forge a line or
  fail to encode;
* :func:`json_text` for JSON: undecodable bytes become ``\\udcff`` escapes (valid JSON,
  read back as the same string);
* :func:`shell_bytes` for shells: the original bytes, so a quoted path names the file.
"""

from __future__ import annotations

from autopatchelf.schema import json_text

__all__ = ["json_text", "shell_bytes", "visible", "visible_lines"]

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}


def _char(char: str) -> str:
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte, as surrogateescape keeps it
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def visible(text: str) -> str:
    """``text`` with every character that is not printable shown as an escape."""
    if text.isprintable() and "\\" not in text:
        return text
    return "".join(c if c.isprintable() and c != "\\" else _char(c) for c in text)


def visible_lines(text: str) -> str:
    """:func:`visible` for each line of a multi-line text (its own newlines kept)."""
    return "\n".join(visible(line) for line in text.split("\n"))


def shell_bytes(text: str) -> bytes:
    """``text`` (already shell-quoted) as the bytes the names really have."""
    return text.encode("utf-8", "surrogateescape")

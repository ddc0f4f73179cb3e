"""A store path that is not in the store but a binary cache can substitute: what it costs."""

from __future__ import annotations

import attrs

from autopatchelf.frozen import Record


@attrs.frozen(repr=False)
class Substitute(Record):
    """What realising one store path costs, and where it comes from."""

    store_path: str
    #: Bytes to download (the NAR as the cache stores it, compressed).
    file_size: int
    #: Bytes it takes in the store.
    nar_size: int
    #: The binary cache it comes from.
    substituter: str
    #: The nix-index attribute that builds it (``gcc.cc.lib``), when a database said.
    origin: str | None = None
    #: What made it a candidate: ``--nix-index DB``, ``--remote-paths FILE`` or
    #: ``--substituter URL`` (a ``file://`` cache's own paths); empty for a dependency.
    named_by: str = ""

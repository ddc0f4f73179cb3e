"""Progress reporting: the protocol the library calls, and a terminal bar for the CLI.

The library never prints: long operations accept an optional :class:`Progress` and
call it. :class:`TerminalProgress` draws a one-line bar on a stream, but only when that
stream is a TTY and the work has already taken longer than ``delay`` seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol, TextIO


class Progress(Protocol):
    """Receives progress of a long operation, one phase at a time."""

    def start(self, phase: str, total: int) -> None:
        """A phase with ``total`` steps begins."""
        ...

    def advance(self, steps: int = 1) -> None:
        """``steps`` more steps of the current phase are done."""
        ...

    def finish(self) -> None:
        """The current phase is over."""
        ...


class NullProgress:
    """Reports nothing."""

    def start(self, phase: str, total: int) -> None:
        pass

    def advance(self, steps: int = 1) -> None:
        pass

    def finish(self) -> None:
        pass


class TerminalProgress:
    """A ``\\r``-redrawn bar on ``stream`` (a TTY), shown once a phase outlasts ``delay``."""

    def __init__(
        self,
        stream: TextIO,
        *,
        delay: float = 0.5,
        interval: float = 0.1,
        width: int = 30,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._stream = stream
        self._delay = delay
        self._interval = interval
        self._width = width
        self._clock = clock or time.monotonic
        self._enabled = _is_tty(stream)
        self._phase = ""
        self._total = 0
        self._done = 0
        self._started = 0.0
        self._drawn_at: float | None = None
        self._line_length = 0

    def start(self, phase: str, total: int) -> None:
        self._phase, self._total, self._done = phase, total, 0
        self._started = self._clock()
        self._drawn_at = None

    def advance(self, steps: int = 1) -> None:
        self._done += steps
        if not self._enabled:
            return
        now = self._clock()
        if now - self._started < self._delay:
            return
        if self._drawn_at is not None and now - self._drawn_at < self._interval:
            return
        self._draw(now)

    def finish(self) -> None:
        if self._enabled and self._drawn_at is not None:
            self._stream.write("\r" + " " * self._line_length + "\r")
            self._stream.flush()
        self._drawn_at = None
        self._line_length = 0

    def _draw(self, now: float) -> None:
        total = max(self._total, 1)
        filled = min(self._width, self._width * self._done // total)
        bar = "#" * filled + "." * (self._width - filled)
        line = f"{self._phase} [{bar}] {self._done}/{self._total} {now - self._started:.1f}s"
        padding = " " * max(0, self._line_length - len(line))
        self._stream.write("\r" + line + padding)
        self._stream.flush()
        self._line_length = len(line)
        self._drawn_at = now


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False

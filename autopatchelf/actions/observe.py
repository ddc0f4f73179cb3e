"""What a program really loads at run time, as glibc's own loader reports it.

:func:`run_observed` runs a program with ``LD_DEBUG=libs,files`` and
``LD_DEBUG_OUTPUT=<private dir>/trace``: every process that starts through glibc's ld.so
(children included, as long as they inherit the environment) writes its loader trace to
``trace.<pid>``. :func:`parse_trace` turns one such trace into what was opened and what
could not be, without touching the file system, so it can be tested on recorded text.

The trace records loads; it does not say in so many words that one failed. What each rule
below infers is documented where it is applied; in short (glibc 2.36):

* ``file=NAME [NS];  needed by OBJ [NS]`` and ``file=NAME [NS];  dynamically loaded by
  OBJ [NS]`` open a *request*: ld.so was asked for ``NAME`` (a ``DT_NEEDED``/``LD_PRELOAD``
  entry, or a ``dlopen``/``dlmopen`` argument) in namespace ``NS``;
* ``find library=...; searching``, `` search path=DIRS\\t\\t(SOURCE)``, `` search cache=...``
  and ``  trying file=PATH`` follow while it searches for a name without a slash;
* ``file=NAME [NS];  generating link map`` says a new object was mapped for the request;
  the file is the last ``trying file=`` (or ``NAME`` itself when it holds a slash);
* ``calling init: PATH``, ``initialize program: PATH`` and ``transferring control: PATH``
  end start-up; ``opening file=PATH [NS]; direct_opencount=N`` ends a successful
  ``dlopen``; ``file=NAME [NS];  destroying link map`` and ``calling fini: PATH [NS]``
  unload;
* ``OBJ: error: WHAT: MESSAGE (fatal)`` reports an error other than a missing file (a
  missing symbol version...) that ends a ``dlopen``; a file not found is never reported,
  only seen as a request that got no link map.

Requests never name the main program or ld.so itself in namespace 0, so neither is ever
an :class:`Opened` entry.
"""

from __future__ import annotations

import contextlib
import os
import re
import selectors
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import IO, Any, Literal, TypeVar

import attrs

from autopatchelf.errors import RunError
from autopatchelf.frozen import Record

__all__ = ["FailedLoad", "Observation", "Opened", "parse_trace", "run_observed"]

#: ``needed``: a ``DT_NEEDED`` (or ``LD_PRELOAD``) entry; ``dlopen``: a ``dlopen`` call.
How = Literal["needed", "dlopen"]

#: The debug categories asked of ld.so: ``libs`` (searches) and ``files`` (maps, opens).
LD_DEBUG = "libs,files"
#: How much of the program's stdout and of its stderr is kept: the last 64 KiB of each.
TAIL_BYTES = 64 * 1024
#: How long a process group gets between SIGTERM and SIGKILL (and SIGKILL and giving up).
KILL_GRACE = 2.0
#: At most this much of one trace file is read (a runaway ``dlopen`` loop writes a lot).
MAX_TRACE_BYTES = 64 * 1024 * 1024
_POLL_SECONDS = 0.05
_T = TypeVar("_T")


@attrs.frozen(repr=False)
class Opened(Record):
    """An object ld.so found for a request: mapped anew, or an object already loaded.

    A ``dlopen`` that failed lists what it mapped before failing (ld.so then unmapped it);
    the failure itself is a :class:`FailedLoad`."""

    #: What was asked for: a soname such as ``libsqlite3.so.0``, or a path if one was given.
    name: str
    #: The file, as ld.so printed it (for a ``dlopen``, the name of the object it returned).
    path: str
    #: The object on whose behalf it was loaded (``needed by``/``dynamically loaded by``).
    requester: str | None
    #: The link-map namespace (0 unless ``dlmopen`` made another).
    namespace: int
    #: Requested before ``transferring control:`` in its process, i.e. during start-up.
    at_startup: bool
    how: How


@attrs.frozen(repr=False)
class FailedLoad(Record):
    """A request ld.so could not satisfy (no loadable file), or a ``dlopen`` that failed."""

    name: str
    requester: str | None
    namespace: int
    at_startup: bool
    how: How
    #: Every ``trying file=`` of the search, in order (empty for a path or no search).
    tried: tuple[str, ...]
    #: The error ld.so printed into the trace (a missing symbol version...), if any.
    reason: str | None


@attrs.frozen(repr=False)
class Observation(Record):
    """One observed run: how it ended, what its processes opened and failed to open."""

    #: The exit status of the program; negative for the signal that ended it.
    returncode: int
    #: ``timeout`` elapsed before the program exited (its process group was then killed).
    timed_out: bool
    stdout_tail: str
    stderr_tail: str
    #: How many trace files the run left: one per process that started through ld.so (an
    #: ``exec`` appends to its process's file).
    processes: int
    #: In the order seen (the first program's process first, then by process id).
    opened: tuple[Opened, ...]
    failed: tuple[FailedLoad, ...]


# -- parsing -------------------------------------------------------------------------------

#: ld.so prefixes every line of its debug output with ``%5d:\t``, the process id.
_PREFIX = re.compile(r"\s*(\d+):\t")
_REQUEST = re.compile(
    r"file=(?P<name>.*) \[(?P<ns>\d+)\];  (?P<how>needed|dynamically loaded) by "
    r"(?P<requester>.*?)(?: \[(?P<rns>\d+)\])?"
)
_LINK_MAP = re.compile(r"file=(?P<name>.*) \[(?P<ns>\d+)\];  generating link map")
_OPENING = re.compile(r"opening file=(?P<path>.*) \[(?P<ns>\d+)\]; direct_opencount=\d+")
_SEARCH_PATH = re.compile(r"search path=(?P<dirs>.*?)\t\t\((?P<source>.*)\)")
_ERROR = re.compile(r"(?P<object>.*?): error: (?P<message>.*) \((?:fatal|continued)\)")
#: The sonames glibc gives its dynamic loader on the architectures it supports.
_LOADER_SONAME = re.compile(r"ld(?:-linux(?:-[\w-]+)?|64)?\.so\.\d+")
_SYSTEM_SEARCH_PATH = "system search path"


@attrs.define(repr=False)
class _Request(Record):
    """One ``file=NAME [NS];  needed by``/``dynamically loaded by`` record and what
    followed it, until the next request."""

    seq: int
    name: str
    namespace: int
    requester: str | None
    how: How
    at_startup: bool
    tried: list[str] = attrs.field(factory=list)
    #: The directories of the last `` search path=`` line, and its source in parentheses
    #: (``RUNPATH from file X``, ``system search path``...) or ``cache``.
    last_dirs: tuple[str, ...] = ()
    last_source: str | None = None
    mapped: bool = False
    #: The object a successful ``dlopen`` returned (its ``opening file=`` line).
    opened_as: str | None = None

    def path(self) -> str:
        """The file: a ``dlopen``'s ``opening file=``; else the name when it holds a slash
        (ld.so opens such a name as it is); else the last file the search tried (ld.so
        stops at the first one it can use)."""
        if self.opened_as:
            return self.opened_as
        if "/" in self.name or not self.tried:
            return self.name
        return self.tried[-1]

    def exhausted(self) -> bool:
        """The search tried every candidate and found none: for a name, its last
        ``trying file=`` is the last directory of the system search path (glibc's last
        resort); a path, or a name nothing was tried for, had nothing left to try."""
        if "/" in self.name or not self.tried:
            return True
        if self.last_source != _SYSTEM_SEARCH_PATH or not self.last_dirs:
            return False
        return self.tried[-1] == self.last_dirs[-1].rstrip("/") + "/" + self.name


@attrs.define(repr=False)
class _Operation(Record):
    """A unit of loading that succeeds or fails as a whole: a process's start-up (its
    preloads and ``DT_NEEDED`` closure), or one ``dlopen`` and the objects it needs."""

    kind: Literal["startup", "dlopen"]
    records: list[_Request] = attrs.field(factory=list)
    #: ``calling init:`` was seen: everything is mapped and relocated, constructors run
    #: (and may ``dlopen`` in turn: a nested operation).
    in_init: bool = False
    error: str | None = None

    def root(self) -> _Request | None:
        return self.records[0] if self.kind == "dlopen" and self.records else None

    def concluded_by(self, path: str, namespace: int) -> bool:
        """``opening file=PATH`` ends this ``dlopen``: PATH is its object (the name it was
        asked for, the file its search found, or the same file name after ld.so expanded
        ``$ORIGIN`` or a relative path)."""
        root = self.root()
        if root is None or not root.mapped or root.namespace != namespace:
            return False
        if root.path() == path:
            return True
        return "/" in root.name and os.path.basename(root.name) == os.path.basename(path)


class _TraceParser:
    """Reads one trace line by line and emits what each operation opened and failed.

    It keeps a stack of pending operations: start-up at the bottom until ``transferring
    control:``, a ``dlopen`` above it until its ``opening file=``, and ``dlopen`` calls made
    by constructors (during ``calling init:``) above that."""

    def __init__(self) -> None:
        self.opened: list[tuple[int, Opened]] = []
        self.failed: list[tuple[int, FailedLoad]] = []
        self._seq = 0
        self._pid: str | None = None
        self._stack: list[_Operation] = []
        self._started = False
        self._start_image()

    # -- lines -----------------------------------------------------------------------------

    def feed(self, line: str) -> None:
        """One line of the trace (never raises: what it cannot read, it skips)."""
        prefix = _PREFIX.match(line)
        if prefix is not None:
            if self._pid is not None and prefix.group(1) != self._pid:
                # A file per process id, appended to: a reused id starts another process.
                self._start_image()
            self._pid = prefix.group(1)
            line = line[prefix.end() :]
        self._dispatch(line.lstrip(" ").rstrip("\r\n"))

    def _dispatch(self, text: str) -> None:
        if text.startswith("file="):
            self._file_line(text)
        elif text.startswith("trying file="):
            self._trying(text.removeprefix("trying file="))
        elif text.startswith("search path="):
            self._search_path(text)
        elif text.startswith("search cache="):
            self._search_cache()
        elif text.startswith("calling init: "):
            self._calling_init()
        elif text.startswith("transferring control: "):
            self._transferring_control()
        elif text.startswith("opening file="):
            self._opening(text)
        elif text.startswith("calling fini: "):
            self._calling_fini()
        elif ": error: " in text:
            self._error(text)

    def _file_line(self, text: str) -> None:
        if (m := _REQUEST.fullmatch(text)) is not None:
            how: How = "needed" if m.group("how") == "needed" else "dlopen"
            requester = m.group("requester") if m.group("rns") is not None else None
            self._request(m.group("name"), int(m.group("ns")), requester, how)
        elif (m := _LINK_MAP.fullmatch(text)) is not None:
            self._link_map(m.group("name"), int(m.group("ns")))

    # -- events ----------------------------------------------------------------------------

    def _request(self, name: str, namespace: int, requester: str | None, how: How) -> None:
        """A request belongs to the innermost pending operation; a ``dlopen`` starts one.

        A ``needed by`` request with no operation pending, or one a pending ``dlopen`` cannot
        have made, is the start-up of a new program: ``exec`` keeps the process id, so ld.so
        appends the new program's trace to the same file."""
        if how == "dlopen":
            self._drop_unfinished()
            self._stack.append(_Operation("dlopen"))
        elif not self._stack or self._foreign(requester):
            self._start_image()
        self._seq += 1
        record = _Request(self._seq, name, namespace, requester, how, not self._started)
        self._stack[-1].records.append(record)

    def _foreign(self, requester: str | None) -> bool:
        """Within a ``dlopen``, ld.so loads only what the objects this ``dlopen`` mapped
        need, and names each requester by the file it mapped; any other requester is a
        new program's. (A requested name holding ``$`` is printed before ld.so expands
        ``$ORIGIN`` and the like, and mapped under the expansion: no test then.)"""
        top = self._stack[-1]
        if top.kind != "dlopen" or requester is None:
            return False
        if any("$" in record.name for record in top.records):
            return False
        return requester not in {record.path() for record in top.records if record.mapped}

    def _link_map(self, name: str, namespace: int) -> None:
        """``generating link map`` maps a new object for the latest request of that name.
        One without a request is the main program, mapped by ld.so run as a command."""
        if not self._stack:
            return
        for record in reversed(self._stack[-1].records):
            if record.name == name and record.namespace == namespace and not record.mapped:
                record.mapped = True
                return

    def _current(self) -> _Request | None:
        """The request a search line belongs to: the latest one, while unmapped."""
        if not self._stack or not self._stack[-1].records:
            return None
        record = self._stack[-1].records[-1]
        return None if record.mapped else record

    def _trying(self, path: str) -> None:
        if (record := self._current()) is not None:
            record.tried.append(path)

    def _search_path(self, text: str) -> None:
        """`` search path=D1:D2...\\t\\t(SOURCE)``: the directories about to be tried."""
        record = self._current()
        m = _SEARCH_PATH.fullmatch(text)
        if record is not None and m is not None:
            record.last_dirs = tuple(m.group("dirs").split(":"))
            record.last_source = m.group("source")

    def _search_cache(self) -> None:
        if (record := self._current()) is not None:
            record.last_dirs = ()
            record.last_source = "cache"

    def _calling_init(self) -> None:
        """Constructors run once the whole operation is mapped and relocated."""
        if self._stack:
            self._stack[-1].in_init = True

    def _transferring_control(self) -> None:
        """Start-up succeeded: ld.so jumps to the program. A ``dlopen`` still pending from a
        constructor that never reached its own constructors has failed."""
        while self._stack:
            op = self._stack.pop()
            self._finish(op, ok=op.kind == "startup" or op.in_init)
        self._started = True

    def _opening(self, text: str) -> None:
        """``opening file=PATH`` ends a successful ``dlopen``. Operations above the one it
        ends have failed; when none matches, PATH is the object an unmapped request turned
        out to be (the same file as one already loaded, under another name). On its own,
        the line is a ``dlopen`` of an object already loaded, which makes no request."""
        m = _OPENING.fullmatch(text)
        if m is None or not m.group("path"):
            return  # ``opening file= [0]``: dlopen(NULL), the main program.
        path, namespace = m.group("path"), int(m.group("ns"))
        for depth in range(len(self._stack) - 1, -1, -1):
            if self._stack[depth].concluded_by(path, namespace):
                while len(self._stack) > depth + 1:
                    self._finish(self._stack.pop(), ok=False)
                self._conclude(path)
                return
        top = self._stack[-1] if self._stack else None
        root = top.root() if top is not None else None
        if root is not None and top is not None and (not root.mapped or not top.in_init):
            self._conclude(path)

    def _conclude(self, path: str) -> None:
        op = self._stack.pop()
        root = op.root()
        if root is not None:
            root.opened_as = path
        self._finish(op, ok=True)

    def _calling_fini(self) -> None:
        """Destructors run at exit (or ``dlclose``): a ``dlopen`` still pending failed."""
        self._drop_unfinished()

    def _error(self, text: str) -> None:
        m = _ERROR.fullmatch(text)
        if m is not None and self._stack and self._stack[-1].error is None:
            self._stack[-1].error = f"{m.group('object')}: {m.group('message')}"

    # -- outcomes --------------------------------------------------------------------------

    def _drop_unfinished(self) -> None:
        """A new ``dlopen`` (or a destructor) while a ``dlopen`` is pending and has not run
        its constructors: ld.so gave up on that one (it loads under a lock, one at a time,
        and a failure unwinds it without an ``opening file=`` line)."""
        while self._stack and self._stack[-1].kind == "dlopen" and not self._stack[-1].in_init:
            self._finish(self._stack.pop(), ok=False)

    def _start_image(self) -> None:
        """A new program in this process: what is pending ends with the trace."""
        self.finish()
        self._stack = [_Operation("startup")]
        self._started = False

    def finish(self) -> None:
        """The trace ended (or another program replaced this one): what had reached its
        constructors was mapped and relocated in full; anything else failed (start-up that
        did not transfer control, a ``dlopen`` cut short)."""
        while self._stack:
            op = self._stack.pop()
            self._finish(op, ok=op.in_init)

    def _finish(self, op: _Operation, *, ok: bool) -> None:
        """What an ended operation opened and failed to open.

        A mapped request opened its file. An unmapped one either matched an object already
        loaded (glibc compares device and inode after opening the file, silently) or found
        nothing. A failure ends a ``dlopen`` at once, and start-up too, except for
        ``LD_PRELOAD`` entries, which ld.so ignores with a warning. So: in a successful
        ``dlopen``, every request was satisfied; in a failed operation, the last request
        failed; the others, and those of successful start-up, failed if their search was
        exhausted. A failed ``dlopen`` whose requests were all mapped failed later (a
        missing symbol version...): its own request is the failure."""
        for index, record in enumerate(op.records):
            last = index == len(op.records) - 1
            if record.mapped or (op.kind == "dlopen" and (ok or not last)):
                self._emit_opened(record)
            elif (not ok and last) or record.exhausted():
                self._emit_failed(record, op.error)
            else:
                self._emit_opened(record)
        root = op.root()
        if not ok and root is not None and op.records[-1].mapped:
            self._emit_failed(root, op.error)

    def _emit_opened(self, record: _Request) -> None:
        """Only the loader's own soname resolves, unmapped, to ld.so itself (one copy serves
        every namespace): that is the loader, not an object opened for the program."""
        if not record.mapped and _LOADER_SONAME.fullmatch(os.path.basename(record.name)):
            return
        opened = Opened(
            name=record.name,
            path=record.path(),
            requester=record.requester,
            namespace=record.namespace,
            at_startup=record.at_startup,
            how=record.how,
        )
        self.opened.append((record.seq, opened))

    def _emit_failed(self, record: _Request, reason: str | None) -> None:
        failed = FailedLoad(
            name=record.name,
            requester=record.requester,
            namespace=record.namespace,
            at_startup=record.at_startup,
            how=record.how,
            tried=tuple(record.tried),
            reason=reason,
        )
        self.failed.append((record.seq, failed))


def _in_order(items: Iterable[tuple[int, _T]]) -> tuple[_T, ...]:
    """By the position of their request in the trace, each once (the first time)."""
    return _unique(item for _, item in sorted(items, key=lambda pair: pair[0]))


def _unique(items: Iterable[_T]) -> tuple[_T, ...]:
    return tuple(dict.fromkeys(items))


def parse_trace(text: str) -> tuple[tuple[Opened, ...], tuple[FailedLoad, ...]]:
    """What one ld.so trace (``LD_DEBUG=libs,files``) opened and failed to open, in the
    order requested, each once. Pure, and total: odd or truncated lines are skipped."""
    parser = _TraceParser()
    for line in text.split("\n"):
        parser.feed(line)
    parser.finish()
    return _in_order(parser.opened), _in_order(parser.failed)


# -- running ---------------------------------------------------------------------------------


def run_observed(
    argv: Sequence[str],
    env: Mapping[str, str],
    *,
    timeout: float | None,
    stdin: int | IO[Any] | None = subprocess.DEVNULL,
    cwd: str | os.PathLike[str] | None = None,
) -> Observation:
    """Run ``argv`` with ``env`` plus ld.so's tracing, and report what it loaded.

    The program runs in a new session with no input (unless ``stdin`` says otherwise;
    ``subprocess.PIPE`` gives it an empty one); the last :data:`TAIL_BYTES` of its stdout
    and stderr are kept. After ``timeout`` seconds its whole process group gets SIGTERM,
    and SIGKILL :data:`KILL_GRACE` seconds later; with ``timeout=None`` this waits as long
    as the program, or any process still holding its output, runs. A program that fails or
    is killed still reports what it opened. Programs that clear ``LD_DEBUG`` for their
    children, and set-user-ID programs (ld.so ignores ``LD_DEBUG_OUTPUT`` for them), leave
    no trace here.

    Raises :class:`~autopatchelf.errors.RunError` when ``argv`` cannot be started.
    """
    if not argv:
        raise RunError("nothing to run: the command is empty")
    with tempfile.TemporaryDirectory(prefix="autopatchelf-trace-", ignore_cleanup_errors=True) as d:
        traced = {**env, "LD_DEBUG": LD_DEBUG, "LD_DEBUG_OUTPUT": os.path.join(d, "trace")}
        proc = _start(argv, traced, stdin=stdin, cwd=cwd)
        try:
            timed_out, stdout_tail, stderr_tail = _supervise(proc, timeout)
        except BaseException:
            _signal_group(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
        traces = _read_traces(d, proc.pid)
    parsed = [parse_trace(text) for text in traces]
    return Observation(
        returncode=proc.returncode,
        timed_out=timed_out,
        stdout_tail=stdout_tail,
        stderr_tail=stderr_tail,
        processes=len(traces),
        opened=_unique(item for opened, _ in parsed for item in opened),
        failed=_unique(item for _, failed in parsed for item in failed),
    )


def _start(
    argv: Sequence[str],
    env: Mapping[str, str],
    *,
    stdin: int | IO[Any] | None,
    cwd: str | os.PathLike[str] | None,
) -> subprocess.Popen[bytes]:
    try:
        proc = subprocess.Popen(
            list(argv),
            env=dict(env),
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            start_new_session=True,
        )
    except OSError as exc:
        raise RunError(f"cannot execute {argv[0]}: {exc.strerror or exc}") from exc
    if proc.stdin is not None:
        proc.stdin.close()
    return proc


@attrs.define(repr=False)
class _Tail(Record):
    """The last :data:`TAIL_BYTES` of a stream."""

    data: bytearray = attrs.field(factory=bytearray)

    def add(self, chunk: bytes) -> None:
        self.data += chunk
        if len(self.data) > TAIL_BYTES:
            del self.data[:-TAIL_BYTES]

    def text(self) -> str:
        return self.data.decode("utf-8", "replace")


def _supervise(proc: subprocess.Popen[bytes], timeout: float | None) -> tuple[bool, str, str]:
    """Collect the program's output until it exits and its output closes, killing its
    process group once ``timeout`` elapses. Returns whether the program itself was still
    running then, and the tails of its stdout and stderr."""
    assert proc.stdout is not None and proc.stderr is not None
    out, err = proc.stdout.fileno(), proc.stderr.fileno()
    tails = {out: _Tail(), err: _Tail()}
    try:
        with selectors.DefaultSelector() as selector:
            for fd in tails:
                selector.register(fd, selectors.EVENT_READ)
            timed_out = _pump(proc, selector, tails, timeout)
    finally:
        proc.stdout.close()
        proc.stderr.close()
    proc.wait()
    return timed_out, tails[out].text(), tails[err].text()


def _pump(
    proc: subprocess.Popen[bytes],
    selector: selectors.BaseSelector,
    tails: Mapping[int, _Tail],
    timeout: float | None,
) -> bool:
    """Read until the program has exited and every holder of its output has closed it.
    At the deadline: SIGTERM to the group; :data:`KILL_GRACE` later, SIGKILL; as long
    again later, stop reading (something outside the group holds the output)."""
    deadline = None if timeout is None else time.monotonic() + max(timeout, 0.0)
    signals = [signal.SIGTERM, signal.SIGKILL]
    timed_out = False
    while selector.get_map() or proc.poll() is None:
        now = time.monotonic()
        if deadline is not None and now >= deadline:
            if not signals:
                break
            if len(signals) == 2:
                timed_out = proc.poll() is None
            _signal_group(proc.pid, signals.pop(0))
            deadline = now + KILL_GRACE
            continue
        wait = _POLL_SECONDS if deadline is None else min(_POLL_SECONDS, deadline - now)
        if selector.get_map():
            _read_ready(selector, tails, wait)
        else:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(wait)
    return timed_out


def _read_ready(selector: selectors.BaseSelector, tails: Mapping[int, _Tail], wait: float) -> None:
    for key, _ in selector.select(wait):
        fd = key.fd
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            chunk = b""
        if chunk:
            tails[fd].add(chunk)
        else:
            selector.unregister(fd)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    """Signal the program's process group (its session: ``start_new_session``)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _read_traces(directory: str, main_pid: int) -> list[str]:
    """The texts of the ``trace.<pid>`` files ld.so wrote: the program's own first, then
    the others by process id. Names are decoded as the file system's (undecodable bytes
    kept as surrogate escapes, like :func:`os.fsdecode`)."""
    found: list[tuple[bool, int, str]] = []
    with os.scandir(directory) as entries:
        for entry in entries:
            stem, _, pid = entry.name.rpartition(".")
            if stem == "trace" and pid.isdigit() and entry.is_file(follow_symlinks=False):
                found.append((int(pid) != main_pid, int(pid), entry.path))
    texts = []
    for _, _, path in sorted(found):
        with open(path, "rb") as f:
            texts.append(os.fsdecode(f.read(MAX_TRACE_BYTES)))
    return texts

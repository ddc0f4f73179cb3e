"""The ``nix-store`` command as a fallback when Nix's database cannot be read directly
(e.g. a multi-user install where only the daemon may open it)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from autopatchelf.errors import StoreError

_BATCH = 500


class NixStoreCommand:
    """Queries through ``nix-store -q``; results are memoised (store paths are immutable)."""

    def __init__(self, store_dir: str, *, executable: str = "nix-store", timeout: float = 300.0):
        from shutil import which  # only where Nix is run as a command

        found = which(executable)
        if found is None:
            raise StoreError(
                f"{executable} not found on PATH",
                hint="install Nix, or index the directory without Nix (--nix none)",
            )
        self.executable = found
        self.store_dir = store_dir.rstrip("/")
        self._timeout = timeout
        self._references: dict[str, frozenset[str]] = {}

    def _run(self, args: Sequence[str]) -> list[str]:
        import subprocess  # a warm solve runs no Nix command: not imported for it

        try:
            done = subprocess.run(
                [self.executable, *args],
                capture_output=True,
                text=True,
                timeout=self._timeout,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise StoreError(f"cannot run {self.executable}: {exc}") from exc
        if done.returncode != 0:
            detail = done.stderr.strip().splitlines()
            reason = detail[-1] if detail else f"exit status {done.returncode}"
            raise StoreError(f"{self.executable} {args[0]} failed: {reason}")
        return [line for line in done.stdout.splitlines() if line]

    def _basenames(self, lines: Iterable[str]) -> frozenset[str]:
        prefix = self.store_dir + "/"
        return frozenset(line[len(prefix) :] for line in lines if line.startswith(prefix))

    def _full(self, basename: str) -> str:
        return f"{self.store_dir}/{basename}"

    def invalid(self, basenames: Iterable[str]) -> frozenset[str]:
        """Those of ``basenames`` that Nix does not consider valid."""
        names = sorted(basenames)
        invalid: set[str] = set()
        for start in range(0, len(names), _BATCH):
            batch = [self._full(b) for b in names[start : start + _BATCH]]
            invalid |= self._basenames(self._run(["--check-validity", "--print-invalid", *batch]))
        return frozenset(invalid)

    def references(self, basename: str) -> frozenset[str]:
        if basename not in self._references:
            lines = self._run(["-q", "--references", self._full(basename)])
            self._references[basename] = self._basenames(lines)
        return self._references[basename]

    def closure(self, basenames: Iterable[str]) -> frozenset[str]:
        roots = [self._full(b) for b in sorted(basenames)]
        if not roots:
            return frozenset()
        return self._basenames(self._run(["-q", "--requisites", *roots]))

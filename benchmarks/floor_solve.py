"""The floor of a warm solve: what any resolver over our index must do at the least.

    python benchmarks/floor_solve.py CACHE_FILE PROGRAM

Interpreter start, the facts layer (our ELF reader for the program, facts decoded from the
cache's blobs), and one SQLite walk over every soname reachable from the program: for each
name, every file of the store answering to it, its facts decoded, its own needed names
queued. No choice is made, nothing is checked or encoded: ``bench_warm.py`` times a real
``solve`` against this. Prints the sonames and files it reached.
"""

from __future__ import annotations

import sqlite3
import sys

from autopatchelf.elf.facts import ElfFacts

_QUERY = (
    "SELECT f.path, b.blob FROM entries AS e JOIN files AS f ON f.id = e.file"
    " JOIN blobs AS b ON b.digest = f.facts WHERE e.name = ?"
)


def main() -> None:
    cache_file, program = sys.argv[1:3]
    root = ElfFacts.read(program)
    conn = sqlite3.connect(f"file:{cache_file}?mode=ro", uri=True)
    seen = set(root.needed)
    todo = list(root.needed)
    files = 0
    while todo:
        name = todo.pop()
        for path, blob in conn.execute(_QUERY, (name,)):
            files += 1
            for needed in ElfFacts.from_blob(blob, path).needed:
                if needed not in seen:
                    seen.add(needed)
                    todo.append(needed)
    conn.close()
    print(f"{len(seen)} sonames, {files} files")


if __name__ == "__main__":
    main()

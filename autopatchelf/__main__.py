"""``python -m autopatchelf`` and the ``autopatchelf`` command.

A ``run`` whose launch was recorded after a verified start execs here, before the CLI (and
attrs, argparse, the lock codec) is imported: :mod:`autopatchelf.actions.launchmemo`.
"""

import sys

from autopatchelf.actions.launchmemo import relaunch


def main() -> None:
    """The command line: a recorded launch, else the full CLI."""
    relaunch(sys.argv[1:])
    from autopatchelf.cli import run

    run()


if __name__ == "__main__":
    main()

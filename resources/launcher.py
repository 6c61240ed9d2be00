"""PyInstaller entry point: the bundled `model-inspector` executable runs the normal CLI."""

from __future__ import annotations

import multiprocessing
import sys


def main() -> int:
    """Run `inspector.cli.main` with the process's arguments; returns its exit status."""
    # A frozen child process (if any library ever spawns one) must not start a second app.
    multiprocessing.freeze_support()
    from inspector.cli import main as cli_main

    # Older macOS Finder launches add a "-psn_0_1234" process serial number: not an option of ours.
    args = [a for a in sys.argv[1:] if not a.startswith("-psn_")]
    return int(cli_main(args) or 0)


if __name__ == "__main__":
    sys.exit(main())

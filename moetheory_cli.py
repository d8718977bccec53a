"""The ``moetheory`` console entry point, outside the package so that Ctrl-C while the package
(and sympy) is still importing gets the same one-line answer and exit code 130 as anywhere else.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Import the command line and run it; Ctrl-C during the import exits 130 with one line."""
    try:
        from moetheory.cli import main as run
    except KeyboardInterrupt:
        print("moetheory: interrupted", file=sys.stderr)
        return 130
    return run(argv)


if __name__ == "__main__":
    raise SystemExit(main())

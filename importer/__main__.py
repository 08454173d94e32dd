"""``python -m importer`` and the ``toggl-import`` console script (``[project.scripts]``).

A Ctrl-C while the program starts -- importing pandas and aiohttp, reading the config, opening the
ledger, reading the files' headers -- must print one line and exit 3 (interrupted, resumable),
never a traceback. The command line's own ``main`` catches ``KeyboardInterrupt`` once it runs; this
module covers what comes before and after it: it imports nothing of the package before its
``try`` (``importer.cli`` alone takes a good part of a second to import), shows any interruption
that still escapes as the same one line (``sys.excepthook``), and ignores Ctrl-C once the exit
code is decided, so that the interpreter's shutdown cannot be cut into either.
"""

from __future__ import annotations

import signal
import sys
from types import TracebackType

EXIT_STOPPED = 3


def main(argv: list[str] | None = None) -> int:
    sys.excepthook = _one_line
    try:
        from .cli import main as command

        code = command(argv)
    except KeyboardInterrupt:
        _say_interrupted()
        code = EXIT_STOPPED
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # decided: let nothing cut the way out
    return code


def _say_interrupted() -> None:
    from . import messages

    print(f"toggl-import: {messages.interrupted()}", file=sys.stderr, flush=True)


def _one_line(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    """An interruption that got past ``main`` (a second Ctrl-C in its ``except``) reads the same."""
    if issubclass(kind, KeyboardInterrupt):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        _say_interrupted()
    else:
        sys.__excepthook__(kind, exc, tb)


if __name__ == "__main__":
    sys.exit(main())

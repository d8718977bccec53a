"""Resource limits: one nestable wall-clock deadline and the size limits of every input.

Every command of the CLI runs under one wall-clock limit that covers parsing, model building,
analysis and output; the engine's per-pair limit nests inside it (the earlier deadline fires
first). Deadlines use ``SIGALRM`` and so interrupt pure-Python work (sympy, the parsers, the
engine) in the main thread; C calls that cannot be interrupted are kept short by the size
limits below, checked before any work starts. In other threads a deadline is not enforced.

Example::

    >>> import time
    >>> try:
    ...     with deadline(0.05, LimitError, "time limit of 0.05 s reached"):
    ...         while True:
    ...             time.sleep(0.01)
    ... except LimitError as exc:
    ...     print(exc)
    time limit of 0.05 s reached
"""

from __future__ import annotations

import math
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from moetheory.errors import MoetheoryError

MAX_SECONDS = 86_400.0
"""The longest wall-clock limit any command accepts (one day)."""
MAX_DIM = 64
"""Largest input dimension of the identifiability engine (the Taylor family grows as dim^order)."""
MAX_ORDER = 8
"""Largest order of the Taylor family."""
MAX_SEED = 2**63 - 1
"""Seeds are integers in [0, MAX_SEED]."""
MAX_WORKERS = 256
"""Most worker processes."""
MAX_RBAR_M = 16
"""Largest number of components of the r̄ solver (its witnesses need Hermite roots of degree m)."""
MAX_SIZE = 10**12
"""Largest size (experts, widths, dimensions) the bounds calculator accepts on the command line."""
MAX_DEPTH = 10**4
"""Largest number of hidden layers the bounds calculator accepts on the command line."""
MAX_TERMS = 5000
"""Largest Taylor family the engine (and ``verify``) will build."""
MAX_FILE_BYTES = 64 * 2**20
"""Largest file ``verify`` (or any reader of saved JSON) opens."""


class LimitError(MoetheoryError):
    """A size or time limit was reached; the message names the limit."""


def check_seconds(value: object, name: str = "--seconds", *, zero_ok: bool = False) -> float:
    """A finite number of seconds in (0, MAX_SECONDS] (or 0 where ``zero_ok``: no inner limit).

    >>> check_seconds("2.5")
    2.5
    """
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise LimitError(f"{name} must be a number of seconds, got {value!r}") from None
    if (
        not math.isfinite(seconds)
        or seconds < 0
        or (seconds == 0 and not zero_ok)
        or seconds > MAX_SECONDS
    ):
        low = "0 (no limit)" if zero_ok else "a positive number"
        raise LimitError(f"{name} must be {low} up to {MAX_SECONDS:g}, got {value!r}")
    return seconds


def check_int(value: object, name: str, low: int, high: int) -> int:
    """An integer in [low, high] (bools refused), or a ``LimitError`` naming the bounds.

    >>> check_int(3, "--dim", 1, MAX_DIM)
    3
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise LimitError(f"{name} must be an integer from {low} to {high}, got {value!r}")
    if not low <= value <= high:
        shown = value if abs(value) < 10**30 else f"a {len(str(abs(value)))}-digit number"
        raise LimitError(f"{name} must be an integer from {low} to {high}, got {shown}")
    return value


# ---------------------------------------------------------------------------------------------
# nestable deadlines
# ---------------------------------------------------------------------------------------------
_STACK: list[tuple[float, type[BaseException], str]] = []  # (monotonic end, error, message)


def _arm() -> None:
    """Point the interval timer at the earliest deadline on the stack (or disarm it)."""
    if not _STACK:
        signal.setitimer(signal.ITIMER_REAL, 0)
        return
    end = min(e for e, _, _ in _STACK)
    signal.setitimer(signal.ITIMER_REAL, max(end - time.monotonic(), 1e-4))


def _fire(signum, frame) -> None:
    now = time.monotonic()
    due = [entry for entry in _STACK if entry[0] <= now + 1e-3]
    if not due:  # woken early: re-arm
        _arm()
        return
    _, error, message = min(due, key=lambda entry: entry[0])
    raise error(message)


@contextmanager
def deadline(
    seconds: float | None, error: type[BaseException] = LimitError, message: str | None = None
) -> Iterator[None]:
    """Raise ``error(message)`` in the main thread once ``seconds`` have passed.

    Deadlines nest: an inner one never extends an outer one, and leaving an inner one re-arms
    the outer. ``seconds`` None or 0 means no limit here.
    """
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return
    entry = (
        time.monotonic() + float(seconds),
        error,
        message or f"time limit of {seconds:g} s reached",
    )
    previous = signal.signal(signal.SIGALRM, _fire) if not _STACK else None
    _STACK.append(entry)
    _arm()
    try:
        yield
    finally:
        _STACK.remove(entry)
        _arm()
        if previous is not None:
            signal.signal(signal.SIGALRM, previous)

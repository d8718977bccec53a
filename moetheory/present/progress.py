"""Progress bars: tqdm on stderr, shown only when stderr is a terminal.

Nothing is written anywhere else, so a command's output files and its stdout are the same with
or without a terminal; under a pipe, a test or a batch job the bar is off entirely.

Example
-------
Under doctest stderr is not a terminal: the items pass through unchanged and nothing is drawn.

>>> [x * x for x in progress(range(4), desc="squares")]
[0, 1, 4, 9]
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def shown() -> bool:
    """Whether bars are drawn: stderr exists and is a terminal."""
    return sys.stderr is not None and sys.stderr.isatty()


def progress(
    iterable: Iterable[T],
    total: int | None = None,
    desc: str = "",
    label: Callable[[T], str] | None = None,
) -> Iterator[T]:
    """The items of ``iterable``, with a tqdm bar on stderr while they are consumed.

    ``total`` is the number of items when ``iterable`` has no length; ``desc`` names the bar;
    ``label(item)`` is shown beside the bar while ``item`` is being processed (a step's name).
    The bar is removed when the iteration ends (``leave=False``), so nested bars — the report's
    steps around the pairs being identified — leave a clean terminal.

    >>> list(progress(iter("ab"), total=2, desc="letters", label=str.upper))
    ['a', 'b']

    Reference: tqdm (https://tqdm.github.io), ``file=sys.stderr``, ``leave=False``.
    """
    from tqdm import tqdm

    with tqdm(
        iterable,
        total=total,
        desc=desc,
        file=sys.stderr,
        disable=not shown(),
        leave=False,
        dynamic_ncols=True,
    ) as bar:
        for item in bar:
            if label is not None:
                bar.set_postfix_str(label(item))
            yield item

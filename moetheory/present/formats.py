"""The output formats of moetheory, declared once, and the renderers of each kind of output.

A :class:`Format` is plain data (name, file extension, text or binary, a description). A
*renderer* turns one kind of computed result ("table", "atlas", "verdict", …) into one format;
modules of :mod:`moetheory.present` declare theirs with :func:`renders`, and every caller — the
report, the CLI, a notebook — goes through :func:`render`. The CLI's ``--format`` choices are
:func:`formats_for` of the output kind, so a format added here with its renderers appears there
with no other edit.

Example::

    >>> from moetheory.present import formats
    >>> formats.FORMATS["latex"].extension, formats.FORMATS["png"].binary
    ('tex', True)
    >>> formats.formats_for("atlas", binary=True)
    ('png', 'pdf')
    >>> @formats.renders("greeting", "md")
    ... def _hello(name: str) -> str:
    ...     return f"**hello {name}**"
    >>> formats.render("greeting", "md", "world"), formats.formats_for("greeting")
    ('**hello world**', ('md',))
    >>> formats.render("greeting", "csv", "world")
    Traceback (most recent call last):
    ...
    ValueError: no csv output for greeting; choose one of md
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Format:
    """One output format: its CLI name, file extension and whether it is binary."""

    name: str
    extension: str
    binary: bool
    description: str


FORMATS: dict[str, Format] = {}
"""Every format, by CLI name."""


def register(fmt: Format) -> Format:
    """Declare a format (its renderers are declared with :func:`renders`)."""
    if fmt.name in FORMATS:
        raise ValueError(f"format {fmt.name!r} is declared twice")
    FORMATS[fmt.name] = fmt
    return fmt


for _fmt in (
    Format("md", "md", False, "Markdown (GitHub tables)"),
    Format("latex", "tex", False, "LaTeX (booktabs; longtable for tables)"),
    Format("csv", "csv", False, "CSV, every digit kept"),
    Format("json", "json", False, "JSON, every field and digit kept"),
    Format("png", "png", True, "PNG figure (matplotlib)"),
    Format("pdf", "pdf", True, "PDF figure (matplotlib)"),
):
    register(_fmt)

_RENDERERS: dict[tuple[str, str], Callable[..., Any]] = {}
_PROVIDERS = (
    "moetheory.present.tables",
    "moetheory.present.jsonio",
    "moetheory.present.atlas",
    "moetheory.present.markdown",
    "moetheory.present.latex",
    "moetheory.present.plots",
    "moetheory.present.simulate",
)
"""Modules that declare renderers, imported on first use (presentation stays lazy)."""


def renders(kind: str, fmt: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: the function renders outputs of ``kind`` in format ``fmt``."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; declared: {', '.join(FORMATS)}")

    def declare(fn: Callable[..., Any]) -> Callable[..., Any]:
        if (kind, fmt) in _RENDERERS and _RENDERERS[kind, fmt] is not fn:
            raise ValueError(f"two {fmt} renderers for {kind}")
        _RENDERERS[kind, fmt] = fn
        return fn

    return declare


def _load() -> None:
    for name in _PROVIDERS:
        importlib.import_module(name)


def formats_for(kind: str, binary: bool | None = None) -> tuple[str, ...]:
    """The formats ``kind`` can be rendered in, in declaration order of :data:`FORMATS`; only
    the text ones (``binary=False``) or the figures (``binary=True``) if asked."""
    _load()
    return tuple(
        f
        for f, spec in FORMATS.items()
        if (kind, f) in _RENDERERS and binary in (None, spec.binary)
    )


def render(kind: str, fmt: str, *args: Any, **kwargs: Any) -> Any:
    """Render an output of ``kind`` in ``fmt`` (text for text formats, bytes for figures)."""
    _load()
    fn = _RENDERERS.get((kind, fmt))
    if fn is None:
        raise ValueError(
            f"no {fmt} output for {kind}; choose one of {', '.join(formats_for(kind)) or 'none'}"
        )
    return fn(*args, **kwargs)

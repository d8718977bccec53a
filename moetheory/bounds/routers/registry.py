"""The registry of architecture router kinds: one line per kind file, and :func:`register`.

``ROUTER_KINDS`` maps each name to its :class:`~moetheory.bounds.routers.base.RouterKind`, in
the order the documentation and the CLI list them. An :class:`~moetheory.bounds.architecture.
Architecture` stores the name and looks its kind up here (:func:`router_kind`), so a kind
registered at any time is available to counts, VC bounds, torch realisation, constructions
(when it ``approximates``) and the CLI, whose choices are read when its parser is built.
Reference: approximation_vc.md §3 (the routers R1–R3 and their counts).

Example::

    >>> kind_names(), kind_names(approximating=True)
    (['none', 'grid', 'prototype', 'tree', 'linear'], ['grid', 'prototype', 'tree'])
    >>> router_kind("mlp")
    Traceback (most recent call last):
    ...
    moetheory.errors.SizeError: router must be one of none, grid, prototype, tree, linear, got 'mlp'
"""

from __future__ import annotations

from moetheory.bounds.routers import grid, linear, none, prototype, tree
from moetheory.bounds.routers.base import RouterKind
from moetheory.errors import SizeError

ROUTER_KINDS: dict[str, RouterKind] = {}


def register(kind: RouterKind) -> RouterKind:
    """Add ``kind`` under its name and return it: a TypeError when it is not a
    :class:`RouterKind`, a ValueError when its name is not one word or is already taken.

    Example::

        >>> register(grid.KIND)
        Traceback (most recent call last):
        ...
        ValueError: a router kind named 'grid' is already registered
    """
    if not isinstance(kind, RouterKind):
        raise TypeError(f"a router kind must be a RouterKind instance, got {type(kind).__name__}")
    name = getattr(kind, "name", None)
    if not isinstance(name, str) or not name.replace("-", "_").isidentifier():
        raise ValueError(
            f"a router kind's name must be one word (letters, digits, - or _), got {name!r}"
        )
    if name in ROUTER_KINDS:
        raise ValueError(f"a router kind named {name!r} is already registered")
    ROUTER_KINDS[name] = kind
    return kind


def unregister(name: str) -> RouterKind:
    """Remove the kind called ``name`` and return it (for tests and notebooks)."""
    return ROUTER_KINDS.pop(router_kind(name).name)


def kind_names(*, approximating: bool = False) -> list[str]:
    """Registered names, in order; only those that build the K^d-cell grid partition
    (``approximates``) when ``approximating``."""
    return [name for name, kind in ROUTER_KINDS.items() if kind.approximates or not approximating]


def router_kind(name: str, *, approximating: bool = False) -> RouterKind:
    """The kind called ``name`` (among those that approximate when ``approximating``), or a
    one-line :class:`SizeError` naming the known kinds."""
    kind = ROUTER_KINDS.get(name) if isinstance(name, str) else None
    if kind is None or approximating and not kind.approximates:
        known = ", ".join(kind_names(approximating=approximating))
        raise SizeError(f"router must be one of {known}, got {name!r}")
    return kind


def kinds_table() -> str:
    """The documentation table of the registered kinds (reStructuredText): name, total
    parameters, parameters read per input.

    Example::

        >>> print(kinds_table())
        =============  ================================  ===========================================
        router         total parameters                  read per input (active)
        =============  ================================  ===========================================
        ``none``       0 (E = 1: a single network)       0
        ``grid``       Σ_i (K_i − 1) thresholds          Σ_i ⌈log₂ K_i⌉ (binary search per axis)
        ``prototype``  E·d prototype coordinates         E·d (nearest prototype, flat search)
        ``tree``       d·Σ_{l=1}^{s} 2^{dl}, E = 2^{ds}  s·2^d·d (nearest of 2^d children per level)
        ``linear``     E·(d + 1) (scores Wx + b, top-k)  E·(d + 1), and k experts are evaluated
        =============  ================================  ===========================================
    """
    rows = [("router", "total parameters", "read per input (active)")]
    rows += [(f"``{k.name}``", k.total_rule, k.read_rule) for k in ROUTER_KINDS.values()]
    widths = [max(len(row[c]) for row in rows) for c in range(3)]
    rule = "  ".join("=" * w for w in widths)
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    return "\n".join([rule, lines[0], rule, *lines[1:], rule])


for _kind in (none.KIND, grid.KIND, prototype.KIND, tree.KIND, linear.KIND):
    register(_kind)

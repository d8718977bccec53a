"""Architecture router kinds as objects: one declarative file per kind and one registry.

Each kind (``none``, ``grid``, ``prototype``, ``tree``, ``linear``; :mod:`.base` says what a
kind declares) states its parameter-count rule, growth function and VC facts, torch module,
approximation plan, argument checks and documentation line in its own file; the registry
(:mod:`.registry`) maps names to kinds, and nothing outside a kind's file names it.
:func:`~moetheory.bounds.routers.contract.check_router_kind` checks any kind against the
contract. Reference: approximation_vc.md §1 (accounting), §3 (routers), §5 (growth).

Adding a kind: subclass :class:`RouterKind` in one file and call :func:`register` once.

Example::

    >>> from moetheory.bounds.architecture import Architecture
    >>> arch = Architecture(dim=2, experts=16, hidden=(4,), router="tree")
    >>> arch.kind is ROUTER_KINDS["tree"], arch.counts().router_active
    (True, 16)
"""

from moetheory.bounds.routers.base import RouterKind
from moetheory.bounds.routers.registry import (
    ROUTER_KINDS,
    kind_names,
    kinds_table,
    register,
    router_kind,
    unregister,
)

__all__ = [
    "ROUTER_KINDS",
    "RouterKind",
    "kind_names",
    "kinds_table",
    "register",
    "router_kind",
    "unregister",
]

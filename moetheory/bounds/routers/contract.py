"""The contract every router kind meets, as one check a user can run on their own kind.

:func:`check_router_kind` (scikit-learn ``check_estimator`` style) raises an AssertionError
naming the first failed clause, after trying the kind on small architectures (d ∈ {1, 2, 3},
E up to 16, top-k 1 and 2) and keeping those it accepts:

1. it is registered exactly once, under its name, and documents itself (``summary``,
   ``total_rule``, ``read_rule``);
2. it accepts some architecture, and refuses top-k > 1 unless it ``mixes``;
3. its counts are integers with 0 ≤ read per input ≤ total (approximation_vc.md §1);
4. its torch module has exactly the declared parameter names and shapes, Σ numel = total,
   and routes every input of a batch (inside and outside [0,1]^d) to an expert in 0..E−1 (a
   mixing router also gives its top-k by ``top``);
5. its growth bound log₂ Π_route(m) is finite, non-decreasing in m and at most m·log₂ E (a
   partition into E cells; §5), and its growth formula is a sympy expression in the size
   symbols of :mod:`moetheory.bounds.sizes`;
6. if it ``approximates``: for K = 2..4 cells per axis (rounded by ``round_cells``) its numbers
   have the declared shapes, route every cell centre (k + ½)/K to cell k, row-major, in numpy
   and in torch, and in d = 1 its intervals are the cells [k/K, (k+1)/K] (§3).

Example::

    >>> from moetheory.bounds.routers import ROUTER_KINDS
    >>> check_router_kind(ROUTER_KINDS["grid"])
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import sympy as sp

from moetheory.bounds import sizes
from moetheory.bounds.architecture import Architecture
from moetheory.bounds.routers.arrays import centres
from moetheory.bounds.routers.base import RouterKind
from moetheory.bounds.routers.registry import ROUTER_KINDS
from moetheory.errors import SizeError

DIMS = (1, 2, 3)
EXPERTS = (1, 2, 3, 4, 8, 9, 16)
POINTS = (1, 2, 3, 5, 10, 30, 100, 1000)
SYMBOLS = {sizes.m, sizes.d, sizes.E, sizes.K, sizes.EULER}


def check_router_kind(kind: RouterKind) -> None:
    """Check ``kind`` against the contract of the module docstring (an AssertionError naming
    the failed clause; nothing when it passes)."""
    _check_registration(kind)
    archs = _accepted(kind)
    for arch in archs:
        _check_counts(kind, arch)
        _check_module(kind, arch)
        if arch.output_dim == 1:
            _check_growth(kind, arch)
    formula = kind.growth_formula(sizes.m)
    assert isinstance(formula, sp.Expr) and formula.free_symbols <= SYMBOLS, (
        f"{kind.name}: growth_formula must be a sympy expression in m, d, E, K, e; got {formula!r}"
    )
    if kind.approximates:
        for dim in (1, 2):
            for cells in sorted({kind.round_cells(k) for k in (2, 3, 4)}):
                _check_cells(kind, cells, dim)


def _check_registration(kind: RouterKind) -> None:
    assert isinstance(kind, RouterKind), f"{kind!r} is not a RouterKind"
    assert ROUTER_KINDS.get(kind.name) is kind, (
        f"{kind.name}: not registered under its name (register(kind) once)"
    )
    others = [name for name, k in ROUTER_KINDS.items() if k is kind and name != kind.name]
    assert not others, f"{kind.name}: also registered as {others}"
    for fact in ("summary", "total_rule", "read_rule"):
        text = getattr(kind, fact, None)
        assert isinstance(text, str) and text.strip() and "\n" not in text, (
            f"{kind.name}: {fact} must be one non-empty line"
        )


def _accepted(kind: RouterKind) -> list[Architecture]:
    """The small architectures ``kind`` accepts (at least one), checking that it refuses
    top-k > 1 unless it mixes."""
    found = []
    for dim in DIMS:
        for experts in EXPERTS:
            for top_k in (1, 2):
                try:
                    arch = Architecture(
                        dim=dim, experts=experts, hidden=(2,), router=kind.name, top_k=top_k
                    )
                except SizeError:
                    continue
                assert top_k == 1 or kind.mixes, (
                    f"{kind.name}: accepted top-k = {top_k} but does not mix experts"
                )
                found.append(arch)
    assert found, f"{kind.name}: accepts none of d ∈ {DIMS}, E ∈ {EXPERTS}"
    return found


def _check_counts(kind: RouterKind, arch: Architecture) -> None:
    total, read = kind.parameters(arch)
    assert all(isinstance(v, int) and not isinstance(v, bool) for v in (total, read)), (
        f"{kind.name}: parameters must be ints, got {(total, read)!r}"
    )
    assert 0 <= read <= total, f"{kind.name}: need 0 ≤ read ≤ total, got {(total, read)}"
    counts = arch.counts()
    assert (counts.router, counts.router_active) == (total, read)


def _check_module(kind: RouterKind, arch: Architecture) -> None:
    import torch

    module: Any = kind.module(arch, torch.Generator().manual_seed(0))  # route, top: duck-typed
    shapes = {name: tuple(p.shape) for name, p in module.named_parameters()}
    assert shapes == kind.shapes(arch), (
        f"{kind.name}: module parameters {shapes} differ from shapes() {kind.shapes(arch)}"
    )
    numel = sum(p.numel() for p in module.parameters())
    assert numel == kind.parameters(arch)[0], (
        f"{kind.name}: module has {numel} parameters, the kind counts {kind.parameters(arch)[0]}"
    )
    generator = torch.Generator().manual_seed(1)
    x = torch.cat(
        [
            torch.rand(64, arch.dim, generator=generator),
            3 * torch.randn(16, arch.dim, generator=generator),
        ]
    )
    with torch.no_grad():
        index = module.route(x)
    assert index.shape == (len(x),) and index.dtype == torch.long, (
        f"{kind.name}: route must give one long index per row, got {index.dtype} "
        f"{tuple(index.shape)}"
    )
    assert bool(((index >= 0) & (index < arch.experts)).all()), (
        f"{kind.name}: route gave an index outside 0..{arch.experts - 1}"
    )
    if kind.mixes:
        with torch.no_grad():
            top, scores = module.top(x)
        assert top.shape == scores.shape == (len(x), arch.top_k), (
            f"{kind.name}: top must give (n, top_k) indices and scores"
        )
        assert bool(((top >= 0) & (top < arch.experts)).all())


def _check_growth(kind: RouterKind, arch: Architecture) -> None:
    growth = kind.growth(arch)
    values = [growth.at(points) for points in POINTS]
    assert all(math.isfinite(v) and v >= -1e-9 for v in values), (
        f"{kind.name}: growth must be finite and ≥ 0, got {values}"
    )
    assert all(a <= b + 1e-9 for a, b in zip(values, values[1:], strict=False)), (
        f"{kind.name}: growth must be non-decreasing in m, got {values}"
    )
    assert all(
        v <= p * math.log2(arch.experts) + 1e-9 for v, p in zip(values, POINTS, strict=True)
    ), f"{kind.name}: growth above m·log₂ E (a partition into E cells), got {values}"


def _check_cells(kind: RouterKind, cells: int, dim: int) -> None:
    import torch

    arch = Architecture(
        dim=dim, experts=cells**dim, hidden=(), router=kind.name, **kind.cell_fields(cells, dim)
    )
    params = kind.cell_parameters(cells, dim)
    got = [np.shape(p) for p in params]
    assert got == list(kind.shapes(arch).values()), (
        f"{kind.name}: cell_parameters shapes {got} differ from shapes()"
    )
    x = centres(cells, dim)
    expected = np.arange(cells**dim)
    assert np.array_equal(kind.route_array(params, x), expected), (
        f"{kind.name}: route_array does not send the cell centres of K = {cells} to their cells"
    )
    module: Any = kind.module(arch).to(torch.float64)
    with torch.no_grad():
        for name, values in zip(kind.shapes(arch), params, strict=True):
            module.get_parameter(name).copy_(torch.from_numpy(np.asarray(values, float)))
        index = module.route(torch.from_numpy(x))
    assert np.array_equal(index.numpy(), expected), (
        f"{kind.name}: the torch module does not send the cell centres of K = {cells} to "
        "their cells"
    )
    if dim == 1:
        spans = kind.intervals(params)
        edges = [(k / cells, (k + 1) / cells) for k in range(cells)]
        assert np.allclose(spans, edges), (
            f"{kind.name}: intervals {spans} differ from the cells {edges}"
        )

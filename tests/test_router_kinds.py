"""Router kinds as objects (issue 15 item 1): a kind written here — one file-sized class and one
``register`` call — is available to parameter counts, VC bounds, torch realisation and the CLI
with no other edit; every built-in kind passes the contract; no module outside a kind's own
file compares router names."""

from __future__ import annotations

import ast
import math
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
import torch
from torch import nn

import moetheory
from moetheory.bounds import architecture, growth, vc
from moetheory.bounds.architecture import Architecture
from moetheory.bounds.routers import (
    ROUTER_KINDS,
    RouterKind,
    kind_names,
    kinds_table,
    register,
    router_kind,
    unregister,
)
from moetheory.bounds.routers.contract import check_router_kind
from moetheory.bounds.sizes import E, m
from moetheory.cli import main
from moetheory.errors import SizeError
from moetheory.layers import count_parameters, realise
from moetheory.layers.moe import parameter_shapes

# ------------------------------------------------------------------ a new kind, in one "file"


class StripesRouter(nn.Module):
    """E equal slabs along x_1: E − 1 sorted thresholds, idx = #{thresholds ≤ x_1}."""

    def __init__(self, experts: int) -> None:
        super().__init__()
        self.thresholds = nn.Parameter(torch.arange(1, experts) / experts)

    def route(self, x: torch.Tensor) -> torch.Tensor:
        ordered = self.thresholds.detach().sort().values.to(x.dtype)
        return torch.searchsorted(ordered, x[:, 0].contiguous(), right=True)


class StripesKind(RouterKind):
    """Cells are E slabs along x_1: E − 1 thresholds, ⌈log₂ E⌉ read per input (binary
    search); on m points the thresholds split x_1 in C(m + E − 1, E − 1) ways."""

    name = "stripes"
    summary = "E equal slabs along x_1 (binary search)"
    total_rule = "E − 1 thresholds"
    read_rule = "⌈log₂ E⌉ (binary search)"

    def parameters(self, arch: Architecture) -> tuple[int, int]:
        return arch.experts - 1, (arch.experts - 1).bit_length()

    def growth(self, arch: Architecture) -> growth.Growth:
        return growth.grid_router_growth((arch.experts,))

    def growth_formula(self, points: sp.Expr) -> sp.Expr:
        return sp.log(sp.binomial(points + E - 1, E - 1), 2)

    def shapes(self, arch: Architecture) -> dict[str, tuple[int, ...]]:
        return {"thresholds": (arch.experts - 1,)}

    def module(self, arch: Architecture, generator: torch.Generator | None = None) -> nn.Module:
        return StripesRouter(arch.experts)


@pytest.fixture
def stripes():
    kind = register(StripesKind())
    try:
        yield kind
    finally:
        unregister(kind.name)


def stripes_arch(**kw) -> Architecture:
    return Architecture(**({"dim": 2, "experts": 5, "hidden": (4, 3), "router": "stripes"} | kw))


def test_new_kind_counts(stripes):
    c = stripes_arch().counts()
    per_expert = (2 + 1) * 4 + (4 + 1) * 3 + (3 + 1) * 1
    assert (c.router, c.router_active, c.per_expert) == (4, 3, per_expert)
    assert c.total == 4 + 5 * per_expert and c.active == 3 + per_expert


def test_new_kind_vc_bounds(stripes):
    arch = stripes_arch(hidden=(3, 3))
    b = vc.vc_bounds(arch)
    assert b.lower.value == 5 * b.expert_lower.value <= b.upper.value
    expected = growth.invert(
        growth.mixture_growth(growth.grid_router_growth((5,)), growth.network_growth((3, 3), 2), 5)
    ).value
    assert b.upper.value == expected
    assert b.upper.formula is not None and vc.router_formula("stripes") == sp.log(
        sp.binomial(m + E - 1, E - 1), 2
    )
    assert not any(c.name == "closed form, whole model" for c in b.cross_checks)


def test_new_kind_torch_realisation(stripes):
    arch = stripes_arch(activation="prelu")
    model = realise(arch)
    assert sum(p.numel() for p in model.parameters()) == arch.counts().total
    assert sum(p.numel() for p in model.router.parameters()) == arch.counts().router
    assert count_parameters(model)["active"] == arch.counts().active
    assert {k: tuple(v.shape) for k, v in model.named_parameters()} == parameter_shapes(arch)
    x = torch.tensor([[0.1, 0.9], [0.5, 0.0], [0.99, 0.3]])
    assert model.route(x).tolist() == [0, 2, 4]
    assert model(x).shape == (3, 1)


def test_new_kind_on_the_command_line(stripes, capsys):
    args = [
        "bounds",
        "--router",
        "stripes",
        "--dim",
        "2",
        "--experts",
        "5",
        "--depth",
        "2",
        "--width",
        "3",
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    total = stripes_arch(hidden=(3, 3)).counts().total
    assert "router stripes" in out and f"| total | {total} |" in out
    assert main([*args, "--json"]) == 0
    assert '"router": "stripes"' in capsys.readouterr().out
    assert main(["bounds", "--help"]) == 0
    assert "stripes" in capsys.readouterr().out
    # it does not build the grid of cells, so constructions do not offer it
    assert (
        main(
            [
                "construct",
                "--target",
                "smooth",
                "--alpha",
                "1",
                "--dim",
                "1",
                "--eps",
                "0.1",
                "--router",
                "stripes",
            ]
        )
        == 2
    )
    assert "invalid choice: 'stripes'" in capsys.readouterr().err


def test_new_kind_passes_the_contract_and_is_gone_after(stripes):
    check_router_kind(stripes)
    assert "stripes" in kind_names() and "stripes" not in kind_names(approximating=True)


def test_unregistered_kind_is_unknown_again(capsys):
    assert "stripes" not in ROUTER_KINDS
    with pytest.raises(
        SizeError, match="router must be one of none, grid, prototype, tree, linear, got 'stripes'"
    ):
        stripes_arch()
    assert (
        main(
            [
                "bounds",
                "--router",
                "stripes",
                "--dim",
                "1",
                "--experts",
                "2",
                "--depth",
                "1",
                "--width",
                "1",
            ]
        )
        == 2
    )
    assert "invalid choice: 'stripes'" in capsys.readouterr().err


def test_new_kind_refuses_what_it_does_not_read(stripes):
    with pytest.raises(SizeError, match="top-k = 2 needs the linear router; stripes routes"):
        stripes_arch(top_k=2)
    with pytest.raises(
        SizeError, match="grid cells are given only with the grid router, not stripes"
    ):
        stripes_arch(grid=(5, 1))
    with pytest.raises(SizeError, match="stripes router builds no cell partition"):
        stripes.cell_parameters(4, 1)
    with pytest.raises(SizeError, match="no data evaluation"):
        stripes.route_array((np.array([0.5]),), np.zeros((1, 2)))


# ------------------------------------------------------------------ the registry


@pytest.mark.parametrize("name", list(ROUTER_KINDS))
def test_builtin_kinds_pass_the_contract(name):
    check_router_kind(ROUTER_KINDS[name])


def test_registry_refuses_duplicates_and_non_kinds():
    with pytest.raises(ValueError, match="already registered"):
        register(ROUTER_KINDS["grid"])
    with pytest.raises(TypeError, match="RouterKind"):
        register("grid")  # type: ignore[arg-type]
    bad = StripesKind()
    bad.name = "two words"  # type: ignore[misc]
    with pytest.raises(ValueError, match="one word"):
        register(bad)
    with pytest.raises(SizeError, match="router must be one of"):
        unregister("stripes")
    assert kind_names() == ["none", "grid", "prototype", "tree", "linear"]


def test_approximating_kinds_are_the_cli_choices_of_constructions():
    assert kind_names(approximating=True) == ["grid", "prototype", "tree"]
    with pytest.raises(
        SizeError, match="router must be one of grid, prototype, tree, got 'linear'"
    ):
        router_kind("linear", approximating=True)


def test_contract_catches_a_wrong_count():
    class Miscounted(StripesKind):
        name = "miscounted"

        def parameters(self, arch: Architecture) -> tuple[int, int]:
            return arch.experts, 1  # one more than the module holds

    kind = register(Miscounted())
    try:
        with pytest.raises(AssertionError, match=r"module has \d+ parameters, the kind counts"):
            check_router_kind(kind)
    finally:
        unregister(kind.name)


def test_contract_catches_an_unregistered_kind():
    with pytest.raises(AssertionError, match="not registered"):
        check_router_kind(StripesKind())


def test_docs_table_is_the_registry_table():
    """The table in moetheory.bounds.architecture's docstring is kinds_table() (built-ins)."""
    assert textwrap.indent(kinds_table(), "    ") in architecture.__doc__


# ------------------------------------------------------------------ the shape of the code

ROOT = Path(moetheory.__file__).parent
KIND_FILES = ROOT / "bounds" / "routers"


def _names(node: ast.AST) -> set[str]:
    """String constants of a node (a constant, or a tuple/list/set of them)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return set().union(*(_names(e) for e in node.elts)) if node.elts else set()
    return set()


def test_no_router_name_comparison_outside_the_kinds():
    """No ``router == "grid"`` / ``kind in ("prototype", "linear")`` outside a kind's file."""
    kinds = set(kind_names())
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        if KIND_FILES in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Compare):
                continue
            sides = [node.left, *node.comparators]
            text = ast.unparse(node)
            if any(_names(s) & kinds for s in sides) and ("router" in text or "kind" in text):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {text}")
    assert not found, "\n".join(found)


def test_bounds_do_not_import_torch():
    code = (
        "import sys, moetheory.bounds.vc, moetheory.bounds.approximation, "
        "moetheory.bounds.tradeoff, moetheory.bounds.routers; "
        "from moetheory.bounds.architecture import Architecture; "
        "Architecture(dim=2, experts=4, hidden=(3,), router='grid').counts(); "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False"


def test_growth_of_each_kind_matches_its_formula_where_warren_applies():
    """At m large enough for Warren's lemma, the library's router growth equals its formula
    (grid: always, exactly)."""
    for arch in (
        Architecture(dim=2, experts=9, hidden=(2,), router="grid"),
        Architecture(dim=2, experts=16, hidden=(2,), router="tree"),
        Architecture(dim=2, experts=8, hidden=(2,), router="prototype"),
        Architecture(dim=3, experts=5, hidden=(2,), router="linear"),
    ):
        points = 10**6
        formula = arch.kind.growth_formula(m).subs(vc.size_values(arch)).subs(m, points)
        assert math.isclose(arch.kind.growth(arch).at(points), float(formula), rel_tol=1e-12)


def test_flat_router_verification_is_limited():
    """A flat router compares every point with every expert: verification refuses more than
    MAX_FLAT_WORK pairs and names the approximating routers that are not flat."""
    from moetheory.construct.approximate import approximate
    from moetheory.construct.check import MAX_FLAT_WORK, verify_construction

    c = approximate("smooth", 1, None, 2, "0.01", router="prototype", expert="constant")
    assert c.num_experts * 10**6 > MAX_FLAT_WORK
    with pytest.raises(
        SizeError,
        match="flat prototype routing of 1,000,000 points over .* "
        "or build with the grid or tree router",
    ):
        verify_construction(c, points=10**6)

"""The bounds and tables commands: contract keys, clear errors, determinism; the counts of the
approximators' architectures equal their realised torch modules."""

from __future__ import annotations

import json
import math

import pytest
from helpers import run_cli as run

from moetheory.bounds.approximation import Target, plan_constant, plan_pwl
from moetheory.bounds.architecture import Architecture
from moetheory.bounds.vc import vc_bounds
from moetheory.layers import realise


def test_bounds_json_contract(capsys):
    code, out, _ = run(
        capsys, "bounds", "--dim", "2", "--experts", "4", "--depth", "2", "--width", "16", "--json"
    )
    assert code == 0
    data = json.loads(out)
    p = data["parameters"]
    # 337 per expert (2→16→16→1), 4·2 prototype coordinates
    per_expert = 3 * 16 + 17 * 16 + 17  # 2 → 16 → 16 → 1 with biases
    assert per_expert == 337  # the reference's count
    assert (p["per_expert"], p["router"], p["total"], p["active"]) == (
        per_expert,
        4 * 2,
        4 * per_expert + 4 * 2,
        per_expert + 4 * 2,
    )
    for kind in ("upper", "lower"):
        bound = data["vc"][kind]
        assert isinstance(bound["value"], int) and bound["formula"] and bound["source"]
    assert data["vc"]["lower"]["value"] <= data["vc"]["upper"]["value"]


@pytest.mark.parametrize(
    "router,extra",
    [
        ("grid", []),
        ("tree", []),
        ("linear", ["--top-k", "2"]),
        ("prototype", ["--activation", "prelu"]),
    ],
)
def test_bounds_every_router(capsys, router, extra):
    code, out, _ = run(
        capsys,
        "bounds",
        "--dim",
        "2",
        "--experts",
        "16",
        "--depth",
        "1",
        "--width",
        "4",
        "--router",
        router,
        "--json",
        *extra,
    )
    assert code == 0
    data = json.loads(out)
    assert data["architecture"]["router"] == router
    arch = Architecture(
        dim=2,
        experts=16,
        hidden=(4,),
        router=router,
        activation="prelu" if "prelu" in extra else "relu",
        top_k=2 if "--top-k" in extra else 1,
    )
    assert data["vc"]["upper"]["value"] == vc_bounds(arch).upper.value
    assert data["vc"]["lower"]["value"] == vc_bounds(arch).lower.value
    if router == "linear":  # top-2 softmax mixing: no proved upper bound, said so
        assert data["vc"]["upper"]["value"] is None and "top-2" in data["vc"]["upper"]["note"]


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--experts", "0"], "experts"),
        (["--width", "-1"], "width"),
        (["--depth", "0"], "depth"),
        (["--experts", "2.5"], "2.5"),
        (["--router", "grid", "--experts", "5"], "experts = 5"),
        (["--router", "tree", "--experts", "8"], "2^(d·s)"),
        (["--top-k", "2"], "top-k"),
        (["--output-dim", "2"], "scalar output"),
        (["--grid", "2,x"], "'x'"),
    ],
)
def test_bounds_bad_sizes_exit_2(capsys, args, needle):
    base = {"--dim": "2", "--experts": "4", "--depth": "1", "--width": "3"}
    for k, v in zip(args[::2], args[1::2], strict=True):
        base[k] = v
    code, _, err = run(capsys, "bounds", *[x for kv in base.items() for x in kv])
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1


def test_tables_approximation_json_contract(capsys):
    code, out, _ = run(
        capsys,
        "tables",
        "approximation",
        "--dim",
        "1,2",
        "--alpha",
        "0.5,1",
        "--eps",
        "1e-1,1e-2",
        "--format",
        "json",
    )
    assert code == 0
    rows = json.loads(out)
    keys = {
        "dim",
        "alpha",
        "eps",
        "method",
        "experts",
        "expert_parameters",
        "active_parameters",
        "total_parameters",
        "source",
    }
    assert rows and all(keys <= set(r) for r in rows)
    assert {r["dim"] for r in rows} == {1, 2} and {r["eps"] for r in rows} == {0.1, 0.01}
    # the reference's worked example: d = 2, α = 1, λ = 1, ε = 0.01 → K = 71, E = 5041
    example = [
        r
        for r in rows
        if (r["dim"], r["alpha"], r["eps"], r["method"]) == (2, 1, 0.01, "moe-constant")
    ]
    assert [(r["cells_per_axis"], r["experts"]) for r in example] == [(71, 5041)]


@pytest.mark.parametrize(
    "fmt,marker", [("md", "| d | α |"), ("latex", r"\toprule"), ("csv", "dim,alpha,eps,method")]
)
def test_tables_formats_deterministic(capsys, fmt, marker):
    argv = ["tables", "approximation", "--dim", "2", "--format", fmt]
    first = run(capsys, *argv)[1]
    assert marker in first and first == run(capsys, *argv)[1]


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--alpha", "1.5"], "alpha"),
        (["--alpha", "0"], "alpha"),
        (["--eps", "0"], "eps"),
        (["--eps", "-1e-3"], "eps"),
        (["--dim", "0"], "dim"),
        (["--dim", "2.5"], "2.5"),
        (["--alpha", "nan"], "nan"),
        (["--holder-constant", "0"], "holder"),
        (["--tradeoff", "1.5"], "tradeoff"),
        (["--dim", ","], "no value"),
    ],
)
def test_tables_bad_values_exit_2(capsys, args, needle):
    code, _, err = run(capsys, "tables", "approximation", *args)
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1


def test_tables_tradeoff(capsys):
    code, out, _ = run(
        capsys,
        "tables",
        "tradeoff",
        "--dim",
        "2",
        "--alpha",
        "1",
        "--budget",
        "1e5",
        "--budget-kind",
        "active",
        "--format",
        "json",
    )
    rows = json.loads(out)
    assert code == 0 and all(r["active_parameters"] <= 10**5 for r in rows)
    errors = [r["guaranteed_error"] for r in rows]
    assert errors == sorted(errors, reverse=True)  # more experts, same active size: better
    code, _, err = run(capsys, "tables", "tradeoff", "--dim", "1,2")
    assert code == 2 and "one --dim" in err


@pytest.mark.parametrize("router", ["grid", "prototype", "tree"])
def test_approximator_counts_equal_realised_module(router):
    target = Target.of(2, 1)
    for plan in (
        plan_constant(target, "0.2", router),
        plan_pwl(target, "0.3", 1, router),
        plan_pwl(target, "0.3", "1/2", router),
    ):
        arch = plan.architecture
        module = realise(arch)
        row = plan.row()
        assert sum(p.numel() for p in module.parameters()) == row["total_parameters"]
        assert sum(p.numel() for p in module.router.parameters()) == row["router_parameters"]
        assert module.expert_numel() == row["expert_parameters"]
        # the guarantee, recomputed: λ(√d/(2K))^α (constant) or λ(√d/(K·M))^α (Kuhn), λ = α = 1
        radius = (
            math.sqrt(2) / (2 * plan.cells)
            if plan.method == "moe-constant"
            else math.sqrt(2) / (plan.cells * plan.sub)
        )
        assert math.isclose(row["guaranteed_error"], radius)


def test_docstring_examples():
    import doctest

    from moetheory.bounds import (
        approximation,
        architecture,
        growth,
        kuhn,
        monotone,
        shatter,
        tradeoff,
        vc,
    )

    for module in (approximation, architecture, growth, kuhn, monotone, shatter, tradeoff, vc):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0, module.__name__


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["approximation", "--eps", "1e-400", "--holder-constant", "1e300"], "beyond the sizes"),
        (["tradeoff", "--dim", "2", "--alpha", "1", "--budget", "inf"], "budget"),
        (["tradeoff", "--dim", "2", "--alpha", "1", "--budget", "1.5"], "whole number"),
    ],
)
def test_tables_extreme_values_exit_2(capsys, argv, needle):
    code, _, err = run(capsys, "tables", *argv)
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1
    assert len(err) < 300  # numbers are shortened, not printed with every digit


def test_tables_very_fine_accuracy_runs(capsys):
    """ε = 1e-100 (d = 1, α = 1/2): K = ⌈(1/2)·10^200⌉ exactly, no float overflow anywhere."""
    code, out, _ = run(
        capsys,
        "tables",
        "approximation",
        "--dim",
        "1",
        "--alpha",
        "0.5",
        "--eps",
        "1e-100",
        "--format",
        "json",
    )
    rows = {r["method"]: r for r in json.loads(out)}
    assert code == 0 and rows["moe-constant"]["cells_per_axis"] == 5 * 10**199
    pwl = rows["moe-pwl"]  # σ = 1 in d = 1: K·M = (1/ε)^{1/α} = 10^200, M = 1 at r = 1
    assert (pwl["cells_per_axis"], pwl["sub"]) == (10**200, 1)
    code, out, _ = run(
        capsys,
        "tables",
        "approximation",
        "--dim",
        "1",
        "--alpha",
        "1",
        "--eps",
        "1e-100",
        "--format",
        "json",
    )
    (yarotsky,) = [r for r in json.loads(out) if r["method"] == "yarotsky"]
    # 10^100·(ln 10^100 + 1) ≈ 2.31e102 weights (shape, constant 1)
    assert 2.3 * 10**102 < yarotsky["total_parameters"] < 2.32 * 10**102


@pytest.mark.parametrize(
    "argv",
    [
        [
            "bounds",
            "--router",
            "grid",
            "--dim",
            "2",
            "--experts",
            "4096",
            "--depth",
            "2",
            "--width",
            "16",
        ],  # binomials beyond float range in the grid growth function
        ["tables", "tradeoff", "--dim", "1", "--alpha", "1", "--budget", "1e308"],  # laws in logs
    ],
)
def test_sizes_beyond_float_range_answer(capsys, argv):
    code, out, err = run(capsys, *argv)
    assert code == 0 and not err and out

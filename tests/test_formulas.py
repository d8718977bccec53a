"""A built-in pair written as formulas gives the same canonical relations and verdicts."""

from __future__ import annotations

import pytest
import sympy as sp

from moetheory import formula_model, identify
from moetheory.families import EXPERTS, ROUTERS, get_expert, get_router

FAST = [
    ("softmax", "linear"),
    ("softmax", "scaled-tanh"),
    ("cosine", "ffn-gelu"),
    ("perturbed-cosine", "scaled-tanh"),
    ("temperature-softmax-b0", "gaussian-linear"),
    ("act-temperature-softmax-relu", "ffn-sigmoid"),
    ("sigmoid", "scaled-relu"),
    ("hierarchical-SS", "linear"),
    ("topk-softmax", "gaussian-ffn-tanh"),
]
ALL = [(g, e) for g in ROUTERS for e in EXPERTS]


def _as_formulas(gate: str, expert: str):
    gb, eb = get_router(gate).build(2), get_expert(expert).build(2)
    mean = eb.mean if eb.mean is not None else eb.expr
    e_params = [str(p) for p in eb.params if p != eb.variance]
    return formula_model(
        sp.sstr(gb.expr),
        [str(p) for p in (*gb.params, *gb.masses)],
        sp.sstr(mean),
        e_params,
        [str(x) for x in gb.inputs],
        gaussian_output=str(eb.output) if eb.output is not None else None,
        variance_param=str(eb.variance) if eb.variance is not None else None,
        positive=[str(p) for p in gb.positive],
    )


def _same(gate, expert):
    built = identify(gate, expert)
    written = identify(model=_as_formulas(gate, expert))
    assert [r.to_json() for r in written.relations] == [r.to_json() for r in built.relations]
    assert written.verdicts == built.verdicts


@pytest.mark.parametrize("gate,expert", FAST)
def test_formula_equals_builtin(gate, expert):
    _same(gate, expert)


@pytest.mark.slow
@pytest.mark.parametrize("gate,expert", ALL)
def test_formula_equals_builtin_every_pair(gate, expert):
    _same(gate, expert)


@pytest.mark.parametrize(
    "side, argv",
    [
        ("gate", ["--gate-formula", "exp(w*x1)", "--gate-params", "v", "--expert", "linear"]),
        (
            "expert",
            ["--gate", "softmax", "--expert-formula", "w*tanh(a*x1)", "--expert-params", "a"],
        ),
    ],
)
def test_an_undeclared_name_says_how_to_declare_it(capsys, side, argv):
    from helpers import run_cli

    code, _, err = run_cli(capsys, "identify", *argv, "--dim", "1")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "unknown symbol 'w'" in err and f"--{side}-params" in err and "--inputs" in err

"""The rate-reading rule and the reproduced rows of the rates atlas (identifiability.md §5–§6).

The paper values below are claims to check, held here (not in the library): each check
computes the pair's verdict, matches it against the catalogue and compares the rates the
library derives with the ones the paper states.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from moetheory import identify
from moetheory.rates.facts import pair_facts
from moetheory.rates.predict import predict
from moetheory.rates.voronoi import MixingMeasure, d1_loss
from moetheory.rbar import rbar_value
from proofs_check.relations import Check


def reading_rule() -> bool:
    """|Δθ|^p ≍ n^{-1/2} solves to |Δθ| ≍ n^{-1/(2p)}, and D1 really has the exponents 1 and 2."""
    n, p, delta = sp.symbols("n p delta", positive=True)
    solved = sp.solve(sp.Eq(delta**p, n ** sp.Rational(-1, 2)), delta)
    symbolic = len(solved) == 1 and sp.simplify(solved[0] - n ** (-1 / (2 * p))) == 0
    truth = MixingMeasure(beta0=[0.0], beta1=[[1.0]], eta=[[0.5, -0.5]])
    deltas = np.array([1e-1, 1e-2, 1e-3])
    exact = [
        float(d1_loss(MixingMeasure([0.0], [[1.0 + t]], [[0.5, -0.5]]), truth)) for t in deltas
    ]
    half = float(np.log(0.5))
    over = [
        float(
            d1_loss(
                MixingMeasure([half, half], [[1.0 + t], [1.0 - t]], [[0.5, -0.5], [0.5, -0.5]]),
                truth,
            )
        )
        for t in deltas
    ]
    slope = [np.polyfit(np.log(deltas), np.log(v), 1)[0] for v in (exact, over)]
    return symbolic and abs(slope[0] - 1) < 0.02 and abs(slope[1] - 2) < 0.02


def _row(
    gate: str,
    expert: str,
    theorem: str,
    exact: list[str],
    over: list[str],
    sizes: tuple[int, ...] = (2,),
) -> Check:
    def run() -> bool:
        p = predict(pair_facts(identify(gate, expert)), rbar=rbar_value, sizes=sizes)
        got_exact = [e.rate.text() for e in p.rates["exact"]]
        got_over = [e.rate.text() for e in p.rates["over"]]
        ok = p.theorem is not None and p.theorem.id == theorem
        if not ok or got_exact != exact or got_over != over:
            print(f"  computed: {p.summary()}; exact {got_exact}; over {got_over}")
            return False
        return True

    claim = (
        f"{gate} × {expert}: exact {', '.join(exact)}; over-specified (M = "
        f"{', '.join(map(str, sizes))}) {', '.join(over)}"
    )
    name = f"row:{gate}×{expert}" + ("" if sizes == (2,) else f":M={','.join(map(str, sizes))}")
    return Check(name, claim, f"identifiability.md §6 ({theorem})", run)


LOG = "1/log^τ n"

CHECKS = [
    Check(
        "reading-rule",
        "a loss term |Δθ|^p gives n^{-1/(2p)}; D1 scales like δ (exact) and δ² (over-specified)",
        "identifiability.md §5 [R 2505.10860]",
        reading_rule,
    ),
    _row("softmax", "scaled-tanh", "softmax-strong", ["n^{-1/2}"], ["n^{-1/4}"]),
    _row("softmax", "scaled-gelu", "softmax-strong", ["n^{-1/2}"], ["n^{-1/4}"]),
    _row("softmax", "scaled-sigmoid", "softmax-strong", ["n^{-1/2}"], ["n^{-1/4}"]),
    _row(
        "softmax",
        "gaussian-linear",
        "softmax-gaussian-linear",
        ["n^{-1/2}"],
        ["n^{-1/8}", "n^{-1/4}"],
    ),
    _row(
        "softmax",
        "gaussian-linear",
        "softmax-gaussian-linear",
        ["n^{-1/2}"],
        ["n^{-1/12}", "n^{-1/6}"],
        sizes=(3,),
    ),
    _row("softmax", "linear", "softmax-linear-ls", ["[open]"], [LOG]),
    _row("cosine", "scaled-tanh", "cosine", [LOG], [LOG]),
    _row("perturbed-cosine", "scaled-tanh", "perturbed-cosine-strong", ["n^{-1/2}"], ["n^{-1/4}"]),
    _row("temperature-softmax", "gaussian-linear", "temperature", [LOG], [LOG]),
    _row(
        "act-temperature-softmax-gelu",
        "gaussian-linear",
        "activation-temperature",
        ["[open]"],
        ["[open]"],
    ),
    _row("topk-softmax", "gaussian-linear", "topk", ["n^{-1/2}"], ["[open]"]),
]

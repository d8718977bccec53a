"""LaTeX renderings (booktabs) of verdicts."""

from __future__ import annotations

import sympy as sp

from moetheory.identify.verdict import Verdict


def verdict_latex(v: Verdict) -> str:
    """Relations as displayed equations plus a booktabs table of verdicts."""
    rows = [r"\begin{tabular}{ll}", r"\toprule", r"definition & verdict \\", r"\midrule"]
    rows += [f"{k.replace('_', ' ')} & {val} \\\\" for k, val in v.verdicts.items()]
    rows += [r"\bottomrule", r"\end{tabular}"]
    eqs = [rf"{sp.latex(r.expression)} = 0 \quad \text{{({r.cls})}}" for r in v.relations]
    body = r"\begin{gather*}" + r" \\ ".join(eqs) + r"\end{gather*}" if eqs else ""
    return "$$u = " + sp.latex(v.u) + "$$\n" + "\n".join(rows) + "\n" + body

"""LaTeX renderings (booktabs) of verdicts."""

from __future__ import annotations

import sympy as sp
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import PRECEDENCE

from moetheory.identify.verdict import Verdict
from moetheory.present import verdict_parts as parts
from moetheory.present.formats import renders
from moetheory.present.tables import latex_escape


class PartialLatexPrinter(LatexPrinter):
    """sympy's LaTeX printer, writing every derivative as a partial one.

    sympy writes ``d`` when the differentiated expression has one free symbol (the placeholder
    u of a relation always has), but ∂^α u is a partial derivative in the parameters θ.
    ∂²u/∂c∂β₁ is written ``\\frac{\\partial^{2} u}{\\partial c \\partial \\beta_{1}}``.
    """

    def _print_Derivative(self, expr: sp.Derivative) -> str:
        dim, den = 0, []
        for x, num in reversed(expr.variable_count):
            dim += num
            var = self._print(x)
            den.append(
                rf"\partial {var}"
                if num == 1
                else rf"\partial {self.parenthesize_super(var)}^{{{self._print(num)}}}"
            )
        top = r"\partial" if dim == 1 else rf"\partial^{{{self._print(dim)}}}"
        if expr.expr.is_Symbol:
            return rf"\frac{{{top} {self._print(expr.expr)}}}{{{' '.join(den)}}}"
        inner = self.parenthesize(expr.expr, PRECEDENCE["Mul"], strict=True)
        return rf"\frac{{{top}}}{{{' '.join(den)}}} {inner}"


def latex(expr: sp.Expr) -> str:
    """``sympy.latex`` with partial derivatives (:class:`PartialLatexPrinter`)."""
    return PartialLatexPrinter().doprint(expr)


def _equations(relations: list, label) -> str:
    eqs = [
        rf"\text{{{label(i)}:}}\quad {latex(r.expression)} = 0 \quad "
        rf"\text{{({latex_escape(r.cls)}, {r.verified})}}"
        for i, r in enumerate(relations)
    ]
    return r"\begin{gather*}" + r" \\ ".join(eqs) + r"\end{gather*}" if eqs else "none"


def _number(text: str) -> str:
    """'6.98e-37' → '6.98 \\times 10^{-37}' (maths mode)."""
    mantissa, _, exponent = text.partition("e")
    return mantissa + (rf" \times 10^{{{exponent}}}" if exponent else "")


def _det(m: parts.MinorView) -> str:
    return m.det_text(
        ball=rf"\texttt{{{latex_escape(m.det)}}}",
        bound=None if m.lower is None else f"${_number(m.lower)}$",
        ne=r"$\det \neq 0$",
        ge=r"$|\det| \geq$",
    )


@renders("verdict", "latex")
def verdict_latex(v: Verdict) -> str:
    """A booktabs table of verdicts (the weak verdict's breakers labelled W, the others' R),
    the reason of each "unknown" verdict, the relations as displayed equations (order-r: R1,
    R2, …; first-order, the weak verdict's list: W1, W2, …) and the certificate's minors."""
    rows = [
        r"\begin{tabular}{lll}",
        r"\toprule",
        r"definition & verdict & broken by \\",
        r"\midrule",
    ]
    rows += [
        f"{latex_escape(k.replace('_', ' '))} & {val} & "
        f"{', '.join(parts.broken_by(v, k)) or '---'} \\\\"
        for k, val in v.verdicts.items()
    ]
    rows += [r"\bottomrule", r"\end{tabular}"]
    unknown = parts.unknown_reasons(v)
    if unknown:
        rows += ["", r"Why unknown:", r"\begin{itemize}"]
        rows += [
            rf"\item {latex_escape(k.replace('_', ' '))}: {latex_escape(reason)}"
            for k, reason in unknown
        ]
        rows += [r"\end{itemize}"]
    rows += ["", f"Order-{v.order} relations (R):", _equations(v.relations, parts.relation_label)]
    if parts.show_weak(v):
        rows += [
            "",
            "First-order (weak) relations (W, the weak verdict's list):",
            _equations(v.weak_relations, parts.weak_label),
        ]
    shown = parts.minors(v)
    if shown:
        rows += [
            "",
            r"\begin{tabular}{lllll}",
            r"\toprule",
            r"minor & size & precision (bits) & certified & determinant \\",
            r"\midrule",
        ]
        rows += [
            rf"{latex_escape(m.name)} & ${m.size} \times {m.size}$ & "
            rf"{'---' if m.bits is None else m.bits} & {'yes' if m.certified else 'no'} & "
            rf"{_det(m)} \\"
            for m in shown
        ]
        rows += [r"\bottomrule", r"\end{tabular}"]
    return "$$u = " + latex(v.u) + "$$\n" + "\n".join(rows) + "\n"

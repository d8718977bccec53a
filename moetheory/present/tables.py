"""Render tables of plain rows (lists of dicts) as Markdown, LaTeX (booktabs), CSV or JSON,
with a legend under the Markdown and LaTeX tables.

Pure functions of the rows: equal rows give byte-identical text. Markdown and LaTeX show
large integers compactly (1.72e09); CSV and JSON keep every digit.

Example
-------
>>> rows = [{"cells_per_axis": 2, "sub": 0}, {"cells_per_axis": 3, "sub": None}]
>>> print(render_table(rows, [("cells_per_axis", "K"), ("sub", "M")], "md", "Sizes",
...                    legend=[("K", "cells per axis"), ("—", "not built")]))
# Sizes
<BLANKLINE>
| K | M |
|---|---|
| 2 | 0 |
| 3 | — |
<BLANKLINE>
Legend:
<BLANKLINE>
- `K`: cells per axis
- `—`: not built
<BLANKLINE>
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from decimal import Decimal

from moetheory.present.formats import render, renders
from moetheory.present.jsonio import dumps

Legend = Sequence[tuple[str, str]]
"""(term, meaning) pairs: what a table's columns, symbols and tags mean; a meaning may hold
`code` in backticks."""

TAGS: dict[str, str] = {
    "[P]": "stated in the cited paper",
    "[R]": "restated with equations in a later paper by the same group",
    "[open]": "not confirmed from a primary text (reconstructed or recalled): a hypothesis, "
    "not a result",
    "[math]": "mathematics this package derives and checks itself, not a claim about any paper",
    "[ref]": "a published result whose asymptotic form was read from its abstract",
}
"""Provenance tags (the reference files' legend), shared by every legend that uses them."""

_LATEX = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\^{}",
    "β": r"$\beta$",
    "ν": r"$\nu$",
    "ε": r"$\varepsilon$",
    "τ": r"$\tau$",
    "σ": r"$\sigma$",
    "₀": r"$_0$",
    "₁": r"$_1$",
    "₂": r"$_2$",
    "×": r"$\times$",
    "—": "---",
    "≥": r"$\geq$",
    "′": "'",
    "ᵀ": r"$^\top$",
    "∂": r"$\partial$",
    "∇": r"$\nabla$",
    "‖": r"$\|$",
    "·": r"$\cdot$",
    "≠": r"$\neq$",
    "Σ": r"$\Sigma$",
    "|": r"$|$",
    "<": r"$<$",
    ">": r"$>$",
}


def latex_escape(text: str) -> str:
    """Plain text → LaTeX source that pdflatex accepts (Greek and sub/superscripts mapped).

    >>> print(latex_escape("r̄(2) = 4, 5% × τ"))
    $\\bar r$(2) = 4, 5\\% $\\times$ $\\tau$
    """
    out = "".join(_LATEX.get(ch, ch) for ch in text)
    return out.replace("r̄", r"$\bar r$").replace("̄", "")


def legend_markdown(legend: Legend) -> str:
    """A legend block for under a Markdown table: one bullet per (term, meaning)."""
    return (
        "\n".join(["Legend:", ""] + [f"- `{term}`: {meaning}" for term, meaning in legend]) + "\n"
    )


def legend_latex(legend: Legend) -> str:
    """The legend as a LaTeX ``description`` list (`code` set in typewriter).

    >>> print(legend_latex([("τ", "see `moetheory rbar`")]), end="")
    \\begin{description}
    \\item[{$\\tau$}] see \\texttt{moetheory rbar}
    \\end{description}
    """

    def text(s: str) -> str:
        pieces = s.split("`")
        return "".join(
            rf"\texttt{{{latex_escape(p)}}}" if i % 2 else latex_escape(p)
            for i, p in enumerate(pieces)
        )

    items = [rf"\item[{{{latex_escape(term)}}}] {text(meaning)}" for term, meaning in legend]
    return "\n".join([r"\begin{description}", *items, r"\end{description}"]) + "\n"


def compact(value: object) -> str:
    """A cell for Markdown/LaTeX: integers beyond 10^9 and floats to 3 significant digits."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        if abs(value) < 10**9:
            return str(value)
        if abs(value) < 10**300:
            return f"{value:.3g}".replace("e+", "e")
        mantissa, exponent = f"{Decimal(value):.3g}".upper().split("E")  # beyond float range
        return f"{mantissa}e{int(exponent)}"
    if isinstance(value, float):
        return f"{value:.3g}".replace("e+", "e").replace("e-0", "e-")
    return str(value)


def _exact(value: object) -> str:
    if value is None:
        return ""
    return repr(value) if isinstance(value, float) else str(value)


@renders("table", "md")
def table_markdown(
    rows: list[dict],
    columns: list[tuple[str, str]],
    title: str,
    notes: str = "",
    legend: Legend = (),
) -> str:
    """``columns`` are (key, header) pairs; ``notes`` go above the table, ``legend`` under it."""
    lines = [f"# {title}", ""] + ([notes, ""] if notes else [])
    lines += ["| " + " | ".join(h for _, h in columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append(
            "| " + " | ".join(compact(row.get(k)).replace("|", "\\|") for k, _ in columns) + " |"
        )
    return "\n".join(lines) + "\n" + ("\n" + legend_markdown(legend) if legend else "")


@renders("table", "latex")
def table_latex(
    rows: list[dict],
    columns: list[tuple[str, str]],
    caption: str,
    notes: str = "",
    legend: Legend = (),
) -> str:
    """The table in booktabs/longtable with ``caption``; ``notes`` belong to the Markdown page."""
    spec = "l" * len(columns)
    lines = [
        r"% requires \usepackage{booktabs,longtable}",
        rf"\begin{{longtable}}{{{spec}}}",
        rf"\caption{{{latex_escape(caption)}}}\\",
        r"\toprule",
        " & ".join(latex_escape(h) for _, h in columns) + r" \\",
        r"\midrule",
        r"\endhead",
    ]
    for row in rows:
        lines.append(" & ".join(latex_escape(compact(row.get(k))) for k, _ in columns) + r" \\")
    lines += [r"\bottomrule", r"\end{longtable}"]
    return "\n".join(lines) + "\n" + (legend_latex(legend) if legend else "")


@renders("table", "csv")
def table_csv(
    rows: list[dict],
    columns: list[tuple[str, str]],
    title: str = "",
    notes: str = "",
    legend: Legend = (),
) -> str:
    """The ``columns`` of every row with every digit, a header of keys; data only (no title,
    notes or legend)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([k for k, _ in columns])
    for row in rows:
        writer.writerow([_exact(row.get(k)) for k, _ in columns])
    return buf.getvalue()


@renders("table", "json")
def table_json(
    rows: list[dict],
    columns: list[tuple[str, str]],
    title: str = "",
    notes: str = "",
    legend: Legend = (),
) -> str:
    """Every key of every row, not only ``columns``; data only."""
    return dumps(rows) + "\n"


def render_table(
    rows: list[dict],
    columns: list[tuple[str, str]],
    fmt: str,
    title: str,
    notes: str = "",
    legend: Legend = (),
) -> str:
    """One table in ``fmt`` (:func:`moetheory.present.formats.formats_for` ``("table")``); the
    ``legend`` goes under the Markdown and LaTeX tables (CSV and JSON stay plain data)."""
    return render("table", fmt, rows, columns, title, notes, legend)

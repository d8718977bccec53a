"""Render the atlas (``moetheory.rates.atlas``) as Markdown, LaTeX (booktabs), CSV or JSON.

Every renderer is a pure function of the rows: equal rows give byte-identical text. The
Markdown and LaTeX tables carry a legend (:data:`LEGEND`: columns, symbols, tags); CSV and JSON
are data.

Example
-------
>>> from moetheory.rates.atlas import atlas_rows
>>> rows = atlas_rows(gates=["softmax"], experts=["ffn-relu"], workers=1)
>>> cells(rows[0])[-1].split(" — ")[1].split(" | ")[0]  # doctest: +NORMALIZE_WHITESPACE
"computation disagrees: the paper's result needs strong identifiability = yes (computed),
 found computed strong = no"
>>> "Legend:" in render_atlas(rows, "md") and "Legend:" not in render_atlas(rows, "csv")
True
"""

from __future__ import annotations

import csv
import io

from moetheory.present.formats import render, renders
from moetheory.present.jsonio import dumps
from moetheory.present.tables import TAGS, latex_escape, legend_latex, legend_markdown
from moetheory.rates.atlas import AtlasRow

COLUMNS = (
    "gate",
    "expert",
    "relations",
    "strong",
    "weak",
    "interaction-free",
    "exact",
    "over-specified",
    "samples (over)",
    "source",
    "paper",
)


def _rates(row: AtlasRow, kind: str) -> str:
    parts = []
    for e in row.prediction.rates[kind]:
        label = "" if e.parameters == "all atoms' parameters" else f"{e.parameters}: "
        parts.append(label + e.rate.text())
    return "; ".join(parts) if parts else "—"


def _samples(row: AtlasRow) -> str:
    parts = []
    for e in row.prediction.rates["over"]:
        label = "" if e.parameters == "all atoms' parameters" else f"{e.parameters}: "
        parts.append(label + e.rate.sample_complexity())
    return "; ".join(parts) if parts else "—"


LEGEND: tuple[tuple[str, str], ...] = (
    (
        "gate, expert",
        "the built-in router and expert families (`moetheory families` lists their formulas)",
    ),
    (
        "relations",
        "the relations found among the derivatives of u up to the order, by class "
        "with multiplicity: the classes the papers count first, the others in "
        "parentheses (README, Relation classes)",
    ),
    (
        "strong, weak, interaction-free",
        "the engine's verdicts: yes (proved, complete "
        "certificate), no (a counted relation proved), unknown "
        "(neither; `moetheory identify` gives the reason)",
    ),
    (
        "exact",
        "per-parameter estimation rate of the covering theorem when the number of atoms "
        "is exactly specified",
    ),
    (
        "over-specified",
        "the same when it is over-specified; (M = 2), (M = 3): a Voronoi cell of "
        "M fitted atoms around one true atom, the rate evaluated with r̄(M) from "
        "the r̄ solver (`moetheory rbar --system r2 --m M --json` prints its "
        "certificate)",
    ),
    (
        "samples (over)",
        "samples needed for accuracy ε at the over-specified rate (a rate "
        "n^{-1/(2p)} needs ε^{-2p} samples)",
    ),
    (
        "source",
        "the covering theorem (paper, setting) with its tag; otherwise the nearest "
        "catalogue entry and the hypotheses it fails",
    ),
    (
        "paper",
        "the papers' own claim about this pair set against the computation: agrees; "
        "DISAGREES (the claim, what the paper assumes, what was computed); no paper "
        "claim (the papers name no such example)",
    ),
    ("n, ε", "sample size; accuracy of a parameter estimate"),
    (
        "τ",
        "a positive constant the references leave unspecified: a rate as slow as "
        "1/log^τ n, so exp(ε^{-1/τ}) samples — exponentially many",
    ),
    ("[open] (in a rate)", "no reliable exponent is stated anywhere"),
    ("—", "no rate: no theorem covers the pair"),
    *((tag, TAGS[tag]) for tag in ("[P]", "[R]", "[open]")),
)
"""What the atlas's columns, symbols and tags mean (under the Markdown and LaTeX tables)."""


def _paper(row: AtlasRow) -> str:
    a = row.prediction.agrees_with_paper
    if a is None:
        return "no paper claim"
    return "agrees" if a else "DISAGREES: " + row.prediction.paper


def _source(row: AtlasRow) -> str:
    p = row.prediction
    if p.theorem is not None:
        return f"{p.theorem.source} [{p.theorem.tag}]"
    near = p.nearest.id if p.nearest else "none"
    fails = ", ".join(c.text for c in p.failing)
    return f"no theorem covers this pair (nearest {near}; fails: {fails})"


def cells(row: AtlasRow) -> list[str]:
    v = row.verdicts
    return [
        row.gate,
        row.expert,
        row.relation_summary(),
        v.get("strong", ""),
        v.get("weak", ""),
        v.get("interaction_free", ""),
        _rates(row, "exact"),
        _rates(row, "over"),
        _samples(row),
        _source(row),
        _paper(row),
    ]


@renders("atlas", "md")
def atlas_markdown(rows: list[AtlasRow], title: str = "Identifiability atlas") -> str:
    def esc(s: str) -> str:
        return s.replace("|", "\\|")

    lines = [
        f"# {title}",
        "",
        "Rates are per-parameter estimation rates (exact-specified atoms, over-specified "
        "atoms; r̄-dependent rates for Voronoi cells of M = 2 and 3 atoms); `[open]`: no "
        "reliable exponent; "
        "relations counted by the papers' convention come first.",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    lines += ["| " + " | ".join(esc(c) for c in cells(r)) + " |" for r in rows]
    return "\n".join(lines) + "\n\n" + legend_markdown(LEGEND)


@renders("atlas", "csv")
def atlas_csv(rows: list[AtlasRow]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for r in rows:
        w.writerow(cells(r))
    return buf.getvalue()


@renders("atlas", "json")
def atlas_json(rows: list[AtlasRow]) -> str:
    return dumps([r.to_json() for r in rows]) + "\n"


def _latex_rate(text: str) -> str:
    """'n^{-1/4}' → '$n^{-1/4}$'; rates and sample complexities are typeset as maths."""
    if text.startswith("["):
        return text
    for a, b in (("τ", r"\tau "), ("ε", r"\varepsilon"), ("log", r"\log "), ("exp", r"\exp")):
        text = text.replace(a, b)
    return f"${text}$"


def _latex_rates(row: AtlasRow, kind: str, samples: bool = False) -> str:
    parts = []
    for e in row.prediction.rates[kind]:
        label = "" if e.parameters == "all atoms' parameters" else latex_escape(e.parameters) + ": "
        parts.append(label + _latex_rate(e.rate.sample_complexity() if samples else e.rate.text()))
    return "; ".join(parts) if parts else "---"


@renders("atlas", "latex")
def atlas_latex(rows: list[AtlasRow]) -> str:
    spec = "ll" + "p{3cm}" + "lll" + "p{2.2cm}" * 3 + "p{3.2cm}p{2.5cm}"
    head = " & ".join(latex_escape(c) for c in COLUMNS) + r" \\"
    lines = [
        r"% requires \usepackage{booktabs,longtable}",
        rf"\begin{{longtable}}{{{spec}}}",
        r"\toprule",
        head,
        r"\midrule",
        r"\endhead",
    ]
    for r in rows:
        c = [latex_escape(x) for x in cells(r)]
        c[6], c[7], c[8] = (
            _latex_rates(r, "exact"),
            _latex_rates(r, "over"),
            _latex_rates(r, "over", samples=True),
        )
        lines.append(" & ".join(c) + r" \\")
    lines += [r"\bottomrule", r"\end{longtable}"]
    return "\n".join(lines) + "\n" + legend_latex(LEGEND)


def render_atlas(rows: list[AtlasRow], fmt: str) -> str:
    """The atlas in ``fmt`` (a text format of :func:`moetheory.present.formats.formats_for`
    ``("atlas")``)."""
    return render("atlas", fmt, rows)

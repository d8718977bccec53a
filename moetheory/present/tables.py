"""Render tables of plain rows (lists of dicts) as Markdown, LaTeX (booktabs), CSV or JSON.

Pure functions of the rows: equal rows give byte-identical text. Markdown and LaTeX show
large integers compactly (1.72e9); CSV and JSON keep every digit.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from moetheory.present.atlas import latex_escape
from moetheory.present.jsonio import dumps

FORMATS = ("md", "latex", "csv", "json")


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


def table_markdown(rows: list[dict], columns: list[tuple[str, str]], title: str,
                   notes: str = "") -> str:
    """``columns`` are (key, header) pairs."""
    lines = [f"# {title}", ""] + ([notes, ""] if notes else [])
    lines += ["| " + " | ".join(h for _, h in columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(compact(row.get(k)).replace("|", "\\|")
                                       for k, _ in columns) + " |")
    return "\n".join(lines) + "\n"


def table_latex(rows: list[dict], columns: list[tuple[str, str]], caption: str) -> str:
    spec = "l" * len(columns)
    lines = [r"% requires \usepackage{booktabs,longtable}", rf"\begin{{longtable}}{{{spec}}}",
             rf"\caption{{{latex_escape(caption)}}}\\", r"\toprule",
             " & ".join(latex_escape(h) for _, h in columns) + r" \\", r"\midrule",
             r"\endhead"]
    for row in rows:
        lines.append(" & ".join(latex_escape(compact(row.get(k))) for k, _ in columns)
                     + r" \\")
    lines += [r"\bottomrule", r"\end{longtable}"]
    return "\n".join(lines) + "\n"


def table_csv(rows: list[dict], columns: list[tuple[str, str]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([k for k, _ in columns])
    for row in rows:
        writer.writerow([_exact(row.get(k)) for k, _ in columns])
    return buf.getvalue()


def render_table(rows: list[dict], columns: list[tuple[str, str]], fmt: str, title: str,
                 notes: str = "") -> str:
    """One table in ``fmt``; JSON carries every key of every row, not only ``columns``."""
    if fmt == "md":
        return table_markdown(rows, columns, title, notes)
    if fmt == "latex":
        return table_latex(rows, columns, title)
    if fmt == "csv":
        return table_csv(rows, columns)
    if fmt == "json":
        return dumps(rows) + "\n"
    raise ValueError(f"unknown table format {fmt!r}; choose one of {', '.join(FORMATS)}")

"""Markdown renderings of constructed approximators and of the measured trade-off table.

The tables share one convention for the sub-grid column M, stated in their legends: M is the
number of sub-cells per axis of a Kuhn-hat (pwl) expert, 0 for a constant expert (it has no
sub-grid; approximation.md's ``M or N`` column writes the same), and ``—`` in any column means
a value that was not computed because the row was not built.

Example
-------
>>> rows = [{"target": "abs-power", "expert": "constant", "num_experts": 5, "sub_cells": None},
...         {"target": "smooth", "expert": "pwl", "status": "not built: …"}]
>>> table = constructions_table(rows, limit=1 << 22, construct_limit=1 << 26)
>>> [line.split(" | ")[7] for line in table.splitlines() if line.startswith("| abs")]
['0']
>>> "4,194,304" in table and "67,108,864" in table
True
"""

from __future__ import annotations

from moetheory.present.tables import Legend, compact, render_table


def construction_markdown(data: dict) -> str:
    """One construction with its evidence (``Verification.to_json()``), as Markdown."""
    p, b = data["parameters"], data["baseline"]
    sub = f", M = {data['sub_cells']}" if data["sub_cells"] is not None else ""
    lines = [
        f"## {data['target']}: {data['formula']}",
        "",
        f"- class: α = {data['alpha']}, λ = {data['holder_constant']} ({data['norm']}), "
        f"d = {data['dim']}, ε = {data['eps_exact']}",
        f"- construction: {data['num_experts']} {data['expert']} experts, router "
        f"{data['router']}, K = {data['cells_per_axis']} cells per axis{sub}",
        f"- parameters: total {p['total']:,}, active {p['active']:,} (router "
        f"{p['router']:,}, read per input {p['router_active']:,}; per expert "
        f"{p['per_expert']:,}); non-zero total {p['nonzero']:,}, active "
        f"{p['active_nonzero']:,}",
        f"- guarantee: {data['guarantee']}",
        *(
            []
            if b is None
            else [
                f"- single network of the same guarantee (K = 1, M = {b['sub_cells']}): "
                f"{b['total']:,} parameters, all active"
            ]
        ),
        f"- search: {data['search']['statement']}",
        f"- within ε: {'yes' if data['within_eps'] else 'NO'}",
    ]
    if data["exact_sup_1d"] is not None:
        lines.append(f"- d = 1: {data['exact_sup_1d']['statement']}")
    h = data["holder_check"]
    lines += [
        f"- continuity: largest jump across cell faces {compact(data['face_jump_relative'])}"
        " × max(1, max|f|)"
        f" ({'continuous' if data['continuous'] else 'discontinuous'})",
        f"- torch module versus data evaluation: max difference "
        f"{compact(data['torch_vs_data_max_difference'])}",
        f"- Hölder declaration: largest quotient found {compact(h['largest_quotient_found'])}"
        f" on {h['pairs']:,} pairs vs declared {compact(h['declared'])}"
        + ("" if h["consistent"] else " — VIOLATED: the guarantee does not apply"),
    ]
    if "refit" in data:
        lines.append(f"- minimax refit of the output layers: {data['refit']['statement']}")
    if "saved" in data:
        lines.append(f"- module saved to {data['saved']} (moetheory.construct.load_module)")
    return "\n".join(lines) + "\n"


CONSTRUCTION_COLUMNS = [
    ("target", "target"),
    ("dim", "d"),
    ("alpha", "α"),
    ("holder_constant", "λ"),
    ("eps", "ε"),
    ("expert", "expert"),
    ("cells_per_axis", "K"),
    ("sub_cells", "M"),
    ("num_experts", "experts"),
    ("total", "total"),
    ("active", "active"),
    ("guaranteed_error", "guaranteed"),
    ("max_error_found", "max error found"),
    ("check_points", "points"),
    ("status", "status"),
]

MEASURED_TRADEOFF_COLUMNS = [
    ("cells_per_axis", "K"),
    ("experts", "experts"),
    ("sub", "M"),
    ("expert_parameters", "per expert"),
    ("active_parameters", "active"),
    ("total_parameters", "total"),
    ("guaranteed_error", "guaranteed error"),
    ("measured_error", "max error found"),
    ("law_shallow", "(E·P)^(−α/d) law"),
    ("law_deep", "(E·P²)^(−α/d) law"),
]


_SIZES: Legend = (
    ("K", "cells per axis of the grid router"),
    ("experts", "E = K^d, one per cell"),
    (
        "M",
        "sub-cells per axis of each Kuhn-hat (pwl) expert, 0 for constant experts (no "
        "sub-grid), as in approximation.md",
    ),
    (
        "total, active",
        "dense parameters (every stored entry of the torch module): all of them, "
        "and those read for one input (router part and one expert)",
    ),
)


def _limit(limit: int) -> str:
    exponent = limit.bit_length() - 1
    power = f" = 2^{exponent}" if limit == 1 << exponent else ""
    return f"{limit:,}{power}"


def constructions_table(
    rows: list[dict], fmt: str = "md", *, limit: int, construct_limit: int
) -> str:
    """The built approximators (``moetheory.construct.measured.construction_rows``) with
    their legend, which states ``limit`` (the dense size above which rows were not built) and
    ``construct_limit`` (the default limit of ``moetheory construct``). The Markdown and LaTeX
    cells write M = 0 for constant experts (the rows hold None)."""
    notes = (
        "This package's construction (grid router; constant or Kuhn-hat experts), built "
        "as torch modules; `max error found` is a grid-plus-adversarial search (not a "
        "proof); `guaranteed` is the construction's proved inequality. Rows over the "
        "size limit are listed, not built (the legend states the limit)."
    )
    if fmt in ("md", "latex"):
        rows = [
            row | {"sub_cells": 0}
            if row.get("expert") == "constant" and "num_experts" in row
            else row
            for row in rows
        ]
    legend: Legend = (
        ("target", "built-in target function (`moetheory construct --target`)"),
        (
            "d, α, λ, ε",
            "input dimension, Hölder exponent, Hölder constant (proved for the "
            "target), accuracy asked (sup norm)",
        ),
        (
            "expert",
            "constant, or pwl: the Kuhn-hat simplicial interpolant realised with ReLU units",
        ),
        *_SIZES,
        ("guaranteed", "the construction's proved bound on the sup error"),
        (
            "max error found, points",
            "the largest error a grid-plus-adversarial search found "
            "(not a proof), and the number of points it evaluated",
        ),
        (
            "not built",
            f"listed with their size, not built: they need more than "
            f"{_limit(limit)} dense parameters, the report's limit, which keeps "
            "building and searching every row within the report's time budget (about "
            "a minute for the whole report); `moetheory construct --target TARGET "
            "--alpha α --dim d --eps ε --expert EXPERT` builds any one of them (up to "
            f"{_limit(construct_limit)} dense parameters by default; "
            "`--max-parameters` raises the limit)",
        ),
        ("—", "not computed: the row was not built"),
    )
    return render_table(rows, CONSTRUCTION_COLUMNS, fmt, "Constructed approximators", notes, legend)


def measured_tradeoff_table(rows: list[dict], fmt: str = "md", *, limit: int) -> str:
    """The measured trade-off (``moetheory.construct.measured.measured_tradeoff``) with its
    legend, which states ``limit``: the dense size above which a mixture was not built, so no
    error was measured."""
    first = rows[0]
    title = (
        f"Measured trade-off: {first['target']} at a fixed {first['budget_kind']} budget "
        f"of {first['budget']} parameters (d = {first['dim']}, α = {first['alpha']})"
    )
    notes = (
        "Kuhn-hat mixtures built and measured (max error found by search on "
        f"{first['check_points']:,} points); laws scaled to the first row's guaranteed "
        "error (shapes, approximation_vc.md §4)."
    )
    legend: Legend = (
        *_SIZES,
        ("per expert", "dense parameters of one expert"),
        ("guaranteed error", "the construction's proved bound on the sup error"),
        ("max error found", "the largest error the search found (not a proof)"),
        (
            "(E·P)^(−α/d) law, (E·P²)^(−α/d) law",
            "the reference's shallow and deep trade-off "
            "laws, E experts of P parameters, scaled to the "
            "first row: shapes, not bounds",
        ),
        (
            "—",
            f"not measured: the mixture was not built, as it needs more than "
            f"{_limit(limit)} dense parameters, the report's limit for its time budget (the "
            "guaranteed error and the laws need no build)",
        ),
    )
    return render_table(rows, MEASURED_TRADEOFF_COLUMNS, fmt, title, notes, legend)

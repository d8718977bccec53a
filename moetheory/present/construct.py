"""Markdown renderings of constructed approximators and of the measured trade-off table."""

from __future__ import annotations

from moetheory.present.tables import compact, render_table


def construction_markdown(data: dict) -> str:
    """One construction with its evidence (``Verification.to_json()``), as Markdown."""
    p, b = data["parameters"], data["baseline"]
    sub = f", M = {data['sub_cells']}" if data["sub_cells"] is not None else ""
    lines = [f"## {data['target']}: {data['formula']}", "",
             f"- class: α = {data['alpha']}, λ = {data['holder_constant']} ({data['norm']}), "
             f"d = {data['dim']}, ε = {data['eps_exact']}",
             f"- construction: {data['num_experts']} {data['expert']} experts, router "
             f"{data['router']}, K = {data['cells_per_axis']} cells per axis{sub}",
             f"- parameters: total {p['total']:,}, active {p['active']:,} (router "
             f"{p['router']:,}, read per input {p['router_active']:,}; per expert "
             f"{p['per_expert']:,}); non-zero total {p['nonzero']:,}, active "
             f"{p['active_nonzero']:,}",
             f"- guarantee: {data['guarantee']}",
             *([] if b is None else
               [f"- single network of the same guarantee (K = 1, M = {b['sub_cells']}): "
                f"{b['total']:,} parameters, all active"]),
             f"- search: {data['search']['statement']}",
             f"- within ε: {'yes' if data['within_eps'] else 'NO'}"]
    if data["exact_sup_1d"] is not None:
        lines.append(f"- d = 1: {data['exact_sup_1d']['statement']}")
    h = data["holder_check"]
    lines += [f"- continuity: largest jump across cell faces {compact(data['face_jump_relative'])}"
              " × max(1, max|f|)"
              f" ({'continuous' if data['continuous'] else 'discontinuous'})",
              f"- torch module versus data evaluation: max difference "
              f"{compact(data['torch_vs_data_max_difference'])}",
              f"- Hölder declaration: largest quotient found {compact(h['largest_quotient_found'])}"
              f" on {h['pairs']:,} pairs vs declared {compact(h['declared'])}"
              + ("" if h["consistent"] else " — VIOLATED: the guarantee does not apply")]
    if "refit" in data:
        lines.append(f"- minimax refit of the output layers: {data['refit']['statement']}")
    if "saved" in data:
        lines.append(f"- module saved to {data['saved']} (moetheory.construct.load_module)")
    return "\n".join(lines) + "\n"


CONSTRUCTION_COLUMNS = [
    ("target", "target"), ("dim", "d"), ("alpha", "α"), ("holder_constant", "λ"),
    ("eps", "ε"), ("expert", "expert"), ("cells_per_axis", "K"), ("sub_cells", "M"),
    ("num_experts", "experts"), ("total", "total"), ("active", "active"),
    ("guaranteed_error", "guaranteed"), ("max_error_found", "max error found"),
    ("check_points", "points"), ("status", "status")]

MEASURED_TRADEOFF_COLUMNS = [
    ("cells_per_axis", "K"), ("experts", "experts"), ("sub", "M"),
    ("expert_parameters", "per expert"), ("active_parameters", "active"),
    ("total_parameters", "total"), ("guaranteed_error", "guaranteed error"),
    ("measured_error", "max error found"), ("law_shallow", "(E·P)^(−α/d) law"),
    ("law_deep", "(E·P²)^(−α/d) law")]


def constructions_table(rows: list[dict], fmt: str = "md") -> str:
    notes = ("This package's construction (grid router; constant or Kuhn-hat experts), built "
             "as torch modules; `max error found` is a grid-plus-adversarial search (not a "
             "proof); `guaranteed` is the construction's proved inequality. Rows over the "
             "size limit are listed, not built.")
    return render_table(rows, CONSTRUCTION_COLUMNS, fmt, "Constructed approximators", notes)


def measured_tradeoff_table(rows: list[dict], fmt: str = "md") -> str:
    first = rows[0]
    title = (f"Measured trade-off: {first['target']} at a fixed {first['budget_kind']} budget "
             f"of {first['budget']} parameters (d = {first['dim']}, α = {first['alpha']})")
    notes = ("Kuhn-hat mixtures built and measured (max error found by search on "
             f"{first['check_points']:,} points); laws scaled to the first row's guaranteed "
             "error (shapes, approximation_vc.md §4).")
    return render_table(rows, MEASURED_TRADEOFF_COLUMNS, fmt, title, notes)

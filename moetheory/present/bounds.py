"""Markdown and JSON renderings of bounds (``moetheory.bounds``) and the approximation tables."""

from __future__ import annotations

import sympy as sp

from moetheory.bounds.architecture import Architecture
from moetheory.bounds.vc import Bound, VCBounds
from moetheory.present.tables import compact, render_table

APPROXIMATION_COLUMNS = [
    ("dim", "d"),
    ("alpha", "α"),
    ("eps", "ε"),
    ("method", "method"),
    ("router", "router"),
    ("cells_per_axis", "K"),
    ("sub", "M or N"),
    ("experts", "experts"),
    ("expert_parameters", "per expert"),
    ("expert_nonzero", "per expert (non-zero)"),
    ("active_parameters", "active"),
    ("total_parameters", "total"),
    ("guaranteed_error", "guaranteed error"),
    ("guarantee", "guarantee"),
    ("provenance", "provenance"),
]

TRADEOFF_COLUMNS = [
    ("cells_per_axis", "K"),
    ("experts", "experts"),
    ("sub", "M"),
    ("expert_parameters", "per expert"),
    ("expert_nonzero", "per expert (non-zero)"),
    ("active_parameters", "active"),
    ("total_parameters", "total"),
    ("guaranteed_error", "guaranteed error"),
    ("law_shallow", "(E·P)^(−α/d) law"),
    ("law_deep", "(E·P²)^(−α/d) law"),
]

APPROXIMATION_NOTES = (
    "Guaranteed sup error of each construction for f α-Hölder with constant λ on [0,1]^d. "
    "`proved`: this package's constructions (grid router; constant or Kuhn-hat experts), "
    "exact inequality. `unverified constants`: Shen–Yang–Zhang 2022 Thm 1.1 constants as "
    "recalled [open]. `shape only`: Yarotsky 2017 with its constant set to 1. Parameter "
    "counts are dense (every stored entry of a realised torch module); the non-zero column is "
    "the construction's structural size. Sources: the JSON/CSV `source` field."
)


def approximation_table(rows: list[dict], fmt: str) -> str:
    return render_table(
        rows, APPROXIMATION_COLUMNS, fmt, "Approximation rates", APPROXIMATION_NOTES
    )


def tradeoff_table(rows: list[dict], fmt: str) -> str:
    first = rows[0]
    title = (
        f"Experts versus expert size at a fixed {first['budget_kind']} budget of "
        f"{first['budget']} parameters (d = {first['dim']}, α = {first['alpha']})"
    )
    notes = (
        "Kuhn-hat mixture, the largest sub-grid M within the budget for each K; the laws "
        "are scaled to the first row (shapes only, approximation_vc.md §4), with P the "
        "expert's non-zero count."
    )
    return render_table(rows, TRADEOFF_COLUMNS, fmt, title, notes)


def bounds_json(arch: Architecture, vc: VCBounds) -> dict:
    return {
        "architecture": arch.to_json(),
        "parameters": arch.counts().to_json(),
        "vc": vc.to_json(),
    }


CERTIFIED_NOTE = (
    "Proved in this package [math] with every constant explicit: upper bounds from growth "
    "functions inverted and certified in interval arithmetic, lower bounds from explicit "
    "shattering constructions. These numbers bound the VC dimension itself and are comparable "
    "with one another."
)

CROSS_CHECK_NOTE = (
    "Closed forms with explicit constants whose statements are recalled, not confirmed [open]; "
    "they check the order of magnitude of the certified values and are not reported as bounds."
)

SHAPES_NOTE = (
    "An asymptotic shape Õ(·) or Ω(·) holds only up to a constant factor the source leaves "
    "unspecified (Õ also hides logarithmic factors). Each number below is the shape at these "
    "sizes with that constant set to 1, so the quantity it describes may be many times larger "
    "or smaller: read how a shape scales with the sizes, never compare its value with a "
    "certified bound."
)


def _bound_line(b: Bound) -> str:
    """One Markdown bullet: the value (or why there is none), provenance, formula, source."""
    if b.value is None:  # nothing computed: the note says why, and there is nothing to cite
        return f"- **{b.name}**: no value ({b.note or 'not computed'})"
    value = (
        compact(b.value)
        if b.constant == "explicit"
        else (f"{compact(b.value)} × an unspecified constant")
    )
    formula = (
        f"; formula ({b.formula_role}): `{sp.sstr(b.formula)}`"
        if b.formula is not None
        else f"; {b.formula_role}"
        if b.formula_role
        else ""
    )
    source = f"; source: {b.source}" if b.source else ""
    note = f"; {b.note}" if b.note else ""
    return f"- **{b.name}**: {value} [{b.provenance}]{formula}{source}{note}"


def _vc_range(vc: VCBounds) -> str:
    """The certified interval of the whole model's VC dimension, in one line."""
    lower, upper = compact(vc.lower.value), vc.upper.value
    if upper is None:
        return f"Whole model: VCdim ≥ {lower} (no upper bound proved, see below)."
    return f"Whole model: {lower} ≤ VCdim ≤ {compact(upper)}."


def bounds_markdown(arch: Architecture, vc: VCBounds) -> str:
    """Parameter counts and VC bounds of ``arch`` in Markdown, in three separate sections:
    certified bounds (exact constants), cross-checks [open], and asymptotic shapes (unknown
    constants, not comparable with the certified values).

    Example::

        >>> from moetheory.bounds.vc import vc_bounds
        >>> arch = Architecture(dim=1, experts=2, hidden=(2,), router="grid")
        >>> text = bounds_markdown(arch, vc_bounds(arch))
        >>> [line for line in text.splitlines() if line.startswith(("###", "Whole"))]
        ... # doctest: +NORMALIZE_WHITESPACE
        ['### VC dimension, certified (exact constants)', 'Whole model: 6 ≤ VCdim ≤ 173.',
         '### Cross-checks (unconfirmed closed forms, not the reported values)',
         '### Asymptotic shapes (unknown constants, not comparable with the numbers above)']
    """
    c = arch.counts()
    hidden = "×".join(map(str, arch.hidden)) or "none (affine)"
    activation = arch.activation + (
        f" ({arch.slopes} slopes)" if arch.activation == "prelu" else ""
    )
    top = f" (top-{arch.top_k})" if arch.top_k > 1 else ""
    lines = [
        f"## Bounds: d = {arch.dim}, E = {arch.experts}, hidden {hidden}, {activation}, "
        f"router {arch.router}{top}",
        "",
        "| parameters | count |",
        "|---|---|",
        f"| total | {c.total} |",
        f"| router | {c.router} |",
        f"| per expert | {c.per_expert} |",
        f"| all experts | {c.experts_total} |",
        f"| router, read per input | {c.router_active} |",
        f"| active per input | {c.active} |",
        "",
        "### VC dimension, certified (exact constants)",
        "",
        CERTIFIED_NOTE,
        "",
        _vc_range(vc),
        "",
    ]
    lines += [_bound_line(b) for b in (vc.upper, vc.lower, vc.expert_upper, vc.expert_lower)]
    if vc.cross_checks:
        lines += [
            "",
            "### Cross-checks (unconfirmed closed forms, not the reported values)",
            "",
            CROSS_CHECK_NOTE,
            "",
        ]
        lines += [_bound_line(b) for b in vc.cross_checks]
    if vc.shapes:
        lines += [
            "",
            "### Asymptotic shapes (unknown constants, not comparable with the numbers above)",
            "",
            SHAPES_NOTE,
            "",
        ]
        lines += [_bound_line(b) for b in vc.shapes]
    return "\n".join(lines) + "\n"

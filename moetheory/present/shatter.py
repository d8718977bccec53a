"""Markdown summary of a shattering run (``moetheory shatter`` without ``--json``).

Takes the plain-data summary the run returns (``moetheory.experiments.shatter.run`` for exact
runs, ``.training`` for training-based ones) and prints what was decided, how, and the bounds
calculator's VC bounds beside it. Exact claims and solver statuses are kept apart.

Example::

    >>> print(shatter_markdown({"model": "halfspace", "method": "exact", "solver": "lp",
    ...     "dim": 2, "points": 3, "experts": None, "point_set": "moment curve", "seed": 0,
    ...     "shattered": True, "shattered_exact": True, "labelings_checked": 8,
    ...     "labelings_realised": 8, "labelings_unrealised": 0, "labelings_undecided": 0,
    ...     "exact_claims": {"realised": 8, "unrealised": 0}, "solver_status_claims": 0,
    ...     "cover_count": 8, "general_position": True, "vc_upper": 15, "vc_lower": 3,
    ...     "certificates": "c.json", "seconds": 0.01, "notes": []}).splitlines()[0])
    # Shattering: halfspace in ℝ^2, m = 3 (exact)

Reference: experiments.md §1–§2.
"""

from __future__ import annotations

from typing import Any


def _yes(value: Any) -> str:
    return {True: "**yes**", False: "no", None: "undecided"}.get(value, str(value))


def _show(value: Any) -> str:
    return "—" if value is None else str(value)


def shatter_markdown(s: dict[str, Any]) -> str:
    """The Markdown summary of an exact or training-based shattering run."""
    model = s["model"] + (f", E = {s['experts']}" if s.get("experts") else "")
    if s.get("method") == "training":
        model += f", width {s.get('width')}, depth {s.get('depth')}"
    lines = [f"# Shattering: {model} in ℝ^{s['dim']}, m = {s['points']} ({s['method']})", ""]
    rows = [("point set", s.get("point_set"))]
    if s["method"] == "exact":
        rows += [
            (
                "shattered",
                _yes(s["shattered"])
                + ("" if s.get("shattered_exact") else " (rests on solver statuses)"),
            ),
            (
                "labellings checked",
                f"{s['labelings_checked']} (solver: {s.get('solver')}; "
                "half solved, the rest by y → −y)",
            ),
            ("realised", f"{s['labelings_realised']} (exact separators)"),
            (
                "unrealised",
                f"{s['labelings_unrealised']} ({s['exact_claims']['unrealised']} "
                f"with exact Farkas certificates, {s['solver_status_claims']} by "
                "solver status only)",
            ),
            ("undecided", s["labelings_undecided"]),
            ("Cover's count", _show(s.get("cover_count"))),
            ("general position", _yes(s.get("general_position"))),
        ]
    else:
        rows += [
            ("shattered (some searched set of m points)", _yes(s["shattered"])),
            (
                "labellings at m",
                f"{s['labelings_realised']} of {s['labelings_checked']} fitted "
                "with zero training error (best point set)",
            ),
            ("empirical lower bound", _show(s.get("empirical_lower_bound"))),
            ("device", s.get("device")),
        ]
    rows += [
        ("VC upper (calculator)", _show(s.get("vc_upper"))),
        ("VC lower (calculator)", _show(s.get("vc_lower"))),
        ("seconds", s.get("seconds")),
    ]
    if s.get("certificates"):
        rows.append(("certificates", f"`{s['certificates']}` (`moetheory verify` re-checks it)"))
    lines += ["| | |", "|---|---|"] + [f"| {k} | {v} |" for k, v in rows]
    search = s.get("search")
    if search:
        lines += [
            "",
            "| point set | m | realised | labellings | shattered |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {r['point_set']} | {r['m']} | {r['realised']} | {r['labelings']} | "
            f"{_yes(r['shattered'])} |"
            for r in search
        ]
    for note in s.get("notes") or []:
        lines += ["", f"Note: {note}"]
    return "\n".join(lines) + "\n"

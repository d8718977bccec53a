"""Markdown renderings of verdicts and verdict tables."""

from __future__ import annotations

from moetheory.identify.verdict import COUNTS, Verdict


def verdict_markdown(v: Verdict) -> str:
    """A verdict as a Markdown section: verdicts, relations, certificate summary."""
    lines = [f"### {v.gate} × {v.expert}", "", f"u = `{v.u}`", "",
             "| definition | verdict | counts classes | broken by |", "|---|---|---|---|"]
    for key, value in v.verdicts.items():
        broken = ", ".join(f"R{i + 1}" for i in v.breaks.get(key, [])) or "—"
        lines.append(f"| {key} | **{value}** | {', '.join(COUNTS[key])} | {broken} |")
    lines += ["", "| # | relation (= 0) | class | verified |", "|---|---|---|---|"]
    for i, r in enumerate(v.relations):
        lines.append(f"| R{i + 1} | `{r.expression}` | {r.cls} | {r.verified} |")
    cert = v.certificate
    lines += ["", f"Certificate: {cert.get('status')}; rank {cert.get('rank')} of "
              f"{len(cert.get('terms', []))} terms; seed {v.seed}; {v.seconds:.2f} s."]
    lines += [f"Note: {n}" for n in v.notes]
    return "\n".join(lines) + "\n"


def verdict_table(verdicts: list[Verdict]) -> str:
    """One row per pair: verdicts and the classes of relations found."""
    head = ["gate", "expert", "strong", "strong (literal)", "weak", "interaction-free",
            "relation classes"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for v in verdicts:
        classes: dict[str, int] = {}
        for r in v.relations:
            classes[r.cls] = classes.get(r.cls, 0) + 1
        summary = ", ".join(f"{k} ×{n}" for k, n in sorted(classes.items())) or "none"
        lines.append(f"| {v.gate} | {v.expert} | {v.verdicts['strong']} | "
                     f"{v.verdicts['strong_literal']} | {v.verdicts['weak']} | "
                     f"{v.verdicts['interaction_free']} | {summary} |")
    return "\n".join(lines) + "\n"

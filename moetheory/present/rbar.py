"""Markdown summary of an r̄ record (:meth:`moetheory.rbar.RbarResult.to_json`): the value,
the system, what each certificate proves and how, and how to get and re-check the full record.

A pure function of the record's computed data: it solves and verifies nothing itself. The full
record (every polynomial, identity and rational of the certificates) is what ``moetheory rbar
--json`` prints and ``moetheory verify`` re-checks.

Example::

    >>> from moetheory.rbar import solve_rbar
    >>> text = rbar_markdown(solve_rbar("r1", 2).to_json())
    >>> print("\\n".join(line for line in text.splitlines() if line.startswith("#")))
    ## r̄ r1(M = 2) = 4
    ### Lower bound: r̄ > 3, exhibited real solutions
    ### Upper bound: r̄ ≤ 4, proof at order 4 (template r1-line)
    ### Full certificate and independent re-check
"""

from __future__ import annotations

import sympy as sp

SYSTEMS = {  # kind → (name, equations, unknowns, the family entering through its square)
    "r1": (
        "over-fitted Gaussian mixtures (Ho & Nguyen 2016, Ann. Statist.)",
        "for ℓ = 1..r the t^ℓ coefficient of Σ_i s3_i²·exp(s1_i·t + s2_i·t²) is 0",
        "s3",
    ),
    "r2": (
        "softmax-gated Gaussian mixtures (2305.03288 Lemma 1; 2505.10860 App. B)",
        "for 1 ≤ |ℓ1| + ℓ2 ≤ r the x^ℓ1·y^ℓ2 coefficient of "
        "Σ_i t5_i²·exp(t1_i·x + (t2_i·x)·y + t3_i·y + t4_i·y²) is 0",
        "t5",
    ),
}
NONTRIVIAL = {
    "s1": "every s3_i ≠ 0 and some s1_i ≠ 0",
    "t4": "every t5_i ≠ 0 and some t4_i ≠ 0 (as printed in 2305.03288)",
    "t3": "every t5_i ≠ 0 and some t3_i ≠ 0",
}
RECHECK = (
    "The verifier rebuilds each system from its definition, recomputes every residual "
    "and identity by exact polynomial expansion over ℚ and recounts every sign fact with "
    "Sturm sequences; the claimed value must then follow from the certificates it "
    "accepts."
)


def rbar_markdown(record: dict) -> str:
    """A readable summary of an r̄ record (module docstring): a few lines per certificate,
    never the certificate itself."""
    kind, m, d = record["kind"], record["m"], record.get("d", 1)
    certs = {int(r): c for r, c in record["certificate"].items()}
    witnesses = {r: c for r, c in certs.items() if c.get("type") == "witness"}
    proofs = {r: c for r, c in certs.items() if c.get("type") == "proof"}
    name, equations, _ = SYSTEMS[kind]
    system = (
        f"System {kind}, {name}, M = {_count(m, 'component')}"
        + (f", d = {d}" if d != 1 else "")
        + f": {equations}. Non-trivial: {NONTRIVIAL[record['nontrivial']]}. r̄ is the "
        "smallest order r at which the system has no non-trivial real solution."
    )
    remarks = [
        f"Numerical evidence at order {order} (floats, not a certificate): best relative "
        f"residual {found['best_residual']:.3g} after "
        f"{_count(found['restarts'], 'restart')} (seed {found['seed']})."
        for order, found in sorted(record.get("evidence", {}).items())
    ]
    remarks += [f"Note: {note}" for note in record.get("notes", [])]
    sections = [
        _heading(record),
        _status(record, len(witnesses), len(proofs)),
        system,
        *_lower_lines(record, witnesses),
        *_upper_lines(proofs),
        "\n".join(remarks),
        "### Full certificate and independent re-check",
        *_commands(record),
        RECHECK,
        f"Solved in {record['seconds']:g} s.",
    ]
    return "\n\n".join(section for section in sections if section) + "\n"


def _count(n: int, noun: str, plural: str | None = None) -> str:
    """``n noun`` with the plural form when n ≠ 1: _count(3, "proof") == "3 proofs"."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def _heading(record: dict) -> str:
    label = f"r̄ {record['kind']}(M = {record['m']})"
    if record["value"] is not None:
        return f"## {label} = {record['value']}"
    if record["status"] == "bound":
        return f"## {label} not determined: r̄ ≥ {record['lower_bound']}"
    return f"## {label} unknown: no certificate"


def _status(record: dict, witnesses: int, proofs: int) -> str:
    counted = (
        f"{_count(witnesses, 'witness', 'witnesses')} and {_count(proofs, 'proof')}, "
        "each verified exactly before it was counted"
    )
    lower, upper = record["lower_bound"], record["upper_bound"]
    if record["value"] is not None:
        return f"Status exact: the bounds r̄ ≥ {lower} and r̄ ≤ {upper} meet ({counted})."
    if record["status"] == "bound":
        return f"Status bound: r̄ ≥ {lower} is certified ({counted}); no upper bound is proved."
    return "Status unknown: no certificate was found (see the notes)."


def _lower_lines(record: dict, witnesses: dict[int, dict]) -> list[str]:
    """The lower-bound section: its heading, then one bullet per distinct witness point."""
    if not witnesses:
        return [f"Lower bound: r̄ ≥ {record['lower_bound']} by definition (orders start at 1)."]
    groups: dict[str, list[int]] = {}
    for r, cert in sorted(witnesses.items()):
        groups.setdefault(_point(cert, record["kind"]), []).append(r)
    bullets = [
        f"- {_orders(orders)}, construction {witnesses[orders[0]]['construction']}: {point}"
        for point, orders in groups.items()
    ]
    bullets.append(
        "- every residual is computed exactly (in ℚ) and is 0; non-triviality is checked"
    )
    return [f"### Lower bound: r̄ > {max(witnesses)}, exhibited real solutions", "\n".join(bullets)]


def _orders(orders: list[int]) -> str:
    if len(orders) == 1:
        return f"order {orders[0]}"
    if orders == list(range(orders[0], orders[-1] + 1)):
        return f"orders {orders[0]}–{orders[-1]} (the same point)"
    return f"orders {', '.join(map(str, orders))} (the same point)"


def _point(cert: dict, kind: str) -> str:
    """A witness point, family by family: rationals, or maps of the roots of a polynomial."""
    if cert.get("format") == "rational":
        families: dict[str, list[tuple[tuple[int, ...], str]]] = {}
        for name, value in cert["display"].items():
            family, *index = name.split("_")
            families.setdefault(family, []).append((tuple(map(int, index)), value))
        return "exact rationals: " + ", ".join(
            f"{family} = {_tuple(values)}" for family, values in sorted(families.items())
        )
    squared = SYSTEMS[kind][2]
    x, root = sp.Symbol("x"), sp.Symbol("x_i")
    maps = []
    for family, parts in sorted(cert["maps"].items()):
        for k, part in enumerate(parts, 1):
            label = f"{family}_i" + (f"_{k}" if len(parts) > 1 else "")
            label += "²" if family == squared else ""
            value = _upoly(part["num"], root) / _upoly(part["den"], root)
            maps.append(f"{label} = {sp.sstr(value)}")
    return (
        f"component i at the i-th of the {len(cert['roots'])} real roots x_i of "
        f"P(x) = {sp.sstr(_upoly(cert['poly'], x))} (exact root isolation): " + ", ".join(maps)
    )


def _tuple(values: list[tuple[tuple[int, ...], str]]) -> str:
    """(v1, v2, …) by component; nested per component when a family is vector-valued."""
    values = sorted(values)
    if all(len(index) == 1 for index, _ in values):
        return f"({', '.join(v for _, v in values)})"
    components: dict[int, list[str]] = {}
    for index, v in values:
        components.setdefault(index[0], []).append(v)
    return "(" + ", ".join("(" + ", ".join(vs) + ")" for vs in components.values()) + ")"


def _upoly(coefficients: list[str], x: sp.Symbol) -> sp.Expr:
    """The polynomial of a certificate's coefficient list (constant term first)."""
    return sum((sp.Rational(c) * x**k for k, c in enumerate(coefficients)), sp.Integer(0))


def _upper_lines(proofs: dict[int, dict]) -> list[str]:
    """The upper-bound section: its heading, then the proof's steps."""
    if not proofs:
        return ["### Upper bound: not proved", "No proof certificate: the notes below say why."]
    order = min(proofs)
    cert = proofs[order]
    return [
        f"### Upper bound: r̄ ≤ {order}, proof at order {order} (template {cert['template']})",
        "\n".join(_proof_lines(cert)),
    ]


def _proof_lines(cert: dict, indent: str = "") -> list[str]:
    """What a proof certificate argues, one bullet per step (rbar_proof's docstring)."""
    template = cert["template"]
    if template == "r1-single":
        return [
            f"{indent}- M = 1: the order-1 equation s3_1²·s1_1 = 0 forces s1_1 = 0 "
            "(s3_1 ≠ 0): every real solution is trivial"
        ]
    if template == "r2-restriction":
        r1 = cert["r1_proof"]
        lines = [
            f"{indent}- the ℓ1 = 0 equations of r2 are the r1 system in (t3, t4, t5) "
            f"(checked as an identity), so the r1 proof at order {r1['order']} (template "
            f"{r1['template']}) forces every t3_i = 0:",
            *_proof_lines(r1, indent + "  "),
        ]
        step = cert.get("t4_step")
        if step is None:
            lines.append(f"{indent}- t3 = 0 is trivial for the t3 variant (some t3_i ≠ 0 required)")
        else:
            coefficient = "" if step["coefficient"] == "1" else f"{step['coefficient']}·"
            power = "" if step["power"] == 1 else f"^{step['power']}"
            lines.append(
                f"{indent}- then equation {step['equation']} at t3 = 0 reads "
                f"{coefficient}Σ_i t5_i²·t4_i{power} = 0, so every t4_i = 0: trivial"
            )
        return lines
    line = cert["line"]
    lines = [
        f"{indent}- moment form: the equations are Gaussian moments m_ℓ(a, u) with "
        f"a = s1_i, u = s1_i² + 2·s2_i, weights s3_i² > 0 (ℓ = 1..{cert['order_used']}, "
        "checked against the system); equal points merge, so a solution is a positive "
        f"measure on at most {cert['m']} points with vanishing moments",
        f"{indent}- points on a line through the origin: (μ2μ4 − μ3²) + "
        f"{line['kappa']}·p1²·μ2² = c3·R3 + c4·R4 with R3 = {line['R3']['str']}, "
        f"R4 = {line['R4']['str']}, c3 = {line['c3']['str']}, c4 = {line['c4']['str']}; "
        "so μ2μ4 − μ3² ≤ 0, against Hankel positivity",
    ]
    if "parabola" in cert:
        parabola = cert["parabola"]
        rows = sum(s["handler"] == "row" for s in parabola["specials"])
        radii = sorted({chart["rho"] for chart in parabola["charts"]})
        lines.append(
            f"{indent}- three points on a parabola u = p0 + p1·a + p2·a²: the moments "
            f"solved through {len(parabola['pivots'])} pivots in p2; det H3 > 0 with "
            f"det H4 = 0 refuted on {len(parabola['charts'])} sign charts "
            f"(|p2| > {', '.join(radii)}) and at the {len(parabola['specials'])} real "
            f"roots of the pivots ({rows} by their row, "
            f"{len(parabola['specials']) - rows} by the region argument)"
        )
    if "two_lines" in cert:
        two = cert["two_lines"]
        lines.append(
            f"{indent}- two points sharing a: Ê3 = g·f with f = {two['f']['str']}, "
            f"g = {two['g']['str']}, and Ê5 − {two['lambda']}·Ê4 = q·f + h with "
            f"h = {two['h']['str']} > 0 for Ω > 0"
        )
    return lines


def _commands(record: dict) -> list[str]:
    """The commands that print the full record and re-check it."""
    kind, m = record["kind"], record["m"]
    file = f"rbar-{kind}-m{m}.json"
    variant = " --nontrivial t3" if record["nontrivial"] == "t3" else ""
    if record.get("d", 1) != 1:
        get = (
            f'    python -c "import json; from moetheory.rbar import solve_rbar; '
            f"print(json.dumps(solve_rbar('{kind}', {m}, d={record['d']}, "
            f"nontrivial='{record['nontrivial']}').to_json()))\" > {file}"
        )
    else:
        get = f"    moetheory rbar --system {kind} --m {m}{variant} --json > {file}"
    return [
        "The full record (schema moetheory.rbar/1: every polynomial, identity and rational "
        "of the certificates) and its re-check, trusting nothing the solver did:",
        f"{get}\n    moetheory verify {file}",
    ]

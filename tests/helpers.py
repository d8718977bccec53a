"""Test helpers: build expected relations and look them up in a verdict; run the CLI."""

from __future__ import annotations

import sympy as sp

U = sp.Symbol("u")


def D(*names: str) -> sp.Expr:
    """∂^α u as the verdict writes it (unevaluated Derivative of the symbol u)."""
    if not names:
        return U
    return sp.Derivative(U, *(sp.Symbol(n, real=True) for n in names), evaluate=False)


def S(name: str) -> sp.Symbol:
    return sp.Symbol(name, real=True)


def _plain(expr: sp.Expr) -> sp.Expr:
    """Derivatives of the placeholder u replaced by plain symbols (so nothing evaluates them)."""
    return expr.xreplace({d: sp.Symbol(sp.sstr(d)) for d in expr.atoms(sp.Derivative)})


def find(verdict, expected: sp.Expr):
    """The relation of ``verdict`` equal to ``expected`` up to a non-zero factor c(θ), or None."""
    want = _plain(expected)
    placeholders = want.free_symbols - {S(p) for p in verdict.params + verdict.masses}
    for rel in verdict.relations:
        ratio = sp.simplify(_plain(rel.expression) / want)
        if ratio != 0 and not ratio.free_symbols & (
            placeholders
            | _plain(rel.expression).free_symbols - {S(p) for p in verdict.params + verdict.masses}
        ):
            return rel
    return None


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``moetheory argv`` (argparse's own exit 2 included)."""
    from moetheory.cli import main

    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse rejects a malformed value (exit 2)
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def default_sigint() -> None:
    """Popen ``preexec_fn``: the child starts with SIGINT at its default, as in a terminal (a
    harness that runs the tests in the background starts everything with SIGINT ignored)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)

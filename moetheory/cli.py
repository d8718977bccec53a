"""Command line: parse arguments, call the library, print through ``moetheory.present``.

Exit codes: 0 success, 1 a verification failed, 2 bad input (one line on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from moetheory.errors import MoetheoryError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one clear line, exit 2
        print(f"moetheory: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def _names(text: str | None) -> list[str]:
    from moetheory.symbolic.parser import parse_names

    return parse_names(text) if text else []


def cmd_identify(args: argparse.Namespace) -> int:
    from moetheory.identify.api import formula_model, identify
    from moetheory.present.jsonio import dumps
    from moetheory.present.markdown import verdict_markdown

    if (args.gate is None) == (args.gate_formula is None):
        raise MoetheoryError("give exactly one of --gate and --gate-formula")
    if (args.expert is None) == (args.expert_formula is None):
        raise MoetheoryError("give exactly one of --expert and --expert-formula")
    if args.dim < 1:
        raise MoetheoryError(f"--dim must be a positive integer, got {args.dim}")
    if args.gate_formula is not None or args.expert_formula is not None:
        if args.gate_formula is None or args.expert_formula is None:
            raise MoetheoryError("formulas are given for both the gate and the expert")
        inputs = _names(args.inputs) or [f"x{i + 1}" for i in range(args.dim)]
        model = formula_model(args.gate_formula, _names(args.gate_params or args.params),
                              args.expert_formula, _names(args.expert_params), inputs,
                              args.gaussian_output, args.variance_param, _names(args.positive))
        verdict = identify(model=model, order=args.order, seed=args.seed, seconds=args.seconds,
                           gate_label=args.gate_formula, expert_label=args.expert_formula)
    else:
        verdict = identify(args.gate, args.expert, dim=args.dim, order=args.order,
                           seed=args.seed, seconds=args.seconds)
    print(dumps(verdict.to_json()) if args.json else verdict_markdown(verdict))
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from moetheory.identify.verify import verify_json

    try:
        data = json.loads(Path(args.file).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise MoetheoryError(f"cannot read {args.file}: {exc}") from None
    report = verify_json(data)
    for claim in report.passed:
        print(f"PASS {claim}")
    for claim in report.failed:
        print(f"FAIL {claim}")
    return 0 if report.ok else 1


def cmd_families(args: argparse.Namespace) -> int:
    from moetheory.families import EXPERTS, ROUTERS

    print("routers:")
    for f in ROUTERS.values():
        print(f"  {f.name:32s} {f.formula:42s} [{f.normalisation}] {f.reference}")
    print("experts:")
    for f in EXPERTS.values():
        print(f"  {f.name:32s} {f.formula:42s} [{f.kind}] {f.reference}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from moetheory.report import write_report

    path = write_report(Path(args.out), dim=args.dim, seed=args.seed, full=args.full)
    print(f"report written to {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="moetheory", description="Statistical theory of Mixture-of-Experts.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    i = sub.add_parser("identify", help="relations, verdicts and certificate for a pair")
    i.add_argument("--gate")
    i.add_argument("--gate-formula")
    i.add_argument("--expert")
    i.add_argument("--expert-formula")
    i.add_argument("--gate-params", help="comma-separated gate parameter names")
    i.add_argument("--params", help="alias of --gate-params")
    i.add_argument("--expert-params", help="comma-separated expert parameter names")
    i.add_argument("--inputs", help="comma-separated input names (default x1..xD)")
    i.add_argument("--gaussian-output", help="response name y: the expert is N(y | formula, v)")
    i.add_argument("--variance-param", help="variance parameter name of the Gaussian expert")
    i.add_argument("--positive", help="parameters sampled positive (e.g. a temperature)")
    i.add_argument("--dim", type=int, default=2)
    i.add_argument("--order", type=int, default=2)
    i.add_argument("--seed", type=int, default=0)
    i.add_argument("--seconds", type=float, default=120.0, help="per-pair time limit")
    i.add_argument("--json", action="store_true")
    i.set_defaults(func=cmd_identify)

    v = sub.add_parser("verify", help="re-check a saved verdict JSON")
    v.add_argument("file")
    v.set_defaults(func=cmd_verify)

    f = sub.add_parser("families", help="list built-in routers and experts")
    f.set_defaults(func=cmd_families)

    r = sub.add_parser("report", help="run the main job and write a report directory")
    r.add_argument("--out", default="moetheory-report")
    r.add_argument("--dim", type=int, default=2)
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--full", action="store_true", help="every built-in pair (slower)")
    r.set_defaults(func=cmd_report)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except MoetheoryError as exc:
        print(f"moetheory: error: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}",
              file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())

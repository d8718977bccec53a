"""Run the checks: ``python -m proofs_check`` (all) or ``python -m proofs_check relations P1``."""

from __future__ import annotations

import sys

from proofs_check import bounds, construct, momentum, rates, rbar, relations, softmoe

GROUPS = {
    "relations": relations.CHECKS,
    "rbar": rbar.CHECKS,
    "rates": rates.CHECKS,
    "bounds": bounds.CHECKS,
    "construct": construct.CHECKS,
    "momentum": momentum.CHECKS,
    "softmoe": softmoe.CHECKS,
}


def main(argv: list[str]) -> int:
    wanted = set(argv)
    failures = 0
    ran = 0
    for group, checks in GROUPS.items():
        for check in checks:
            if wanted and group not in wanted and check.name not in wanted:
                continue
            ran += 1
            try:
                ok = bool(check.run())
            except Exception as exc:  # a crash is a failure, reported with its cause
                ok = False
                print(f"  error: {type(exc).__name__}: {exc}")
            failures += not ok
            print(
                f"{'PASS' if ok else 'FAIL'} [{group}] {check.name}: {check.claim} "
                f"(source: {check.source})"
            )
    if ran == 0:
        print(f"no check matches {' '.join(sorted(wanted))}", file=sys.stderr)
        return 2
    print(f"{ran - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

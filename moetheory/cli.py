"""Command line: parse arguments, call the library, print through ``moetheory.present``.

Exit codes: 0 success, 1 a verification failed, 2 bad input (one line on stderr), 130
interrupted by Ctrl-C (one line on stderr).
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import NoReturn

from moetheory.bounds.routers.registry import kind_names
from moetheory.errors import MoetheoryError
from moetheory.limits import (
    MAX_DEPTH,
    MAX_DIM,
    MAX_ORDER,
    MAX_RBAR_M,
    MAX_SEED,
    MAX_SIZE,
    MAX_WORKERS,
    LimitError,
    check_int,
    check_seconds,
    deadline,
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one clear line, exit 2
        print(f"moetheory: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def _ranged(low: int, high: int):
    """argparse type: an integer in [low, high] (``check_int``; one clear line otherwise)."""

    def integer(text: str) -> int:
        try:
            return check_int(int(text), "the value", low, high)
        except ValueError:  # not an integer, or more digits than int() reads
            raise argparse.ArgumentTypeError(
                f"expected an integer from {low} to {high}, got {text[:40]!r}"
            ) from None
        except LimitError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return integer


def _seconds(zero_ok: bool = False):
    """argparse type: a finite number of seconds up to MAX_SECONDS (0 allowed: no limit)."""

    def seconds(text: str) -> float:
        try:
            return check_seconds(text, "seconds", zero_ok=zero_ok)
        except LimitError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return seconds


def _command_limit(args: argparse.Namespace) -> float | None:
    """The wall-clock limit of the whole command (parsing, building, analysis and output).

    identify and rbar give their own analysis ``--seconds`` a graceful end (an unknown verdict,
    the bound reached so far); the command itself stops at 1.5 × that + 5 s. Every other
    command's ``--seconds`` is the limit of the whole command.
    """
    seconds = getattr(args, "seconds", None)
    if not seconds:
        return None
    return 1.5 * seconds + 5 if args.command in ("identify", "rbar") else seconds


def _names(text: str | None) -> list[str]:
    from moetheory.symbolic.parser import parse_names

    return parse_names(text) if text else []


def _families(text: str | None, kind: str) -> list[str] | None:
    """Comma-separated built-in names, each checked (unknown name: a clear error)."""
    from moetheory.families import get_expert, get_router

    if text is None:
        return None
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise MoetheoryError(f"no {kind} named in {text!r}")
    for n in names:
        (get_router if kind == "router" else get_expert)(n)
    return names


def _out_dir(text: str) -> Path:
    """The output directory, checked writable now (before any computation) but not created:
    outputs are moved into place only when complete (``moetheory.files``)."""
    from moetheory.files import check_writable_directory

    if not text.strip():
        raise MoetheoryError("--out names no directory")
    out = Path(text)
    try:
        check_writable_directory(out)
    except OSError as exc:
        raise MoetheoryError(f"cannot create output directory {text}: {exc}") from None
    return out


def cmd_identify(args: argparse.Namespace) -> int:
    from moetheory.identify.api import identify
    from moetheory.present.formats import formats_for, render

    if (args.gate is None) == (args.gate_formula is None):
        raise MoetheoryError("give exactly one of --gate and --gate-formula")
    if (args.expert is None) == (args.expert_formula is None):
        raise MoetheoryError("give exactly one of --expert and --expert-formula")
    if args.normalisation is not None and (args.gate is not None or not args.rates):
        raise MoetheoryError(
            "--normalisation declares a formula gate's normalisation for "
            "--rates; a built-in gate has its own"
        )
    _check_formula_options(args)
    fmt = "json" if args.json else args.format
    if args.rates and fmt != "json" and fmt not in formats_for("prediction"):
        raise MoetheoryError(
            f"--rates prints with --format {' or '.join((*formats_for('prediction'), 'json'))}"
        )
    model = None
    if args.gate_formula is not None or args.expert_formula is not None:
        model = _formula_pair(args)
        verdict = identify(
            model=model,
            order=args.order,
            seed=args.seed,
            seconds=args.seconds,
            gate_label=args.gate or args.gate_formula,
            expert_label=args.expert or args.expert_formula,
        )
    else:
        verdict = identify(
            args.gate,
            args.expert,
            dim=args.dim,
            order=args.order,
            seed=args.seed,
            seconds=args.seconds,
        )
    prediction = _prediction(args, verdict, model) if args.rates else None
    if fmt == "json":
        print(render("verdict", "json", verdict, prediction))
    else:
        print(render("verdict", fmt, verdict))
        if prediction is not None:
            print(render("prediction", fmt, prediction))
    return 0


def _check_formula_options(args: argparse.Namespace) -> None:
    """Refuse an option describing a formula side given with a built-in side (it would be
    ignored), and --params given together with its alias --gate-params."""
    if args.gate_params is not None and args.params is not None:
        raise MoetheoryError("--params is an alias of --gate-params: give one of them")
    sides = (
        ("gate", args.gate, ("gate_params", "params")),
        ("expert", args.expert, ("expert_params", "gaussian_output", "variance_param")),
        (
            "pair",
            f"{args.gate} × {args.expert}"
            if args.gate_formula is None and args.expert_formula is None
            else None,
            ("inputs", "positive"),
        ),
    )
    for side, builtin, options in sides:
        given = [o for o in options if getattr(args, o) is not None]
        if builtin is not None and given:
            raise MoetheoryError(
                f"--{given[0].replace('_', '-')} describes a formula {side}; "
                f"the {side} here is built-in ({builtin})"
            )


def _formula_pair(args: argparse.Namespace):
    """The model of a pair with at least one formula side; a built-in side is rewritten as a
    formula over x1..xD, so both sides go through the same parser and checks."""
    from moetheory.families import get_expert, get_router
    from moetheory.identify.api import family_as_formula, formula_model

    inputs = _names(args.inputs) or [f"x{i + 1}" for i in range(args.dim)]
    gate = {
        "formula": args.gate_formula,
        "params": _names(args.gate_params or args.params),
        "positive": [],
    }
    expert = {
        "formula": args.expert_formula,
        "params": _names(args.expert_params),
        "positive": [],
        "gaussian_output": args.gaussian_output,
        "variance_param": args.variance_param,
    }
    for side, name, getter in (
        ("gate", args.gate, get_router),
        ("expert", args.expert, get_expert),
    ):
        if name is None:
            continue
        built = family_as_formula(getter(name), len(inputs))
        if built["inputs"] != inputs:
            raise MoetheoryError(
                f"built-in {side} {name!r} uses inputs "
                f"{','.join(built['inputs'])}; name the formula's inputs so "
                "(--inputs)"
            )
        (gate if side == "gate" else expert).update(built)
    return formula_model(
        gate["formula"],
        gate["params"],
        expert["formula"],
        expert["params"],
        inputs,
        expert["gaussian_output"],
        expert["variance_param"],
        _names(args.positive) + gate["positive"] + expert["positive"],
    )


def _prediction(args: argparse.Namespace, verdict, model):
    from moetheory.rates.facts import model_facts, pair_facts
    from moetheory.rates.predict import predict
    from moetheory.rbar import rbar_value

    if model is None:
        facts = pair_facts(verdict, args.dim)
    else:
        normalisation, score = args.normalisation, None
        if args.gate is not None:
            from moetheory.families import get_router

            normalisation, score = get_router(args.gate).normalisation, get_router(args.gate).score
        facts = model_facts(verdict, model, normalisation=normalisation, score=score)
    return predict(facts, rbar=rbar_value)


def cmd_atlas(args: argparse.Namespace) -> int:
    from functools import partial

    from moetheory.present.formats import FORMATS, render
    from moetheory.present.progress import progress
    from moetheory.rates.atlas import atlas_rows
    from moetheory.rbar import rbar_value

    out = _out_dir(args.out) if args.out is not None else None
    fmt = FORMATS[args.format]
    extra = {}  # read before any work: a bad path exits 2 at once
    if args.measured:
        from moetheory.experiments.simulate.records import load_summaries, measured_by_pair

        if fmt.binary:
            raise MoetheoryError(f"--measured adds a column to text formats, not {fmt.name}")
        paths = [Path(p.strip()) for p in args.measured.split(",") if p.strip()]
        extra["measured"] = measured_by_pair(load_summaries(paths))
    rows = atlas_rows(
        _families(args.gates, "router"),
        _families(args.experts, "expert"),
        dim=args.dim,
        seed=args.seed,
        workers=args.workers,
        rbar=rbar_value,
        progress=partial(progress, desc="identify"),
    )
    output = render("atlas", fmt.name, rows, **extra)
    if out is None:
        if fmt.binary:
            sys.stdout.buffer.write(output)
        else:
            sys.stdout.write(output)
        return 0
    from moetheory.files import atomic_file

    path = out / f"atlas.{fmt.extension}"
    try:
        out.mkdir(parents=True, exist_ok=True)
        with atomic_file(path) as handle:
            handle.write(output if fmt.binary else output.encode("utf-8"))
    except OSError as exc:
        raise MoetheoryError(f"cannot write {path}: {exc}") from None
    print(f"atlas written to {path}")
    return 0


def cmd_rbar(args: argparse.Namespace) -> int:
    from moetheory.present.jsonio import dumps
    from moetheory.present.rbar import rbar_markdown
    from moetheory.rbar import solve_rbar

    result = solve_rbar(args.system, args.m, seconds=args.seconds, nontrivial=args.nontrivial)
    data = result.to_json()
    sys.stdout.write(dumps(data) + "\n" if args.json else rbar_markdown(data))
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from moetheory.certificates import verify_document
    from moetheory.schema import read_json

    report = verify_document(read_json(args.file))
    for claim in report.passed:
        print(f"PASS {claim}")
    for claim in report.failed:
        print(f"FAIL {claim}")
    return 0 if report.ok else 1


def cmd_families(args: argparse.Namespace) -> int:
    from moetheory.families import EXPERTS, ROUTERS

    print("routers:")
    for router in ROUTERS.values():
        print(
            f"  {router.name:32s} {router.formula:42s} [{router.normalisation}; score "
            f"{router.score}] {router.reference}"
        )
    print("experts:")
    for expert in EXPERTS.values():
        print(f"  {expert.name:32s} {expert.formula:42s} [{expert.kind}] {expert.reference}")
    return 0


def _list(text: str, name: str, integer: bool = False) -> list:
    """Comma-separated values; integers checked here, numbers by the library (clear errors)."""
    from moetheory.bounds.architecture import check_count

    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise MoetheoryError(f"--{name} names no value in {text!r}")
    if not integer:
        return items
    out = []
    for t in items:
        try:
            value = int(t)
        except ValueError:
            raise MoetheoryError(f"--{name} must be integers, got {t!r}") from None
        out.append(check_count(name, value))
    return out


def cmd_bounds(args: argparse.Namespace) -> int:
    from moetheory.bounds.architecture import Architecture, check_count
    from moetheory.bounds.vc import vc_bounds
    from moetheory.present.bounds import bounds_json, bounds_markdown
    from moetheory.present.jsonio import dumps

    depth = check_count("depth", args.depth)
    width = check_count("width", args.width)
    arch = Architecture(
        dim=args.dim,
        experts=args.experts,
        hidden=(width,) * depth,
        activation=args.activation,
        router=args.router,
        slopes=args.slopes,
        top_k=args.top_k,
        output_dim=args.output_dim,
        grid=tuple(_list(args.grid, "grid", integer=True)) if args.grid else None,
    )
    vc = vc_bounds(arch)
    sys.stdout.write(
        dumps(bounds_json(arch, vc)) + "\n" if args.json else bounds_markdown(arch, vc)
    )
    return 0


_TABLE_OPTIONS = {  # option → (the one table it applies to, its default there)
    "eps": ("approximation", "1e-1,1e-2,1e-3"),
    "tradeoff": ("approximation", "1"),
    "budget": ("tradeoff", "1e6"),
    "budget_kind": ("tradeoff", "total"),
}


def _table_options(args: argparse.Namespace) -> dict[str, str]:
    """The table-specific options of ``args.table`` (defaults filled in); an option of the
    other table is refused rather than ignored."""
    out = {}
    for option, (table, default) in _TABLE_OPTIONS.items():
        value = getattr(args, option)
        if table != args.table and value is not None:
            raise MoetheoryError(
                f"--{option.replace('_', '-')} applies to the {table} table, not to {args.table}"
            )
        if table == args.table:
            out[option] = default if value is None else value
    return out


def cmd_tables(args: argparse.Namespace) -> int:
    from moetheory.present.bounds import approximation_table, tradeoff_table

    options = _table_options(args)
    if args.table == "approximation":
        from moetheory.bounds.approximation import approximation_rows

        rows = approximation_rows(
            _list(args.dim, "dim", integer=True),
            _list(args.alpha, "alpha"),
            _list(options["eps"], "eps"),
            holder=args.holder_constant,
            norm=args.norm,
            tradeoff=options["tradeoff"],
            router=args.router,
        )
        text = approximation_table(rows, args.format)
    else:
        from moetheory.bounds.approximation import Target
        from moetheory.bounds.tradeoff import tradeoff_rows

        dims, alphas = _list(args.dim, "dim", integer=True), _list(args.alpha, "alpha")
        if len(dims) != 1 or len(alphas) != 1:
            raise MoetheoryError("the tradeoff table takes one --dim and one --alpha")
        target = Target.of(dims[0], alphas[0], args.holder_constant, args.norm)
        text = tradeoff_table(
            tradeoff_rows(target, options["budget"], options["budget_kind"], args.router),
            args.format,
        )
    sys.stdout.write(text)
    return 0


def cmd_construct(args: argparse.Namespace) -> int:
    from moetheory.construct.check import construct_and_verify
    from moetheory.construct.targets import formula_target
    from moetheory.present.construct import construction_markdown
    from moetheory.present.jsonio import dumps

    if (args.target is None) == (args.target_formula is None):
        raise MoetheoryError("give exactly one of --target and --target-formula")
    target = (
        args.target if args.target is not None else formula_target(args.target_formula, args.dim)
    )
    save = _save_path(args.save) if args.save else None
    v = construct_and_verify(
        target,
        args.alpha,
        args.holder_constant,
        args.dim,
        args.eps,
        args.router,
        args.expert,
        args.norm,
        args.tradeoff,
        _count(args.points, "points"),
        args.starts,
        args.seed,
        _count(args.max_parameters, "max-parameters"),
    )
    data = v.to_json()
    if args.refit:
        from moetheory.construct.refit import refit_output_layer

        data["refit"] = refit_output_layer(
            v.construction, _count(args.refit_points, "refit-points"), seed=args.seed
        ).to_json()
    if save is not None:
        from moetheory.construct.saved import save_module

        data["saved"] = str(save_module(v.construction.module(), save))
    sys.stdout.write(dumps(data) + "\n" if args.json else construction_markdown(data))
    return 0 if v.within_eps else 1


def _save_path(text: str) -> Path:
    """A file path whose directory exists and is writable, checked before any computation."""
    import os

    path = Path(text)
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir() or not parent.is_dir() or not os.access(parent, os.W_OK):
        raise MoetheoryError(f"cannot write {text}: not a file in an existing writable directory")
    return path


def _count(text: str, name: str) -> int:
    """A positive whole number from text such as 1000000 or 1e6 (a clear error otherwise)."""
    from moetheory.bounds.approximation import to_fraction
    from moetheory.bounds.architecture import check_count

    value = to_fraction(name, text)
    if value.denominator != 1:
        raise MoetheoryError(f"--{name} must be a whole number, got {text}")
    return check_count(name, int(value))


def cmd_report(args: argparse.Namespace) -> int:
    from moetheory.report import write_report

    try:
        path = write_report(
            _out_dir(args.out),
            dim=args.dim,
            seed=args.seed,
            workers=args.workers,
            gates=_families(args.gates, "router"),
            experts=_families(args.experts, "expert"),
        )
    except OSError as exc:  # e.g. a file appeared in the directory while the report ran
        raise MoetheoryError(f"cannot write the report to {args.out}: {exc}") from None
    print(f"report written to {path}")
    return 0


def cmd_approx_experiment(args: argparse.Namespace) -> int:
    from moetheory.experiments.approx import parse_list, resolve_config, run_experiment

    if args.quick and args.full:
        raise MoetheoryError("give --quick or --full, not both")
    preset = "quick" if args.quick else "full" if args.full else None
    overrides: dict[str, object] = {}
    for name in ("target", "alpha", "budget_kind", "router", "device", "scheduler"):
        if getattr(args, name) is not None:
            overrides[name] = getattr(args, name)
    for name in ("dim", "seed", "seeds", "steps"):
        if getattr(args, name) is not None:
            overrides[name] = getattr(args, name)
    for name in ("budgets", "cells", "depths"):
        if getattr(args, name) is not None:
            overrides[name] = parse_list(getattr(args, name), name)
    config = resolve_config(args.config, preset, overrides)
    out = _out_dir(args.out)
    summary = run_experiment(config, out, resume=args.resume)
    for line in summary["text"]:
        print(f"- {line}")
    print(f"results written to {out} (summary.json, summary.md, results.jsonl, approx.png)")
    return 0


def cmd_shatter(args: argparse.Namespace) -> int:
    from functools import partial

    from moetheory.experiments.shatter.run import check_shatter_options, run_shatter
    from moetheory.present.jsonio import dumps
    from moetheory.present.progress import progress
    from moetheory.present.shatter import shatter_markdown

    options = check_shatter_options(vars(args))  # sizes and files: exit 2 before any work
    out = _out_dir(args.out if args.out is not None else ".")
    summary = run_shatter(options, out, progress=partial(progress, desc="labellings"))
    sys.stdout.write(dumps(summary) + "\n" if args.json else shatter_markdown(summary))
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from moetheory.experiments.simulate.named import load_named, named_configs, random_config

    if args.list:
        from moetheory.experiments.config import load_config

        for name, path in named_configs().items():
            print(f"{name}: {load_config(path).get('description', '')}")
        return 0
    if args.quick and args.full:
        raise MoetheoryError("give --quick or --full, not both")
    profile = "quick" if args.quick else "full" if args.full else "default"
    if args.atlas:
        return _simulate_atlas(args, profile)
    if (args.gate is None) != (args.expert is None):
        raise MoetheoryError("give --gate and --expert together")
    if args.target is not None and args.gate is not None:
        raise MoetheoryError("give a configuration or --gate/--expert, not both")
    if args.target is None and args.gate is None:
        raise MoetheoryError("give a configuration name or file, --gate/--expert, or --list")
    if args.gate is not None:
        data = random_config(args.gate, args.expert, dim=args.dim, seed=args.truth_seed)
        where = f"{args.gate} × {args.expert}"
    elif Path(args.target).is_file():
        from moetheory.experiments.config import load_config

        data = load_config(args.target)
        data.setdefault("name", Path(args.target).stem)
        where = args.target
    else:
        data = load_named(args.target)
        where = args.target
    from moetheory.experiments.simulate.run import prepare, run_simulation

    sim, options = prepare(data, profile, _simulate_overrides(args), where)  # exit 2 first
    out = _out_dir(args.out if args.out is not None else f"simulate-{options['name']}")
    summary = run_simulation(
        sim, options, out, device=args.device, scheduler=args.scheduler, resume=args.resume
    )
    _print_simulation(summary, out)
    return 0


def _simulate_overrides(args: argparse.Namespace) -> dict:
    from moetheory.experiments.approx import parse_list

    overrides: dict[str, object] = {}
    if args.seed is not None:
        overrides["seed"] = args.seed
    if args.sizes is not None:
        overrides["sizes"] = parse_list(args.sizes, "sizes")
    if args.replicates is not None:
        overrides["replicates"] = args.replicates
    return overrides


def _print_simulation(summary: dict, out: Path) -> None:
    def num(v: object) -> str:
        return "—" if v is None else f"{v:.3g}"

    lo, hi = summary["ci"]
    print(
        f"{summary['name']}: {summary['gate']} × {summary['expert']}, k* = {summary['k_true']}, "
        f"k = {summary['k']}, {summary['fits']} fits "
        f"({summary['converged_fraction']:.0%} converged) in {summary['seconds']:.1f} s on "
        f"{summary['device']}"
    )
    print(
        f"slope of log mean {summary['loss']} on log n: {num(summary['slope'])} "
        f"[{num(lo)}, {num(hi)}]; predicted: {summary['predicted_text']}"
    )
    mlo, mhi = summary["median_ci"]
    print(
        f"slope of log median {summary['loss']}: {num(summary['median_slope'])} "
        f"[{num(mlo)}, {num(mhi)}]"
    )
    if summary.get("authors_slope") is not None:
        print(f"authors' slope: {summary['authors_slope']} ({summary['authors_source']})")
    print(f"verdict: {summary['verdict']} ({summary['verdict_reason']})")
    print(f"results written to {out} (results.jsonl, summary.json, summary.md, simulation.png)")


def _simulate_atlas(args: argparse.Namespace, profile: str) -> int:
    from moetheory.experiments.simulate.atlas import run_atlas

    if args.target is not None:
        raise MoetheoryError("--atlas takes no configuration")
    out = _out_dir(args.out if args.out is not None else "simulate-atlas")
    table = run_atlas(
        out,
        gates=_families(args.gate, "router"),
        experts=_families(args.expert, "expert"),
        dim=args.dim,
        profile=profile,
        seed=args.seed or 0,
        truth_seed=args.truth_seed,
        overrides={k: v for k, v in _simulate_overrides(args).items() if k != "seed"},
        device=args.device,
        scheduler=args.scheduler,
        resume=args.resume,
    )
    sys.stdout.write(table)
    return 0


def _study(args: argparse.Namespace, module: str, lists: tuple[str, ...], files: str) -> int:
    """Run an issue-18 study (``moetheory.experiments.<module>``): preset, overrides, run."""
    import importlib

    from moetheory.experiments.approx import parse_list

    study = importlib.import_module(f"moetheory.experiments.{module}")
    if args.quick and args.full:
        raise MoetheoryError("give --quick or --full, not both")
    preset = "quick" if args.quick else "full" if args.full else None
    overrides: dict[str, object] = {}
    for name in ("device", "scheduler", "seed", "seeds", "steps"):
        if getattr(args, name, None) is not None:
            overrides[name] = getattr(args, name)
    for name in lists:
        if getattr(args, name, None) is not None:
            overrides[name] = parse_list(getattr(args, name), name)
    config = study.resolve_config(args.config, preset, overrides)
    out = _out_dir(args.out)
    summary = study.run_experiment(config, out, resume=args.resume)
    for line in summary["text"]:
        print(f"- {line}")
    print(f"results written to {out} (summary.json, summary.md, results.jsonl, {files})")
    return 0


def cmd_softmoe_experiment(args: argparse.Namespace) -> int:
    return _study(args, "softmoe", ("experts",), "softmoe.png")


def cmd_momentum_experiment(args: argparse.Namespace) -> int:
    return _study(args, "momentum", (), "momentum.png")


def build_parser() -> argparse.ArgumentParser:
    from moetheory.present.formats import formats_for

    p = _Parser(prog="moetheory", description="Statistical theory of Mixture-of-Experts.")
    sub = p.add_subparsers(
        dest="command",
        required=True,
        parser_class=_Parser,
        help="the command to run; `moetheory COMMAND --help` describes it",
    )

    i = sub.add_parser(
        "identify",
        help="relations, verdicts and certificate for a pair",
        description="Find the PDE relations between the parameter derivatives of a router × "
        "expert pair (built-in or written as formulas), classify them and decide "
        "strong / weak identifiability with a certificate `moetheory verify` "
        "re-checks. Give one of --gate / --gate-formula and one of --expert / "
        "--expert-formula.",
    )
    i.add_argument("--gate", help="built-in router (gate) name, see `moetheory families`")
    i.add_argument(
        "--gate-formula",
        help="the gate as a formula in the inputs and "
        "--gate-params (the package's whitelist parser)",
    )
    i.add_argument("--expert", help="built-in expert name, see `moetheory families`")
    i.add_argument(
        "--expert-formula",
        help="the expert (its mean with --gaussian-output) as "
        "a formula in the inputs and --expert-params",
    )
    i.add_argument(
        "--gate-params", help="comma-separated gate parameter names (with --gate-formula)"
    )
    i.add_argument("--params", help="alias of --gate-params")
    i.add_argument(
        "--expert-params", help="comma-separated expert parameter names (with --expert-formula)"
    )
    i.add_argument(
        "--inputs", help="comma-separated input names of the formulas (default x1..xD, D = --dim)"
    )
    i.add_argument("--gaussian-output", help="response name y: the expert is N(y | formula, v)")
    i.add_argument("--variance-param", help="variance parameter name of the Gaussian expert")
    i.add_argument(
        "--positive",
        help="comma-separated parameters declared positive (e.g. a "
        "temperature): sampled positive and part of the model",
    )
    i.add_argument(
        "--dim",
        type=_ranged(1, MAX_DIM),
        default=2,
        help=f"input dimension D, 1 to {MAX_DIM}, of a built-in pair and of the "
        "default inputs x1..xD (default %(default)s)",
    )
    i.add_argument(
        "--order",
        type=_ranged(1, MAX_ORDER),
        default=2,
        help=f"highest derivative order r of the Taylor family, 1 to {MAX_ORDER} "
        "(default %(default)s)",
    )
    i.add_argument(
        "--seed",
        type=_ranged(0, MAX_SEED),
        default=0,
        help=f"seed of the generic parameter point and the inputs, 0 to "
        f"{MAX_SEED:,} (default %(default)s)",
    )
    i.add_argument(
        "--seconds",
        type=_seconds(zero_ok=True),
        default=120.0,
        help="analysis time limit in seconds, 0 for none (default %(default)s); "
        "past it every verdict is unknown, and the command stops at 1.5× + 5 s",
    )
    i.add_argument(
        "--format",
        choices=formats_for("verdict"),
        default="md",
        help="output format, one of %(choices)s (default %(default)s)",
    )
    i.add_argument(
        "--json",
        action="store_true",
        help="print the verdict with its certificate as JSON (= --format json)",
    )
    i.add_argument(
        "--rates",
        action="store_true",
        help="also predict estimation rates from the theorem catalogue",
    )
    i.add_argument(
        "--normalisation",
        choices=["softmax", "sigmoid", "top-K", "two-level"],
        help="the normalisation of a formula gate, one of %(choices)s (for --rates; "
        "a built-in gate has its own)",
    )
    i.set_defaults(func=cmd_identify)

    v = sub.add_parser(
        "verify",
        help="re-check a saved verdict, verdict list or r̄ record",
        description="Re-check a saved JSON document without trusting the code that wrote it: "
        "prints PASS or FAIL per claim; exit 0 when every claim passes, 1 "
        "otherwise.",
    )
    v.add_argument(
        "file",
        help="JSON from `identify --json`, a report's identifiability.json, or `rbar --json`",
    )
    v.add_argument(
        "--seconds",
        type=_seconds(),
        default=600.0,
        help="wall-clock limit for reading and checking in seconds (default "
        "%(default)s; exit 2 when reached)",
    )
    v.set_defaults(func=cmd_verify)

    f = sub.add_parser(
        "families",
        help="list built-in routers and experts",
        description="List the built-in routers (formula, normalisation, score "
        "class, reference) and experts (formula, kind, reference) "
        "that --gate, --expert, --gates and --experts accept.",
    )
    f.set_defaults(func=cmd_families)

    a = sub.add_parser(
        "atlas",
        help="identifiability and rates of every built-in pair",
        description="Identify every built-in router × expert pair (or those named) and tabulate "
        "the verdicts with the predicted estimation rates.",
    )
    a.add_argument(
        "--format",
        choices=formats_for("atlas"),
        default="md",
        help="output format, one of %(choices)s (default %(default)s; png and pdf "
        "draw the gate × expert grid)",
    )
    a.add_argument(
        "--dim",
        type=_ranged(1, MAX_DIM),
        default=2,
        help=f"input dimension d, 1 to {MAX_DIM} (default %(default)s)",
    )
    a.add_argument(
        "--seed",
        type=_ranged(0, MAX_SEED),
        default=0,
        help=f"seed, 0 to {MAX_SEED:,} (default %(default)s)",
    )
    a.add_argument(
        "--seconds",
        type=_seconds(),
        default=3600.0,
        help="wall-clock limit of the whole command in seconds (default %(default)s)",
    )
    a.add_argument("--out", help="write atlas.<ext> in this directory instead of printing")
    a.add_argument(
        "--measured",
        help="comma-separated directories of recorded `moetheory simulate` runs (searched for "
        "summary.json): add their measured slopes as a column (text formats)",
    )
    a.add_argument(
        "--workers",
        type=_ranged(1, MAX_WORKERS),
        default=None,
        help=f"worker processes, 1 to {MAX_WORKERS} (default: all cores)",
    )
    a.add_argument(
        "--gates",
        help="comma-separated built-in routers to include (default: all; see `moetheory families`)",
    )
    a.add_argument(
        "--experts",
        help="comma-separated built-in experts to include (default: all; see `moetheory families`)",
    )
    a.set_defaults(func=cmd_atlas)

    b = sub.add_parser(
        "rbar",
        help="r̄(M) of the r1 or r2 polynomial system, certified",
        description="The order r̄(M) of the polynomial system that sets the slow rates of "
        "over-fitted Gaussian (r1) and softmax-gated Gaussian (r2) mixtures, with "
        "exact certificates: exhibited real solutions (lower bound) and a proof "
        "(upper bound). Prints a summary; --json prints the full record, which "
        "`moetheory verify` re-checks.",
    )
    b.add_argument(
        "--system",
        choices=["r1", "r2"],
        required=True,
        help="r1 (over-fitted Gaussian mixture) or r2 (softmax-gated Gaussian mixture)",
    )
    b.add_argument(
        "--m",
        type=_ranged(1, MAX_RBAR_M),
        required=True,
        help=f"number of components M, 1 to {MAX_RBAR_M} (proofs exist for M ≤ 3)",
    )
    b.add_argument(
        "--seconds",
        type=_seconds(),
        default=300.0,
        help="time limit in seconds (default %(default)s); past it the bound "
        "reached so far is reported",
    )
    b.add_argument(
        "--nontrivial",
        choices=["t4", "t3"],
        default="t4",
        help="r2 non-triviality: some t4 ≠ 0 (as printed) or some t3 ≠ 0 (default %(default)s)",
    )
    b.add_argument(
        "--json",
        action="store_true",
        help="print the full record with every certificate (schema "
        "moetheory.rbar/1) instead of the summary",
    )
    b.set_defaults(func=cmd_rbar)

    bd = sub.add_parser(
        "bounds",
        help="parameter counts and VC-dimension bounds of an MoE",
        description="Exact parameter counts of a hard-routed mixture of E (P)ReLU MLP experts "
        "(equal to its realised torch module) and its VC-dimension bounds: "
        "certified values with exact constants, kept apart from asymptotic shapes "
        "whose constants are unknown.",
    )
    bd.add_argument(
        "--dim",
        type=_ranged(1, MAX_SIZE),
        required=True,
        help=f"input dimension d, 1 to {MAX_SIZE:,}",
    )
    bd.add_argument(
        "--experts",
        type=_ranged(1, MAX_SIZE),
        required=True,
        help=f"number of experts E, 1 to {MAX_SIZE:,}",
    )
    bd.add_argument(
        "--depth",
        type=_ranged(1, MAX_DEPTH),
        required=True,
        help=f"hidden layers per expert J, 1 to {MAX_DEPTH:,}",
    )
    bd.add_argument(
        "--width",
        type=_ranged(1, MAX_SIZE),
        required=True,
        help=f"hidden width per layer W, 1 to {MAX_SIZE:,}",
    )
    bd.add_argument(
        "--router",
        choices=kind_names(),
        default="prototype",
        help="router kind, one of %(choices)s (default %(default)s)",
    )
    bd.add_argument(
        "--activation",
        choices=["relu", "prelu"],
        default="relu",
        help="hidden activation of the experts, one of %(choices)s (default %(default)s)",
    )
    bd.add_argument(
        "--slopes",
        choices=["trainable", "fixed"],
        default="trainable",
        help="PReLU slopes: trainable parameters or fixed (default %(default)s)",
    )
    bd.add_argument(
        "--top-k",
        type=_ranged(1, MAX_SIZE),
        default=1,
        help="experts mixed by the linear router (default %(default)s)",
    )
    bd.add_argument(
        "--output-dim",
        type=_ranged(1, MAX_SIZE),
        default=1,
        help="outputs per expert (default %(default)s; VC bounds need 1)",
    )
    bd.add_argument("--grid", help="grid router: cells per axis K1,...,Kd (default K^d = E)")
    bd.add_argument(
        "--seconds",
        type=_seconds(),
        default=60.0,
        help="wall-clock limit of the whole command in seconds (default %(default)s)",
    )
    bd.add_argument(
        "--json",
        action="store_true",
        help="print counts and bounds (values, formulas, sources, certificates) "
        "as JSON instead of Markdown",
    )
    bd.set_defaults(func=cmd_bounds)

    t = sub.add_parser(
        "tables",
        help="approximation-rate and trade-off tables",
        description="approximation: the sizes of the approximators of α-Hölder targets on "
        "[0,1]^d for each accuracy ε; tradeoff: number of experts against expert "
        "size at a fixed parameter budget.",
    )
    t.add_argument(
        "table", choices=["approximation", "tradeoff"], help="which table, one of %(choices)s"
    )
    t.add_argument(
        "--dim",
        default="1,2,3",
        help="comma-separated input dimensions (default %(default)s; one for tradeoff)",
    )
    t.add_argument(
        "--alpha",
        default="0.5,1",
        help="comma-separated Hölder exponents in (0,1] (default %(default)s; one for tradeoff)",
    )
    t.add_argument(
        "--eps", help="approximation: comma-separated accuracies (default 1e-1,1e-2,1e-3)"
    )
    t.add_argument(
        "--holder-constant", default="1", help="Hölder constant λ > 0 (default %(default)s)"
    )
    t.add_argument(
        "--norm",
        choices=["l2", "linf"],
        default="l2",
        help="norm of the Hölder condition on the inputs, one of %(choices)s (default %(default)s)",
    )
    t.add_argument(
        "--tradeoff",
        help="approximation: r in [0,1], share of the resolution "
        "given to the router (moe-pwl; default 1)",
    )
    t.add_argument(
        "--router",
        choices=kind_names(approximating=True),
        default="grid",
        help="router kind, one of %(choices)s (default %(default)s)",
    )
    t.add_argument("--budget", help="tradeoff: parameter budget (default 1e6)")
    t.add_argument(
        "--budget-kind",
        choices=["total", "active"],
        help="tradeoff: the budget counts total or active parameters (default total)",
    )
    t.add_argument(
        "--format",
        choices=formats_for("table"),
        default="md",
        help="output format, one of %(choices)s (default %(default)s)",
    )
    t.add_argument(
        "--seconds",
        type=_seconds(),
        default=600.0,
        help="wall-clock limit of the whole command in seconds (default %(default)s)",
    )
    t.set_defaults(func=cmd_tables)

    c = sub.add_parser(
        "construct",
        help="build a PReLU-MoE approximator and verify its error",
        description="Build a mixture of (P)ReLU experts for an α-Hölder target on [0,1]^d and "
        "an accuracy ε, realise it as a torch module, and search its error "
        "(proved in d = 1). Exit 1 when the error found exceeds ε.",
    )
    c.add_argument("--target", help="built-in target: abs-power, sawtooth or smooth")
    c.add_argument("--target-formula", help="a formula in x1..xD (the package's safe parser)")
    c.add_argument("--alpha", required=True, help="Hölder exponent α in (0, 1]")
    c.add_argument(
        "--holder-constant", help="Hölder constant λ (default: a built-in target's proved constant)"
    )
    c.add_argument(
        "--dim", type=_ranged(1, MAX_DIM), required=True, help=f"input dimension d, 1 to {MAX_DIM}"
    )
    c.add_argument("--eps", required=True, help="accuracy ε > 0 (sup norm)")
    c.add_argument(
        "--router",
        choices=kind_names(approximating=True),
        default="grid",
        help="router kind, one of %(choices)s (default %(default)s)",
    )
    c.add_argument(
        "--expert",
        choices=["constant", "pwl"],
        default="pwl",
        help="expert kind: constant (one value per cell) or pwl (piecewise linear "
        "Kuhn hats) (default %(default)s)",
    )
    c.add_argument(
        "--norm",
        choices=["l2", "linf"],
        default="l2",
        help="norm of the Hölder condition on the inputs, one of %(choices)s (default %(default)s)",
    )
    c.add_argument(
        "--tradeoff",
        default="1",
        help="r in [0,1]: share of the pwl resolution given to the router (default %(default)s)",
    )
    c.add_argument(
        "--points", default="1e6", help="grid points of the error search (default %(default)s)"
    )
    c.add_argument(
        "--starts",
        type=_ranged(0, 10_000),
        default=16,
        help="adversarial searches around the worst grid points, 0 to 10,000 (default %(default)s)",
    )
    c.add_argument(
        "--seed",
        type=_ranged(0, MAX_SEED),
        default=0,
        help=f"seed of the adversarial searches, 0 to {MAX_SEED:,} (default %(default)s)",
    )
    c.add_argument(
        "--seconds",
        type=_seconds(),
        default=3600.0,
        help="wall-clock limit of the whole command in seconds (default %(default)s)",
    )
    c.add_argument(
        "--max-parameters",
        default=str(1 << 26),
        help="refuse constructions with more dense parameters (default %(default)s)",
    )
    c.add_argument(
        "--refit", action="store_true", help="also refit the output layers by minimax LP (cvxpy)"
    )
    c.add_argument(
        "--refit-points", default="20000", help="fit points of the refit (default %(default)s)"
    )
    c.add_argument(
        "--save",
        help="write the module here as a safe model file (plain data "
        "and tensors; read it with moetheory.construct.load_module)",
    )
    c.add_argument(
        "--json",
        action="store_true",
        help="print the construction, its sizes and measured errors as JSON instead of Markdown",
    )
    c.set_defaults(func=cmd_construct)

    r = sub.add_parser(
        "report",
        help="run the main job and write a report directory",
        description="Identify the built-in pairs and write the atlas, verdicts with "
        "certificates, rate and trade-off tables, bounds and constructed "
        "approximators to one directory.",
    )
    r.add_argument(
        "--out",
        default="moetheory-report",
        help="directory to write (checked writable before any computation; default %(default)s)",
    )
    r.add_argument(
        "--dim",
        type=_ranged(1, MAX_DIM),
        default=2,
        help=f"input dimension d, 1 to {MAX_DIM} (default %(default)s)",
    )
    r.add_argument(
        "--seed",
        type=_ranged(0, MAX_SEED),
        default=0,
        help=f"seed, 0 to {MAX_SEED:,} (default %(default)s)",
    )
    r.add_argument(
        "--seconds",
        type=_seconds(),
        default=3600.0,
        help="wall-clock limit of the whole command in seconds (default %(default)s)",
    )
    r.add_argument(
        "--workers",
        type=_ranged(1, MAX_WORKERS),
        default=None,
        help=f"worker processes, 1 to {MAX_WORKERS} (default: all cores)",
    )
    r.add_argument(
        "--gates",
        help="comma-separated built-in routers to include (default: all; see `moetheory families`)",
    )
    r.add_argument(
        "--experts",
        help="comma-separated built-in experts to include (default: all; see `moetheory families`)",
    )
    r.set_defaults(func=cmd_report)
    ax = sub.add_parser(
        "approx-experiment",
        help="train mixtures at fixed budgets: error vs experts",
        description="The approximation trade-off experiment: train hard-routed (P)ReLU "
        "mixtures whose exact parameter count is within 10 %% of each budget, "
        "measure their sup error (grid plus adversarial search) and held-out L2 "
        "error, fit log error against log E with bootstrap intervals over seeds, "
        "and compare with the (E·P)^(-α/d) and (E·P²)^(-α/d) laws and with the "
        "explicit construction at equal parameters. Writes results.jsonl, "
        "summary.json, summary.md and approx.png/.pdf to --out; --resume "
        "continues a killed run. Bad configurations exit 2 before any work.",
    )
    ax.add_argument(
        "config",
        nargs="?",
        help="configuration file (.toml or .json; see "
        "experiments/configs/); default: the built-in quick configuration",
    )
    ax.add_argument(
        "--quick",
        action="store_true",
        help="the built-in quick configuration (under 5 minutes on 2 CPU cores)",
    )
    ax.add_argument(
        "--full",
        action="store_true",
        help="the built-in full configuration (d = 3, budgets up to 1e5; a GPU)",
    )
    ax.add_argument("--target", help="built-in target: abs-power, sawtooth or smooth")
    ax.add_argument("--alpha", help="Hölder exponent α in (0, 1] the target is built with")
    ax.add_argument("--dim", type=int, help="input dimension d: 1, 2 or 3")
    ax.add_argument("--budgets", help="comma-separated parameter budgets, e.g. 250,1e3,4e3")
    ax.add_argument("--budget-kind", help="the budgets count total or active parameters")
    ax.add_argument("--cells", help="comma-separated cells per axis k (E = k^d experts)")
    ax.add_argument("--depths", help="comma-separated hidden layers J per expert")
    ax.add_argument("--router", help="grid, prototype (k-means) or learned (top-1 linear)")
    ax.add_argument("--seeds", type=int, help="training seeds per configuration")
    ax.add_argument("--steps", type=int, help="Adam steps")
    ax.add_argument("--seed", type=int, help="base seed")
    ax.add_argument("--device", help="auto, cpu or cuda (auto: CUDA when present)")
    ax.add_argument(
        "--scheduler",
        help="local (a Dask LocalCluster) or the address of a Dask "
        "scheduler, tcp://HOST:PORT (default: this process)",
    )
    ax.add_argument(
        "--out", default="approx-experiment", help="run directory (default %(default)s)"
    )
    ax.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in --out: finished models are not trained again",
    )
    ax.add_argument(
        "--seconds",
        type=_seconds(zero_ok=True),
        default=0.0,
        help="wall-clock limit of the whole command in seconds, 0 for none "
        "(default %(default)s); a run stopped by it continues with --resume",
    )
    ax.set_defaults(func=cmd_approx_experiment)
    for name, module, func, what, lists in (
        (
            "softmoe-experiment",
            "softmoe",
            cmd_softmoe_experiment,
            "Soft MoE: experts vs expert size at fixed parameters, on the norm target "
            "t(X) = ‖X‖_F, and Algorithm 1 (the best expert subset per input) against random "
            "subsets of the same size. Writes results.jsonl, summary.json, summary.md and "
            "softmoe.png/.pdf to --out; --resume continues a killed run.",
            (("--experts", "comma-separated expert counts n (total expert width fixed)"),),
        ),
        (
            "momentum-experiment",
            "momentum",
            cmd_momentum_experiment,
            "SMoE vs MomentumSMoE vs AdamSMoE vs RobustMomentumSMoE on a synthetic per-token "
            "regression: training-loss oscillation, test error clean, under input noise and "
            "under a shift, several seeds, paired comparisons with intervals. Writes "
            "results.jsonl, summary.json, summary.md and momentum.png/.pdf to --out; --resume "
            "continues a killed run.",
            (),
        ),
    ):
        st = sub.add_parser(name, help=what.split(". ")[0], description=what)
        st.add_argument(
            "config", nargs="?", help="configuration file (.toml or .json); default: the preset"
        )
        st.add_argument("--quick", action="store_true", help="the quick preset (under a minute)")
        st.add_argument("--full", action="store_true", help="the full preset (for a GPU)")
        for option, text in lists:
            st.add_argument(option, help=text)
        st.add_argument("--seeds", type=int, help="training seeds per configuration")
        st.add_argument("--steps", type=int, help="Adam steps")
        st.add_argument("--seed", type=int, help="base seed (data, initialisations)")
        st.add_argument("--device", help="auto, cpu or cuda (auto: CUDA when present)")
        st.add_argument(
            "--scheduler",
            help="local (a Dask LocalCluster) or the address of a Dask scheduler "
            "(default: this process)",
        )
        st.add_argument("--out", default=module, help="run directory (default %(default)s)")
        st.add_argument("--resume", action="store_true", help="continue the run in --out")
        st.add_argument(
            "--seconds",
            type=_seconds(zero_ok=True),
            default=0.0,
            help="wall-clock limit of the whole command in seconds, 0 for none "
            "(default %(default)s); a run stopped by it continues with --resume",
        )
        st.set_defaults(func=func)
    sim = sub.add_parser(
        "simulate",
        help="estimation-rate simulations: measured vs predicted slopes",
        description="Simulate from a true mixing measure, fit the MoE at every sample size "
        "and replicate in batches (EM with an IRLS gate step for a Gaussian MoE, "
        "Levenberg–Marquardt for regression), score each fit by its Voronoi loss and "
        "regress log(mean loss) on log n, with a bootstrap 95 %% interval, against "
        "the slope the rate predictor gives (or none: then the measurement is the "
        "answer). Writes results.jsonl, summary.json, summary.md and "
        "simulation.png/.pdf to --out; --resume continues a killed run. Bad "
        "configurations exit 2 before any work.",
    )
    sim.add_argument(
        "target",
        nargs="?",
        help="a named configuration (see --list) or a configuration file (.toml or .json)",
    )
    sim.add_argument("--list", action="store_true", help="list the named configurations")
    sim.add_argument("--gate", help="built-in router: simulate it with --expert, random truth")
    sim.add_argument("--expert", help="built-in expert (with --gate)")
    sim.add_argument(
        "--dim", type=int, default=2, help="input dimension with --gate/--expert (default 2)"
    )
    sim.add_argument(
        "--truth-seed",
        type=int,
        default=0,
        help="seed of the random truth with --gate/--expert (default %(default)s)",
    )
    sim.add_argument("--quick", action="store_true", help="the quick profile (under a minute)")
    sim.add_argument("--full", action="store_true", help="the paper-scale profile (a GPU)")
    sim.add_argument(
        "--atlas",
        action="store_true",
        help="simulate every atlas pair (or those of --gate/--expert, comma-separated) with a "
        "random truth, as one resumable sweep, and print the measured-vs-predicted table",
    )
    sim.add_argument("--seed", type=int, help="base seed of the data and starts")
    sim.add_argument("--sizes", help="comma-separated sample sizes, replacing the profile's")
    sim.add_argument("--replicates", type=int, help="replicates per sample size")
    sim.add_argument(
        "--device",
        default="auto",
        choices=("auto", "cpu", "cuda"),
        help="auto, cpu or cuda (default %(default)s: CUDA when present)",
    )
    sim.add_argument(
        "--scheduler",
        help="local (a Dask LocalCluster) or the address of a Dask scheduler, tcp://HOST:PORT "
        "(default: this process)",
    )
    sim.add_argument("--out", help="run directory (default simulate-NAME)")
    sim.add_argument(
        "--resume", action="store_true", help="continue the run in --out: finished fits stay"
    )
    sim.add_argument(
        "--seconds",
        type=_seconds(zero_ok=True),
        default=0.0,
        help="wall-clock limit of the whole command in seconds, 0 for none "
        "(default %(default)s); a run stopped by it continues with --resume",
    )
    sim.set_defaults(func=cmd_simulate)
    sh = sub.add_parser(
        "shatter",
        help="how many points a model shatters: exact certificates or training",
        description="Decide every labelling of m points: exactly (halfspace, linear = "
        "sgn(wᵀx), linear-router and prototype-router with constant experts; a "
        "certificate file that `moetheory verify` re-checks) or by training all "
        "2^m labellings of a PReLU mixture at once (moe; an empirical lower "
        "bound), beside the bounds calculator's VC bounds.",
    )
    sh.add_argument(
        "--model",
        required=True,
        choices=["halfspace", "linear", "linear-router", "prototype-router", "moe"],
        help="model, one of %(choices)s",
    )
    sh.add_argument(
        "--dim", type=_ranged(1, 1000), required=True, help="input dimension d, 1 to 1000"
    )
    sh.add_argument(
        "--points",
        type=_ranged(1, 20),
        required=True,
        help="number of points m, 1 to 20 (exact; moe: at most 16)",
    )
    sh.add_argument(
        "--experts",
        type=_ranged(1, 64),
        default=None,
        help="experts E of the router models and moe, 1 to 64 (default 2)",
    )
    sh.add_argument(
        "--width",
        type=_ranged(1, 1024),
        default=None,
        help="moe: hidden width per expert, 1 to 1024 (default 4)",
    )
    sh.add_argument(
        "--depth",
        type=_ranged(0, 8),
        default=None,
        help="moe: hidden layers per expert, 0 to 8 (default 1)",
    )
    sh.add_argument(
        "--point-set",
        default="random",
        help="random (Gaussian, seeded), uniform, grid, moment (the moment curve) "
        "or a CSV/JSON file of coordinates (default %(default)s)",
    )
    sh.add_argument(
        "--seed",
        type=_ranged(0, MAX_SEED),
        default=0,
        help=f"seed, 0 to {MAX_SEED:,} (default %(default)s)",
    )
    sh.add_argument(
        "--method",
        choices=["auto", "enumeration", "milp"],
        default="auto",
        help="router models: exact split enumeration or MILP (default %(default)s)",
    )
    sh.add_argument(
        "--device",
        choices=["auto", "cpu", "cuda"],
        default="auto",
        help="moe training device (default %(default)s; exact runs use the CPU)",
    )
    sh.add_argument(
        "--steps", type=_ranged(1, 100_000), default=None, help="moe: training steps (default 2000)"
    )
    sh.add_argument(
        "--random-sets",
        type=_ranged(1, 64),
        default=None,
        help="moe: random point sets searched (default 3)",
    )
    sh.add_argument(
        "--out",
        default=None,
        help="directory for the certificate file (default: the current directory)",
    )
    sh.add_argument(
        "--seconds",
        type=_seconds(),
        default=3600.0,
        help="wall-clock limit of the whole command in seconds (default %(default)s)",
    )
    sh.add_argument(
        "--json", action="store_true", help="print the summary as JSON instead of Markdown"
    )
    sh.set_defaults(func=cmd_shatter)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run one command and return its exit code: 0 success, 1 a verification failed, 2 bad
    input, 130 interrupted (Ctrl-C); each failure is one line on stderr, never a traceback.

    On Ctrl-C the command's own clean-ups run first (temporary outputs removed, worker
    processes ended); then ``moetheory: interrupted`` is printed and SIGINT is ignored for the
    rest of the process, so a second Ctrl-C cannot cut the exit short. Argparse's own exit
    (``--help``, a malformed option) becomes the return value (0 or 2).

    >>> main(["tables", "tradeoff", "--dim", "1,2"])  # the error line goes to stderr
    2

    Reference: README.md (command line); 130 = 128 + SIGINT, the shell's convention.
    """
    try:
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as exc:  # argparse: --help (0) or a malformed option (2, one line)
            return exc.code if isinstance(exc.code, int) else 2
        limit = _command_limit(args)
        with deadline(
            limit, LimitError, f"time limit of {limit:g} s reached (--seconds)" if limit else None
        ):
            return args.func(args)
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        print("moetheory: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into a reader that stopped (e.g. `| head`)
        sys.stderr.close()
        return 0
    except MoetheoryError as exc:
        print(
            f"moetheory: error: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}",
            file=sys.stderr,
        )
        return 2
    except MemoryError:
        print(_OUT_OF_MEMORY, file=sys.stderr)
        return 2
    except RuntimeError as exc:  # torch's allocators (CPU and CUDA) raise RuntimeError subclasses
        if not _is_out_of_memory(exc):
            raise
        print(_OUT_OF_MEMORY, file=sys.stderr)
        return 2


_OUT_OF_MEMORY = "moetheory: error: out of memory: the sizes asked for do not fit; lower them"


def _is_out_of_memory(exc: RuntimeError) -> bool:
    """An allocation failure of torch (``torch.OutOfMemoryError`` or the CPU allocator's
    "can't allocate memory").

    >>> _is_out_of_memory(RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried"))
    True
    """
    text = str(exc)
    return (
        type(exc).__name__ == "OutOfMemoryError"
        or "can't allocate memory" in text
        or "out of memory" in text.lower()
    )


if __name__ == "__main__":
    raise SystemExit(main())

"""The CLI contract (issue 13): every subcommand and option, given a hostile value, answers with
exit 0/1 or with exit 2 and exactly one stderr line — never a traceback, a hang or a crash.

The options are read from the parser itself, so a new option is covered the day it is added.
Each base command is small and valid and carries a short ``--seconds`` where the command has
one, so a hostile value that happens to be valid runs quickly (or stops at its limit, itself
one line and exit 2).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest
from helpers import default_sigint, run_cli

from moetheory.cli import build_parser

HOSTILE = [
    "-1",
    "0",
    "1e19",
    "1" + "0" * 20,
    "9" * 30,
    "1e308",
    "nan",
    "inf",
    "-inf",
    "abc",
    "",
    "1.5",
    "-0",
    "0x10",
    "1/0",
    "__import__('os')",
]

BASES = {  # valid, fast invocations; an option's value is replaced in place or appended
    "identify": ["--gate", "softmax", "--expert", "linear", "--dim", "1", "--seconds", "3"],
    "verify": ["{file}", "--seconds", "20"],
    "families": [],
    "atlas": [
        "--gates",
        "softmax",
        "--experts",
        "linear",
        "--dim",
        "1",
        "--workers",
        "1",
        "--seconds",
        "20",
    ],
    "rbar": ["--system", "r2", "--m", "1", "--seconds", "3"],
    "bounds": ["--dim", "2", "--experts", "4", "--depth", "1", "--width", "4"],
    "tables": ["approximation", "--dim", "1", "--alpha", "1", "--eps", "0.1"],
    "construct": [
        "--target",
        "abs-power",
        "--alpha",
        "1",
        "--dim",
        "1",
        "--eps",
        "0.1",
        "--points",
        "1000",
        "--starts",
        "1",
        "--seconds",
        "20",
    ],
    "report": ["--gates", "softmax", "--experts", "linear", "--out", "{out}", "--seconds", "1"],
    "shatter": [
        "--model",
        "halfspace",
        "--dim",
        "2",
        "--points",
        "3",
        "--out",
        "{out}",
        "--seconds",
        "20",
    ],
    "approx-experiment": [
        "--budgets",
        "60",
        "--cells",
        "1,2",
        "--seeds",
        "1",
        "--steps",
        "5",
        "--out",
        "{out}",
        "--seconds",
        "20",
    ],
    "softmoe-experiment": [
        "--quick",
        "--experts",
        "1,2",
        "--seeds",
        "1",
        "--steps",
        "5",
        "--out",
        "{out}",
        "--seconds",
        "20",
    ],
    "momentum-experiment": [
        "--quick",
        "--seeds",
        "1",
        "--steps",
        "5",
        "--out",
        "{out}",
        "--seconds",
        "20",
    ],
    "simulate": [
        "--gate",
        "softmax",
        "--expert",
        "linear",
        "--dim",
        "1",
        "--sizes",
        "50,100",
        "--replicates",
        "2",
        "--out",
        "{out}",
        "--seconds",
        "20",
    ],
}
#: (command, option) whose value is a path: hostile text there is a legitimate file name.
PATHS = {
    ("report", "--out"),
    ("atlas", "--out"),
    ("construct", "--save"),
    ("approx-experiment", "--out"),
    ("shatter", "--out"),
    ("shatter", "--point-set"),
    ("simulate", "--out"),
    ("atlas", "--measured"),
    ("softmoe-experiment", "--out"),
    ("momentum-experiment", "--out"),
}


def _options() -> list[tuple[str, str]]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    out = []
    for name, command in sub.choices.items():
        for action in command._actions:
            if action.nargs == 0 or isinstance(action, argparse._HelpAction):
                continue
            out.append((name, action.option_strings[0] if action.option_strings else "POS"))
    return out


def _argv(command: str, option: str, value: str, file: str, out: str) -> list[str]:
    base = [a.format(file=file, out=out) for a in BASES[command]]
    if option == "POS":
        return [command, value, *base[1:]] if base else [command, value]
    if option in base:
        i = base.index(option)
        base[i + 1] = value
        return [command, *base]
    return [command, *base, option, value]


@pytest.fixture(scope="module")
def verdict_file(tmp_path_factory):
    from moetheory import identify

    path = tmp_path_factory.mktemp("contract") / "v.json"
    path.write_text(json.dumps(identify("softmax", "linear", dim=1).to_json()))
    return str(path)


def test_every_option_is_covered():
    commands = {c for c, _ in _options()}
    assert commands == set(BASES) - {"families"}, commands ^ set(BASES)  # families: no option
    assert len(_options()) > 50


@pytest.mark.parametrize("command, option", _options())
def test_hostile_values_give_one_line(capsys, tmp_path, monkeypatch, verdict_file, command, option):
    monkeypatch.chdir(tmp_path)  # a value read as a path lands here, not in the repository
    for value in HOSTILE:
        if (command, option) in PATHS and value not in ("",):
            continue  # any other text is a valid file name; the path checks are tested apart
        argv = _argv(command, option, value, verdict_file, str(tmp_path / "out"))
        code, out, err = run_cli(capsys, *argv)
        assert "Traceback" not in out + err, argv
        assert code in (0, 1, 2), (argv, code)
        if code == 2:
            assert len(err.strip().splitlines()) == 1, (argv, err)


def test_huge_dimension_does_not_crash_a_process():
    """A 20-digit --dim once ended in SIGSEGV, and --dim 20000 in a MemoryError."""
    for dim in ("99999999999999999999", "20000"):
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "moetheory.cli",
                "identify",
                "--gate",
                "softmax",
                "--expert",
                "linear",
                "--dim",
                dim,
                "--seconds",
                "2",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert run.returncode == 2 and len(run.stderr.strip().splitlines()) == 1, run.stderr
        assert "--dim" in run.stderr


def test_taylor_family_limit_is_one_line(capsys):
    code, _, err = run_cli(
        capsys,
        "identify",
        "--gate",
        "softmax",
        "--expert",
        "linear",
        "--dim",
        "64",
        "--seconds",
        "5",
    )
    assert code == 2 and "Taylor family" in err and len(err.strip().splitlines()) == 1


def test_whole_command_time_limit(capsys, tmp_path):
    """`--seconds` covers the whole command: a report stopped by it leaves no directory."""
    out = tmp_path / "rep"
    code, _, err = run_cli(
        capsys,
        "report",
        "--gates",
        "softmax",
        "--experts",
        "linear",
        "--out",
        str(out),
        "--seconds",
        "0.5",
    )
    assert code == 2 and "time limit" in err and not out.exists()


def test_ctrl_c_while_importing_is_one_line(tmp_path):
    """SIGINT before the package has finished importing (sympy takes about a second).

    The delays count from the end of the interpreter's own start-up (a ``sitecustomize`` that
    writes a marker file): a signal during start-up itself, before any line of moetheory runs,
    is the interpreter's to handle, and on a slow or loaded machine start-up alone can take
    longer than a fixed delay.
    """
    import os
    import signal
    import time
    from pathlib import Path

    exe = Path(sys.executable).parent / "moetheory"  # the installed console script itself
    assert exe.exists(), "pip install -e . installs the moetheory console script"
    marker = tmp_path / "started"
    (tmp_path / "sitecustomize.py").write_text(
        f"open({str(marker)!r}, 'w').close()\n", encoding="utf-8"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")])),
    }
    complete = subprocess.run([exe, "families"], capture_output=True, text=True, check=True).stdout
    interrupted = 0
    for delay in (0.1, 0.5):  # after the interpreter started, while sympy imports
        marker.unlink(missing_ok=True)
        proc = subprocess.Popen(
            [exe, "families"],
            stdout=subprocess.PIPE,
            env=env,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=default_sigint,
        )
        deadline = time.monotonic() + 60
        while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        assert marker.exists(), "the interpreter did not start"
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        assert "Traceback" not in err
        if proc.returncode == -signal.SIGINT:  # the signal came after the command had finished
            assert out == complete and err == "", (out[-200:], err)  # (interpreter shutdown)
            continue
        assert proc.returncode in (0, 130), (proc.returncode, err)
        if proc.returncode == 130:
            assert err == "moetheory: interrupted\n"
            interrupted += 1
    assert interrupted, "no run was interrupted while importing: the test did not test anything"


# ------------------------------------------------ values that once hung, crashed or were ignored
TRADEOFF = ["tables", "tradeoff", "--dim", "1", "--alpha", "1"]
FORMULA = [
    "identify",
    "--gate-formula",
    "exp(a*x1)",
    "--gate-params",
    "a",
    "--expert-formula",
    "b*x1",
    "--expert-params",
    "b",
    "--inputs",
    "x1",
    "--seconds",
    "3",
]
CONSTRUCT = ["construct", *BASES["construct"]]


@pytest.mark.parametrize("option", ["--budget", "--budget-kind"])
def test_tradeoff_table_options(capsys, option):
    """The tradeoff table's own options (the generic test's tables base is approximation)."""
    for value in HOSTILE:
        code, out, err = run_cli(capsys, *TRADEOFF, option, value)
        assert "Traceback" not in out + err
        assert code == 0 or (code == 2 and len(err.strip().splitlines()) == 1), (value, err)


@pytest.mark.parametrize(
    "argv, needle",
    [
        (
            [
                "tables",
                "approximation",
                "--dim",
                "1",
                "--alpha",
                "1",
                "--eps",
                "0.1",
                "--tradeoff",
                "1e-300",
            ],
            "exactly",
        ),  # a 10^300-th root
        (
            ["tables", "approximation", "--dim", "3", "--alpha", "0.1234567", "--eps", "1e-3"],
            "exactly",
        ),  # powers with 10^7 in the exponent
        (
            ["tables", "approximation", "--dim", "1", "--alpha", "0.999", "--eps", "1e-290"],
            "exactly",
        ),
        (
            ["tables", "approximation", "--dim", "1", "--alpha", "1", "--eps", "1e99999999"],
            "1e10000",
        ),  # the exact rational alone has 10^8 digits
        (["tables", "tradeoff", "--dim", "10000000000000000000", "--alpha", "1"], "dim"),
        (["tables", "approximation", "--budget", "1e6"], "tradeoff table"),  # once ignored
        ([*TRADEOFF, "--eps", "0.1"], "approximation table"),
        (
            [
                "bounds",
                "--router",
                "grid",
                "--dim",
                "1000000000000",
                "--experts",
                "1",
                "--depth",
                "1",
                "--width",
                "1",
            ],
            "axes",
        ),  # 2^(10^12) in the integer root, then 10^12 cells per axis
        (
            [
                "bounds",
                "--router",
                "none",
                "--dim",
                "1",
                "--experts",
                "1",
                "--depth",
                "10000",
                "--width",
                "10000",
                "--activation",
                "prelu",
                "--seconds",
                "1",
            ],
            "time limit",
        ),
        (["identify", "--gate", "softmax", "--expert", "linear", "--gate-params", "a"], "built-in"),
        ([*FORMULA, "--params", "a"], "alias"),
        ([*FORMULA, "--positive", "nan"], "positive"),
        ([*CONSTRUCT, "--max-parameters", "1e30"], "max parameters"),  # torch's sizes overflow
        ([*CONSTRUCT, "--tradeoff", "1e-300"], "exactly"),
    ],
    ids=lambda a: " ".join(a) if isinstance(a, list) else a,
)
def test_refused_with_one_line(capsys, argv, needle):
    code, _, err = run_cli(capsys, *argv)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert needle in err


@pytest.mark.parametrize(
    "argv",
    [
        ["tables", "approximation", "--dim", "1", "--alpha", "0.99", "--eps", "1e-300"],
        [
            "tables",
            "approximation",
            "--dim",
            "1",
            "--alpha",
            "1",
            "--eps",
            "1e-290",
            "--tradeoff",
            "0.999",
        ],
    ],
)
def test_extreme_valid_tables_answer(capsys, argv):
    """Resolutions near 10^300 from α and r with three digits: a few exact decisions each."""
    code, out, _ = run_cli(capsys, *argv, "--format", "json")
    assert code == 0 and {r["method"] for r in json.loads(out)} >= {"moe-constant", "moe-pwl"}


def test_exact_searches_start_from_an_estimate():
    from fractions import Fraction

    from moetheory.bounds.approximation import least_near, nearest_power

    assert {least_near(lambda n: n * n >= 50, g) for g in (0, 1, 7, 8, 9, 10**6)} == {8}
    for n in range(1, 200):
        for r in (
            Fraction(0),
            Fraction(1, 3),
            Fraction(1, 2),
            Fraction(2, 3),
            Fraction(999, 1000),
            Fraction(1),
        ):
            k, p, q = nearest_power(n, r), r.numerator, r.denominator
            assert (2 * k - 1) ** q <= 2**q * n**p < (2 * k + 1) ** q  # k = ⌊n^r + 1/2⌋


def test_grid_router_with_many_cells_per_axis(capsys):
    """C(m + K − 1, K − 1) beyond the float range (once an OverflowError)."""
    assert (
        run_cli(
            capsys,
            "bounds",
            "--router",
            "grid",
            "--dim",
            "2",
            "--experts",
            "4096",
            "--depth",
            "2",
            "--width",
            "16",
        )[0]
        == 0
    )


def test_tradeoff_budget_beyond_float_range(capsys):
    """Rows' counts beyond the float range in the scaling laws (once an OverflowError)."""
    assert run_cli(capsys, *TRADEOFF, "--budget", "1e308")[0] == 0


def test_out_of_memory_is_one_line(capsys, monkeypatch):
    """Review of issue 16: sizes that pass the checks but exhaust memory gave a torch traceback
    with exit 1; they are bad input like any other (exit 2, one line)."""
    from moetheory import cli

    def exhausted(args):
        raise RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 9e12")

    parser = cli.build_parser
    monkeypatch.setattr(
        cli,
        "build_parser",
        lambda: _with_func(parser(), "families", exhausted),
    )
    assert cli.main(["families"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "out of memory" in err


def _with_func(parser, command, func):
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    sub.choices[command].set_defaults(func=func)
    return parser

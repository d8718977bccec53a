"""Atomic outputs and Ctrl-C: an interrupted command leaves its outputs as they were, prints
one line and exits 130."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import default_sigint

from moetheory import files
from moetheory.errors import MoetheoryError
from moetheory.files import (
    atomic_directory,
    check_writable_directory,
    deferred_interrupt,
    write_text_atomic,
)


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` with its bytes (the whole state a test compares)."""
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def siblings(path: Path) -> list[str]:
    """Hidden temporary names next to ``path`` (none may survive a run)."""
    return sorted(p.name for p in path.parent.glob(f".{path.name}.*"))


def old_report(out: Path) -> dict[str, bytes]:
    """A complete previous report (one line per file) in ``out``; its snapshot."""
    from moetheory.report import REPORT_FILES

    out.mkdir()
    for name in REPORT_FILES:
        (out / name).write_text(f"previous {name}\n")
    return snapshot(out)


def test_write_text_atomic(tmp_path, monkeypatch):
    path = tmp_path / "atlas.md"
    assert write_text_atomic(path, "old\n") == path and path.read_text() == "old\n"
    write_text_atomic(path, "new ×\n")
    assert path.read_text(encoding="utf-8") == "new ×\n" and siblings(path) == []

    def fail(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(files.os, "replace", fail)
    with pytest.raises(KeyboardInterrupt):
        write_text_atomic(path, "partial")
    assert path.read_text(encoding="utf-8") == "new ×\n" and siblings(path) == []


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_atomic_directory_exception_leaves_target(tmp_path, error):
    target = tmp_path / "run"
    target.mkdir()
    (target / "a.txt").write_text("old")
    before = snapshot(target)
    with pytest.raises(error), atomic_directory(target) as tmp:
        (tmp / "a.txt").write_text("new")
        raise error
    assert snapshot(target) == before and siblings(target) == []
    with pytest.raises(error), atomic_directory(tmp_path / "fresh") as tmp:
        raise error
    assert not (tmp_path / "fresh").exists() and siblings(tmp_path / "fresh") == []


@pytest.mark.parametrize("exchange", [True, False])
def test_atomic_directory_replaces(tmp_path, monkeypatch, exchange):
    if not exchange:  # the rename-aside scheme of systems without renameat2
        monkeypatch.setattr(files, "_exchange", lambda a, b: False)
    target = tmp_path / "deep" / "run"
    with atomic_directory(target) as tmp:
        (tmp / "a.txt").write_text("first")
    assert snapshot(target) == {"a.txt": b"first"}
    with atomic_directory(target) as tmp:
        (tmp / "a.txt").write_text("second")
        (tmp / "b.txt").write_text("more")
    assert snapshot(target) == {"a.txt": b"second", "b.txt": b"more"}
    assert siblings(target) == []


def test_atomic_directory_rename_aside_rolls_back(tmp_path, monkeypatch):
    """Without renameat2: a failed move of the new directory puts the old one back."""
    monkeypatch.setattr(files, "_exchange", lambda a, b: False)
    target = tmp_path / "run"
    target.mkdir()
    (target / "a.txt").write_text("old")
    rename = os.rename

    def second_fails(src, dst):
        if Path(src).name.startswith(".run.tmp-"):
            raise KeyboardInterrupt
        rename(src, dst)

    monkeypatch.setattr(files.os, "rename", second_fails)
    with pytest.raises(KeyboardInterrupt), atomic_directory(target) as tmp:
        (tmp / "a.txt").write_text("new")
    assert snapshot(target) == {"a.txt": b"old"} and siblings(target) == []


def test_atomic_directory_keeps_foreign_files(tmp_path):
    target = tmp_path / "run"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="notes.txt"), atomic_directory(target) as tmp:
        (tmp / "a.txt").write_text("new")
    assert snapshot(target) == {"notes.txt": b"mine"} and siblings(target) == []
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError), atomic_directory(tmp_path / "file"):
        pass


def test_check_writable_directory(tmp_path):
    check_writable_directory(tmp_path / "new" / "deeper")
    assert list(tmp_path.iterdir()) == []  # nothing created, no probe left
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError):
        check_writable_directory(tmp_path / "file")
    with pytest.raises(NotADirectoryError):
        check_writable_directory(tmp_path / "file" / "out")


def test_deferred_interrupt_delivers_after_block():
    steps = []
    with pytest.raises(KeyboardInterrupt), deferred_interrupt():
        signal.raise_signal(signal.SIGINT)
        steps.append("finished")
    assert steps == ["finished"] and signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_report_interrupted_keeps_previous_report(tmp_path, monkeypatch):
    from moetheory import report

    out = tmp_path / "report"
    before = old_report(out)

    def interrupted(directory, seed=0):
        (directory / "constructions.md").write_text("half")
        raise KeyboardInterrupt

    monkeypatch.setattr(report, "write_constructions", interrupted)
    with pytest.raises(KeyboardInterrupt):
        report.write_report(out, gates=["softmax"], experts=["linear"], workers=1)
    assert snapshot(out) == before and siblings(out) == []


def test_report_replaces_previous_report(tmp_path, monkeypatch):
    from moetheory import report

    out = tmp_path / "report"
    old_report(out)

    def quick(directory, seed=0):  # the built approximators take half a minute
        for name in ("constructions.md", "constructions.json", "tradeoff_measured.md"):
            (directory / name).write_text("new\n")
        return []  # no measured trade-off tables to plot

    monkeypatch.setattr(report, "write_constructions", quick)
    assert report.write_report(out, gates=["softmax"], experts=["linear"], workers=1) == out
    assert sorted(p.name for p in out.iterdir()) == sorted(report.REPORT_FILES)
    assert '"gate": "softmax"' in (out / "atlas.json").read_text()
    assert "pairs: 1 " in (out / "summary.md").read_text() and siblings(out) == []


def test_report_refuses_foreign_directory_before_computing(tmp_path, monkeypatch):
    from moetheory import report

    (tmp_path / "notes.txt").write_text("mine")
    monkeypatch.setattr(report, "identify_all", pytest.fail)
    with pytest.raises(MoetheoryError, match="notes.txt"):
        report.write_report(tmp_path)
    assert snapshot(tmp_path) == {"notes.txt": b"mine"}


def test_cli_keyboard_interrupt_in_process(tmp_path, monkeypatch, capsys):
    from moetheory import cli

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("moetheory.rates.atlas.atlas_rows", interrupted)
    previous = signal.getsignal(signal.SIGINT)
    try:
        code = cli.main(
            ["atlas", "--gates", "softmax", "--experts", "linear", "--out", str(tmp_path / "new")]
        )
    finally:
        signal.signal(signal.SIGINT, previous)
    assert code == 130 and capsys.readouterr().err == "moetheory: interrupted\n"
    assert not (tmp_path / "new").exists()


def test_cli_bad_input_creates_no_directory(tmp_path, capsys):
    from moetheory.cli import main

    assert main(["atlas", "--gates", "nosuch", "--out", str(tmp_path / "new")]) == 2
    assert main(["report", "--gates", "nosuch", "--out", str(tmp_path / "new")]) == 2
    assert list(tmp_path.iterdir()) == []
    assert capsys.readouterr().err.count("\n") == 2


def test_cli_atlas_out_writes_file_atomically(tmp_path, capsys):
    from moetheory.cli import main

    out = tmp_path / "atlas"
    assert (
        main(
            [
                "atlas",
                "--gates",
                "softmax",
                "--experts",
                "linear",
                "--workers",
                "1",
                "--format",
                "json",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert [p.name for p in out.iterdir()] == ["atlas.json"]
    assert '"gate": "softmax"' in (out / "atlas.json").read_text()


def children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc (Linux)")
@pytest.mark.parametrize(
    "command",
    [  # report: its imports alone take ~7 s
        "atlas",
        pytest.param("report", marks=pytest.mark.slow),
    ],
)
def test_ctrl_c_with_worker_processes(tmp_path, command):
    """Ctrl-C (SIGINT to the whole process group, as a terminal sends it) while two worker
    processes identify pairs: one line on stderr, exit 130, outputs as they were."""
    out = tmp_path / "out"
    before = old_report(out) if command == "report" else None
    argv = [
        sys.executable,
        "-m",
        "moetheory.cli",
        command,
        "--dim",
        "2",
        "--workers",
        "2",
        "--out",
        str(out),
    ]
    proc = subprocess.Popen(
        argv,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=default_sigint,
    )
    try:
        deadline = time.monotonic() + 60
        while len(children(proc.pid)) < 2 and proc.poll() is None:
            assert time.monotonic() < deadline, "no worker processes started"
            time.sleep(0.1)
        time.sleep(0.5)  # the workers are busy with pairs
        workers = children(proc.pid)
        os.killpg(proc.pid, signal.SIGINT)
        start = time.monotonic()
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert time.monotonic() - start < 20
    assert proc.returncode == 130, err
    assert err == "moetheory: interrupted\n"
    assert not any(Path(f"/proc/{pid}").exists() for pid in workers)
    if command == "report":
        assert snapshot(out) == before
    else:
        assert not out.exists()
    assert siblings(out) == []

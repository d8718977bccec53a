"""The report directory explains itself (issue 15): index.md and index.html list and link every
file and show the atlas plot, every table with symbols carries a legend, the r̄ certificates are
written and re-check, the plots are deterministic, and progress bars change no output file."""

from __future__ import annotations

import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from moetheory.rates.atlas import SIZES

PAIRS = {"gates": ["softmax"], "experts": ["linear", "gaussian-linear"]}  # r̄ is used


class Terminal(io.StringIO):
    """A stderr that says it is a terminal, so the progress bars draw into it."""

    def isatty(self) -> bool:
        return True


def small_report(out: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A report of two pairs with few, small constructions (the full one takes a minute): one
    constant-expert row built, one pwl row over the limit, the measured trade-off built up to
    20,000 dense parameters."""
    from moetheory import report

    monkeypatch.setattr(
        report,
        "CONSTRUCTION_CASES",
        [("abs-power", 1, 1, "0.1", "constant"), ("abs-power", 1, 2, "0.01", "pwl")],
    )
    monkeypatch.setattr(report, "CONSTRUCTION_LIMIT", 100_000)
    monkeypatch.setattr(report, "MEASURED_LIMIT", 20_000)
    return report.write_report(out, workers=1, **PAIRS)


@pytest.fixture(scope="module")
def drawn(tmp_path_factory) -> tuple[Path, str]:
    """A small report written with a terminal on stderr, and what the bars drew there."""
    with pytest.MonkeyPatch.context() as mp:
        terminal = Terminal()
        mp.setattr("sys.stderr", terminal)
        out = small_report(tmp_path_factory.mktemp("drawn") / "report", mp)
    return out, terminal.getvalue()


@pytest.fixture(scope="module")
def report_dir(drawn) -> Path:
    return drawn[0]


def files(directory: Path) -> set[str]:
    return {p.name for p in directory.iterdir()}


class Links(HTMLParser):
    """Every a href and img src of a page; whether it loads scripts or stylesheets."""

    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.images: list[str] = []
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.hrefs.append(a["href"])
        if tag == "img":
            self.images.append(a.get("src") or "")
        if tag in ("script", "link", "iframe", "object"):
            self.external.append(tag)


def test_report_writes_exactly_its_files(report_dir):
    from moetheory.report import REPORT_FILES

    assert files(report_dir) == set(REPORT_FILES)


def test_index_md_lists_and_links_every_file(report_dir):
    text = (report_dir / "index.md").read_text(encoding="utf-8")
    targets = {unquote(t) for t in re.findall(r"\]\(([^)\s]+)\)", text)}
    assert files(report_dir) <= targets
    assert all((report_dir / t).is_file() for t in targets)
    listed = re.findall(r"^\| \[([^\]]+)\]\([^)]+\) \| (.+) \|$", text, re.MULTILINE)
    assert {name for name, _ in listed} == files(report_dir)
    assert all(what.strip() for _, what in listed)


def test_index_html_links_every_file_and_shows_the_atlas(report_dir):
    page = Links()
    page.feed((report_dir / "index.html").read_text(encoding="utf-8"))
    for ref in page.hrefs + page.images:
        parsed = urlparse(ref)
        assert not parsed.scheme and not parsed.netloc and "/" not in parsed.path, ref
        assert (report_dir / unquote(parsed.path)).is_file(), ref
    assert {unquote(h) for h in page.hrefs} == files(report_dir)
    assert "atlas.png" in page.images and not page.external


def test_index_records_environment_seeds_and_timings(report_dir):
    text = (report_dir / "index.md").read_text(encoding="utf-8")
    for key in (
        "python",
        "numpy",
        "sympy",
        "torch",
        "python-flint",
        "moetheory",
        "platform",
        "CPUs",
    ):
        assert re.search(rf"^\| {re.escape(key)} \| \S", text, re.MULTILINE), key
    assert "## Seeds" in text and "## Run time" in text
    for part in ("identify pairs", "r̄ certificates", "constructions, built and measured", "plots"):
        assert re.search(rf"^\| {re.escape(part)} \| \d+\.\d \|$", text, re.MULTILINE), part


def test_summary_points_at_index_atlas_and_certificates(report_dir):
    text = (report_dir / "summary.md").read_text(encoding="utf-8")
    for name in (
        "index.md",
        "index.html",
        "atlas.md",
        "atlas.png",
        *(f"rbar_r2_m{m}.json" for m in SIZES),
    ):
        assert name in text, name


def test_rbar_certificates_recheck(report_dir):
    from moetheory.rbar import verify_rbar_json

    used = json.loads((report_dir / "atlas.json").read_text(encoding="utf-8"))
    values = {m: v for row in used for m, v in row["rbar"].items()}
    assert set(values) == {str(m) for m in SIZES}  # the gaussian-linear row uses r̄(2), r̄(3)
    for m in SIZES:
        record = json.loads((report_dir / f"rbar_r2_m{m}.json").read_text(encoding="utf-8"))
        assert verify_rbar_json(record) == (True, [])
        assert record["status"] == "exact" and record["value"] == values[str(m)]


def test_every_table_with_symbols_has_a_legend(report_dir):
    atlas = (report_dir / "atlas.md").read_text(encoding="utf-8")
    legend = atlas.split("\nLegend:\n", 1)[1]
    for term in ("`τ`", "`[P]`", "`[R]`", "`[open]`", "`—`", "`samples (over)`", "`paper`"):
        assert term in legend, term
    assert r"\begin{description}" in (report_dir / "atlas.tex").read_text(encoding="utf-8")
    constructions = (report_dir / "constructions.md").read_text(encoding="utf-8")
    assert "100,000 dense parameters, the report's limit" in constructions
    assert "`moetheory construct" in constructions
    constant = next(line for line in constructions.splitlines() if "| constant |" in line)
    assert constant.split(" | ")[7] == "0"  # M = 0 for constant experts, as approximation.md
    measured = (report_dir / "tradeoff_measured.md").read_text(encoding="utf-8")
    assert "| — |" in measured and "- `—`: not measured" in measured
    assert "20,000 dense parameters" in measured


def test_disagreement_reads_plainly(tmp_path):
    from moetheory.present.atlas import render_atlas
    from moetheory.rates.atlas import atlas_rows

    md = render_atlas(atlas_rows(gates=["softmax"], experts=["ffn-relu"], workers=1), "md")
    assert (
        "computation disagrees: the paper's result needs strong identifiability = yes "
        "(computed), found computed strong = no"
    ) in md
    assert "(computed): computed strong" not in md


def test_plots_are_deterministic(report_dir, tmp_path):
    from moetheory.present.plots import atlas_figure, save_figure
    from moetheory.rates.atlas import atlas_rows

    rows = atlas_rows(workers=1, **PAIRS)
    for out in (tmp_path / "a", tmp_path / "b"):
        out.mkdir()
        save_figure(atlas_figure(rows), out / "atlas")
    for ext in ("png", "pdf"):
        first = (tmp_path / "a" / f"atlas.{ext}").read_bytes()
        assert first == (tmp_path / "b" / f"atlas.{ext}").read_bytes()
        assert first == (report_dir / f"atlas.{ext}").read_bytes()
    pdf = (report_dir / "atlas.pdf").read_bytes()
    assert b"CreationDate" not in pdf and b"Matplotlib" not in pdf
    assert (report_dir / "atlas.png").read_bytes().startswith(b"\x89PNG")


def test_progress_bars_draw_on_a_terminal(drawn):
    """The module's report is written with a terminal on stderr: both levels of bars drew."""
    _, bars = drawn
    assert "report" in bars and "identify" in bars


@pytest.mark.slow  # a second small report, written without a terminal, compared file by file
def test_progress_bars_draw_on_a_terminal_and_change_no_file(drawn, tmp_path, monkeypatch):
    report_dir, bars = drawn
    assert "report" in bars and "identify" in bars  # both levels drew on the terminal
    quiet = small_report(tmp_path / "quiet", monkeypatch)  # stderr is no terminal here
    timed = {
        "summary.md",
        "index.md",
        "index.html",
        "identifiability.json",
        *(f"rbar_r2_m{m}.json" for m in SIZES),
    }  # these record wall times
    assert files(quiet) == files(report_dir)
    for name in files(quiet) - timed:
        assert (quiet / name).read_bytes() == (report_dir / name).read_bytes(), name


def test_progress_is_silent_without_a_terminal(capsys):
    from moetheory.present.progress import progress

    assert list(progress(range(3), desc="quiet")) == [0, 1, 2]
    assert capsys.readouterr().err == ""

"""Presentation of the estimation-rate simulations (issue 17): the figures and tables of
``moetheory.present.simulate``, the recorded runs of ``moetheory.experiments.simulate.records``
and the atlas's measured-slope column. Hand-written summaries only: nothing is simulated."""

from __future__ import annotations

import copy
import csv
import io
import json

import pytest

from moetheory.experiments.config import ConfigError
from moetheory.experiments.simulate.records import load_summaries, measured_by_pair
from moetheory.present import simulate
from moetheory.present.atlas import COLUMNS, MEASURED_COLUMN, measured_cell, render_atlas
from moetheory.present.formats import formats_for, render
from moetheory.rates.atlas import atlas_rows

PNG, PDF = b"\x89PNG\r\n\x1a\n", b"%PDF"


def _summary(**changes):
    base = {
        "experiment": "simulate",
        "name": "cosine",
        "gate": "cosine",
        "expert": "scaled-tanh",
        "model": "regression",
        "k_true": 2,
        "k": 3,
        "dim": 2,
        "loss": "D1",
        "loss_note": "infimum over the softmax translation",
        "points": [
            {
                "n": 100,
                "fits": 20,
                "converged": 19,
                "mean_loss": 0.31,
                "se_loss": 0.2,
                "median_loss": 0.29,
            },
            {
                "n": 400,
                "fits": 20,
                "converged": 20,
                "mean_loss": 0.1625,
                "se_loss": 0.011,
                "median_loss": 0.1502,
            },
            {
                "n": 1600,
                "fits": 20,
                "converged": 20,
                "mean_loss": 0.0817,
                "se_loss": 0.0043,
                "median_loss": 0.0799,
            },
        ],
        "slope": -0.4812,
        "intercept": 1.0425,
        "ci": [-0.5533, -0.4091],
        "level": 0.95,
        "predicted": -0.5,
        "predicted_kind": "polynomial",
        "predicted_text": "n^{-1/2} (Voronoi loss, Thm 2)",
        "theorem": "R-2505.10860-T1",
        "source": "2505.10860 Thm 2",
        "verdict": "consistent",
        "verdict_reason": "the interval lies within 0.1 of the prediction",
        "tolerance": 0.1,
        "authors_slope": -0.638,
        "authors_source": "2305.03288 authors' stored results",
        "fits": 60,
        "converged_fraction": 0.9833,
        "seconds": 41.2,
        "device": "cpu",
        "seed": 0,
    }
    base.update(changes)
    return base


POLY = _summary()
LOG = _summary(
    name="perturbed-cosine",
    predicted=0.0,
    predicted_kind="logarithmic",
    predicted_text="slower than any polynomial (slope → 0)",
    verdict="inconclusive",
    verdict_reason="a slope near 0 cannot be told from a slow polynomial at these n",
    authors_slope=None,
    authors_source=None,
)
NULLS = _summary(
    name="no-fit",
    gate="sigmoid",
    expert="linear",
    k=2,
    loss="D2",
    slope=None,
    intercept=None,
    ci=[None, None],
    predicted=None,
    predicted_kind=None,
    predicted_text="no theorem covers this pair: the measured slope is empirical",
    theorem=None,
    source=None,
    verdict="empirical",
    authors_slope=None,
    authors_source=None,
    points=[
        {"n": 100, "fits": 3, "converged": 0, "mean_loss": None, "se_loss": None,
         "median_loss": None},
        {"n": 200, "fits": 3, "converged": 1, "mean_loss": 0.2, "se_loss": None,
         "median_loss": 0.2},
    ],
)  # fmt: skip


# -- registry ------------------------------------------------------------------------------


def test_the_registry_offers_the_simulation_kinds():
    assert formats_for("simulation") == ("md", "latex", "json", "png", "pdf")
    assert formats_for("simulations") == ("md", "latex", "csv", "png", "pdf")


# -- one run -------------------------------------------------------------------------------


def test_markdown_shows_the_numbers_given():
    md = render("simulation", "md", POLY)
    for text in (
        "| 100 | 20 | 19 | 0.31 | 0.2 | 0.29 |",
        "| 1600 | 20 | 20 | 0.0817 | 0.0043 | 0.0799 |",
        "-0.4812, 95 % interval [-0.5533, -0.4091]",
        "-0.5 (polynomial): n^{-1/2} (Voronoi loss, Thm 2); theorem R-2505.10860-T1",
        "consistent: the interval lies within 0.1 of the prediction (tolerance 0.1)",
        "authors' slope: -0.638 (2305.03288 authors' stored results)",
        "60 fits, 98.33 % converged, 41.2 s on cpu, seed 0",
        "k* = 2 true atoms, k = 3 fitted, d = 2; loss D1 (infimum over the softmax translation)",
    ):
        assert text in md, text


def test_markdown_of_nulls_and_of_a_logarithmic_prediction():
    md = render("simulation", "md", NULLS)
    assert "- fitted slope of log loss on log n: no fitted slope" in md
    assert "- predicted slope: no theorem covers this pair: the measured slope is empirical" in md
    assert "| 100 | 3 | 0 | — | — | — |" in md
    assert "authors' slope" not in md
    log = render("simulation", "md", LOG)
    assert "→ 0 (logarithmic): slower than any polynomial (slope → 0)" in log
    no_ci = render("simulation", "md", _summary(ci=[None, None]))
    assert "-0.4812, no interval" in no_ci


def test_latex_table_and_statements():
    tex = render("simulation", "latex", LOG)
    assert r"\begin{tabular}{rrrrrr}" in tex and r"\bottomrule" in tex
    assert r"100 & 20 & 19 & 0.31 & 0.2 & 0.29 \\" in tex
    assert r"\item[verdict] inconclusive" in tex
    assert "→" not in tex and r"$\to$" in tex  # pdflatex cannot take the arrow as text
    assert r"n\^{}\{-1/2\}" in render("simulation", "latex", POLY)
    assert r"\item[authors' slope] -0.638" in render("simulation", "latex", POLY)


def test_json_is_the_summary_as_it_is():
    for s in (POLY, LOG, NULLS):
        assert json.loads(render("simulation", "json", s)) == s


def test_figure_bytes_and_elements():
    for s in (POLY, LOG, NULLS):
        assert render("simulation", "png", s).startswith(PNG)
        assert render("simulation", "pdf", s).startswith(PDF)
    assert render("simulation", "png", POLY) == render("simulation", "png", copy.deepcopy(POLY))

    labels = simulate.simulation_figure(POLY).axes[0].get_legend_handles_labels()[1]
    assert any(lab.startswith("fit: slope -0.481 [-0.553, -0.409] (95 %)") for lab in labels)
    assert any(lab.startswith("predicted slope -0.5:") for lab in labels)
    assert any(lab.startswith("authors' slope -0.638") for lab in labels)
    assert "mean loss ± 2 se (some fits not converged)" in labels  # n = 100: 19 of 20

    log_ax = simulate.simulation_figure(LOG).axes[0]
    labels = log_ax.get_legend_handles_labels()[1]
    assert any("drawn as slope 0" in lab for lab in labels)
    assert not any("authors'" in lab for lab in labels)
    predicted = [line for line in log_ax.get_lines() if line.get_linestyle() == "--"]
    assert len(predicted) == 1 and len(set(predicted[0].get_ydata())) == 1  # flat

    null_ax = simulate.simulation_figure(NULLS).axes[0]
    assert null_ax.get_legend_handles_labels()[1] == ["mean loss ± 2 se (some fits not converged)"]
    assert "k*/k = 2/2, D2 loss: empirical" in null_ax.get_title()


def test_error_bars_stay_positive():
    """n = 100 has mean 0.31 and se 0.2: mean − 2 se < 0, so the bar stops at BAR_FLOOR·mean."""
    ax = simulate.simulation_figure(POLY).axes[0]
    bars = ax.collections[0].get_segments()
    lows = [min(seg[0][1], seg[1][1]) for seg in bars]
    assert min(lows) == pytest.approx(simulate.BAR_FLOOR * 0.31)
    assert all(low > 0 for low in lows)


def test_the_predicted_line_goes_through_the_geometric_centre():
    ax = simulate.simulation_figure(POLY).axes[0]
    (line,) = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]
    xs, ys = line.get_xdata(), line.get_ydata()
    assert list(xs) == [100, 1600]
    centre_y = (0.31 * 0.1625 * 0.0817) ** (1 / 3)  # centre x = 400
    assert ys[0] == pytest.approx(centre_y * (100 / 400) ** -0.5)


# -- several runs ------------------------------------------------------------------------


def test_many_runs_as_panels():
    fig = simulate.simulation_figure_many([POLY, LOG])
    assert [ax.get_title().split(":")[0] for ax in fig.axes] == ["cosine", "perturbed-cosine"]
    assert fig.axes[0].get_shared_y_axes().joined(fig.axes[0], fig.axes[1])  # same loss
    mixed = simulate.simulation_figure_many([POLY, NULLS])  # D1 beside D2
    assert not mixed.axes[0].get_shared_y_axes().joined(mixed.axes[0], mixed.axes[1])
    assert render("simulations", "png", [POLY, LOG, NULLS]).startswith(PNG)
    assert render("simulations", "pdf", []).startswith(PDF)


def test_runs_table_in_markdown_latex_and_csv():
    md = render("simulations", "md", [POLY, LOG, NULLS])
    assert (
        "| cosine | cosine × scaled-tanh | 2/3 | D1 | -0.4812 [-0.5533, -0.4091] | — | -0.5 | "
        "consistent | -0.638 | 60 | 98.33 % | 41.2 | cpu |"
    ) in md
    assert "| perturbed-cosine | cosine × scaled-tanh | 2/3 | D1 |" in md
    assert "| → 0 (logarithmic) | inconclusive | — |" in md
    assert "| no-fit | sigmoid × linear | 2/2 | D2 | — | — | — | empirical | — |" in md
    assert "Legend:" in md

    tex = render("simulations", "latex", [POLY, LOG, NULLS])
    assert r"\begin{longtable}{lllllllllllll}" in tex and tex.count(r"\\") >= 4
    assert r"cosine $\times$ scaled-tanh & 2/3" in tex and "→" not in tex

    rows = list(csv.DictReader(io.StringIO(render("simulations", "csv", [POLY, LOG, NULLS]))))
    assert [r["name"] for r in rows] == ["cosine", "perturbed-cosine", "no-fit"]
    assert (rows[0]["slope"], rows[0]["ci_low"], rows[0]["ci_high"]) == (
        "-0.4812",
        "-0.5533",
        "-0.4091",
    )
    assert rows[0]["converged_fraction"] == "0.9833" and rows[0]["authors_slope"] == "-0.638"
    assert rows[1]["predicted_kind"] == "logarithmic"
    assert (rows[2]["slope"], rows[2]["ci_low"], rows[2]["predicted"]) == ("", "", "")


# -- recorded runs -----------------------------------------------------------------------


def _write(path, data):
    path.mkdir(parents=True, exist_ok=True)
    (path / "summary.json").write_text(json.dumps(data), encoding="utf-8")


def test_load_summaries_from_run_directories_and_trees(tmp_path):
    _write(tmp_path / "runs" / "b", POLY)
    _write(tmp_path / "runs" / "a" / "deep", LOG)
    _write(tmp_path / "single", NULLS)
    found = load_summaries([tmp_path / "runs", tmp_path / "single", tmp_path / "runs" / "b"])
    assert [s["name"] for s in found] == ["perturbed-cosine", "cosine", "no-fit"]  # each once
    assert load_summaries([tmp_path / "single" / "summary.json"]) == [NULLS]


def _run_with(**fields: object) -> str:
    """A summary the atlas column can read, with ``fields`` replaced (found in review: a
    string slope reached ``format`` and crashed the CLI)."""
    base = {"experiment": "simulate", "name": "x", "gate": "softmax", "expert": "linear"}
    return json.dumps({**base, "fits": 3, "slope": -0.5, "ci": [-0.6, -0.4], **fields})


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("{not json", "invalid JSON"),
        ("[1, 2]", "expected a table of fields"),
        ('{"experiment": "approx"}', "not a simulate summary"),
        ('{"experiment": "simulate", "name": "x"}', "lacks 'gate', 'expert', 'fits'"),
        (_run_with(slope="abc"), "field 'slope'"),
        (_run_with(slope=float("inf")), "field 'slope'"),
        (_run_with(verdict={"a": 1}), "field 'verdict'"),
        (_run_with(k=True), "field 'k'"),
        (_run_with(ci=[1, "z"]), "field 'ci'"),
        (_run_with(ci=[1]), "field 'ci'"),
    ],
)
def test_a_corrupt_summary_names_its_file(tmp_path, content, reason):
    run = tmp_path / "run"
    run.mkdir()
    (run / "summary.json").write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_summaries([run])
    message = str(exc.value)
    assert message.startswith(str(run / "summary.json")) and reason in message
    assert "\n" not in message


def test_a_missing_run_names_the_path(tmp_path):
    with pytest.raises(ConfigError, match="no such run directory"):
        load_summaries([tmp_path / "absent"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="no summary.json"):
        load_summaries([tmp_path / "empty"])


def test_measured_by_pair_keeps_the_run_with_most_fits():
    more = _summary(name="cosine-long", fits=400, slope=-0.5)
    tie = _summary(name="a-cosine", fits=400, slope=-0.45)
    picked = measured_by_pair([POLY, more, NULLS])
    assert picked["cosine", "scaled-tanh"]["name"] == "cosine-long"
    assert picked["sigmoid", "linear"] is NULLS
    assert measured_by_pair([more, tie])["cosine", "scaled-tanh"]["name"] == "a-cosine"
    assert measured_by_pair([tie, more])["cosine", "scaled-tanh"]["name"] == "a-cosine"


# -- the atlas's measured column -----------------------------------------------------------


@pytest.fixture(scope="module")
def rows():
    return atlas_rows(["cosine"], ["scaled-tanh", "linear"], workers=1)


def test_atlas_without_measured_is_unchanged(rows):
    for fmt in ("md", "latex", "csv", "json"):
        plain = render_atlas(rows, fmt)
        assert render("atlas", fmt, rows) == plain
        assert render("atlas", fmt, rows, measured=None) == plain
        assert render_atlas(rows, fmt, measured=None) == plain
        assert MEASURED_COLUMN not in plain and '"measured"' not in plain
    assert next(csv.reader(io.StringIO(render_atlas(rows, "csv")))) == list(COLUMNS)


def test_atlas_with_measured_slopes(rows):
    measured = measured_by_pair([POLY, NULLS])  # NULLS's pair is not in the rows: ignored
    cell = "-0.481 [-0.553, -0.409] · consistent (k*/k = 2/3, D1)"
    assert measured_cell(POLY) == cell

    md = render_atlas(rows, "md", measured)
    header = next(line for line in md.splitlines() if line.startswith("| gate |"))
    assert header.endswith("| paper | measured slope |")
    tanh = next(line for line in md.splitlines() if line.startswith("| cosine | scaled-tanh |"))
    linear = next(line for line in md.splitlines() if line.startswith("| cosine | linear |"))
    assert tanh.endswith(f"| {cell} |") and linear.endswith("| — |")
    assert "- `measured slope`:" in md

    table = list(csv.reader(io.StringIO(render_atlas(rows, "csv", measured))))
    assert table[0] == [*COLUMNS, MEASURED_COLUMN]
    assert [r[-1] for r in table[1:]] == [cell, "—"]

    data = json.loads(render_atlas(rows, "json", measured))
    assert data[0]["measured"]["slope"] == -0.4812 and data[0]["measured"]["text"] == cell
    assert data[0]["measured"]["ci"] == [-0.5533, -0.4091] and data[1]["measured"] is None
    assert {k: v for k, v in data[0].items() if k != "measured"} == rows[0].to_json()

    tex = render_atlas(rows, "latex", measured)
    assert "p{2.5cm}p{3cm}}" in tex and r"measured slope \\" in tex
    assert r"-0.481 [-0.553, -0.409] $\cdot$ consistent" in tex


def test_atlas_measured_cell_of_a_run_without_a_slope():
    assert measured_cell(NULLS) == "no slope · empirical (k*/k = 2/2, D2)"
    assert measured_cell(_summary(ci=[None, None])) == "-0.481 · consistent (k*/k = 2/3, D1)"

"""The index of a report directory, as Markdown and as a self-contained HTML page.

The index lists every file of the directory with one line on what it holds, shows the plots,
and records the environment, the seeds and the run time of each part. The HTML page needs
nothing but the directory: styles are inline, links and images are relative, no script and no
external asset, so it opens from the file system in any browser.

Example
-------
>>> index = Index(title="demo", intro="Start at `a.md`.",
...               files=[("a.md", "a table"), ("a.png", "its plot")],
...               figures=[("a.png", "the plot")], environment={"python": "3.11"},
...               seeds=[("everything", "0")], timings=[("all", 1.25)])
>>> print(index_markdown(index).split("## Plots")[0])
# demo
<BLANKLINE>
Start at `a.md`.
<BLANKLINE>
## Files
<BLANKLINE>
| file | what it holds |
|---|---|
| [a.md](a.md) | a table |
| [a.png](a.png) | its plot |
<BLANKLINE>
<BLANKLINE>
>>> '<img src="a.png" alt="the plot">' in index_html(index)
True
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import quote

from moetheory.present.tables import TAGS


@dataclass(frozen=True)
class Index:
    """What an index shows: ``files`` as (name, what it holds), in reading order; ``figures``
    as (image file, caption); ``environment`` (name → version or value); ``seeds`` as (what it
    drives, value); ``timings`` as (part, seconds). ``intro`` is Markdown with `code` only."""

    title: str
    intro: str
    files: Sequence[tuple[str, str]]
    figures: Sequence[tuple[str, str]] = ()
    environment: dict[str, str] = field(default_factory=dict)
    seeds: Sequence[tuple[str, str]] = ()
    timings: Sequence[tuple[str, float]] = ()


def _seconds(value: float) -> str:
    return f"{value:.1f}"


def index_markdown(index: Index) -> str:
    """The index as Markdown: files (linked), plots, environment, seeds, run time, tags."""
    lines = [
        f"# {index.title}",
        "",
        index.intro,
        "",
        "## Files",
        "",
        "| file | what it holds |",
        "|---|---|",
    ]
    lines += [f"| [{name}]({quote(name)}) | {what} |" for name, what in index.files]
    lines += ["", "## Plots", ""]
    for name, caption in index.figures:
        lines += [f"![{caption}]({quote(name)})", "", f"*{caption}*", ""]
    lines += ["## Environment", "", "| | |", "|---|---|"]
    lines += [f"| {key} | {value} |" for key, value in index.environment.items()]
    lines += ["", "## Seeds", ""] + [f"- {what}: {value}" for what, value in index.seeds]
    lines += ["", "## Run time", "", "| part | seconds |", "|---|---|"]
    lines += [f"| {part} | {_seconds(s)} |" for part, s in index.timings]
    lines += ["", "## Provenance tags", ""] + [f"- `{tag}`: {what}" for tag, what in TAGS.items()]
    return "\n".join(lines) + "\n"


def _inline(text: str) -> str:
    """Markdown text with `code` spans → HTML (everything else escaped)."""
    pieces = text.split("`")
    return "".join(
        f"<code>{html.escape(p)}</code>" if i % 2 else html.escape(p) for i, p in enumerate(pieces)
    )


_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;"
    "line-height:1.45;color:#222}table{border-collapse:collapse;margin:.5rem 0 1.5rem}"
    "td,th{border:1px solid #ccc;padding:.25rem .6rem;text-align:left;vertical-align:top}"
    "th{background:#f3f3f3}code{background:#f3f3f3;padding:0 .2rem}"
    "figure{margin:1rem 0 2rem}img{max-width:100%;border:1px solid #ddd}"
    "figcaption{font-style:italic;margin-top:.3rem}"
)


def _table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """An HTML table; the cells are HTML already."""
    out = ["<table>", "<tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>"]
    out += ["<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows]
    return out + ["</table>"]


def index_html(index: Index) -> str:
    """The index as one self-contained HTML page (inline style, relative links and images)."""
    title = html.escape(index.title)
    lines = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{title}</title>",
        f"<style>{_STYLE}</style>",
        "</head>",
        "<body>",
        f"<h1>{title}</h1>",
        f"<p>{_inline(index.intro)}</p>",
        "<h2>Files</h2>",
    ]
    lines += _table(
        ["file", "what it holds"],
        [
            (f'<a href="{quote(name)}">{html.escape(name)}</a>', _inline(what))
            for name, what in index.files
        ],
    )
    lines.append("<h2>Plots</h2>")
    for name, caption in index.figures:
        lines += [
            f'<figure><a href="{quote(name)}"><img src="{quote(name)}" '
            f'alt="{html.escape(caption)}"></a>',
            f"<figcaption>{html.escape(caption)}</figcaption></figure>",
        ]
    lines.append("<h2>Environment</h2>")
    lines += _table(
        ["", ""], [(html.escape(k), html.escape(v)) for k, v in index.environment.items()]
    )
    lines.append("<h2>Seeds</h2>")
    lines += (
        ["<ul>"]
        + [f"<li>{_inline(what)}: {html.escape(value)}</li>" for what, value in index.seeds]
        + ["</ul>"]
    )
    lines.append("<h2>Run time</h2>")
    lines += _table(
        ["part", "seconds"], [(html.escape(part), _seconds(s)) for part, s in index.timings]
    )
    lines.append("<h2>Provenance tags</h2>")
    lines += (
        ["<ul>"]
        + [
            f"<li><code>{html.escape(tag)}</code>: {html.escape(what)}</li>"
            for tag, what in TAGS.items()
        ]
        + ["</ul>"]
    )
    lines += ["</body>", "</html>"]
    return "\n".join(lines) + "\n"

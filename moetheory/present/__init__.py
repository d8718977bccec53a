"""Presentation: Markdown, LaTeX and JSON renderings of results (the maths never prints)."""

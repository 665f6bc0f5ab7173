"""Sphinx extension: ``{reportcard-index}`` renders every ``reportcards/*.json`` as one table.

The table is built after all pages have been read (and their notebooks executed), so it
shows the rows the chapters recorded in this very build; the page holding the directive
is re-rendered on every build.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from docutils import nodes
from sphinx.util.docutils import SphinxDirective

COLUMNS = ("chapter", "claim", "published", "ours", "source", "profile", "verdict")


class reportcard_placeholder(nodes.General, nodes.Element):
    pass


class ReportCardIndex(SphinxDirective):
    def run(self):
        env = self.env
        return [reportcard_placeholder()]


def _rows(folder: Path):
    rows = []
    for path in sorted(folder.glob("*.json")):
        rows.extend(json.loads(path.read_text()))
    return rows


def _table(rows):
    table = nodes.table(classes=["reportcard-index"])
    group = nodes.tgroup(cols=len(COLUMNS))
    table += group
    for _ in COLUMNS:
        group += nodes.colspec(colwidth=1)
    head = nodes.thead()
    group += head
    row = nodes.row()
    for c in COLUMNS:
        row += nodes.entry("", nodes.paragraph(text=c))
    head += row
    body = nodes.tbody()
    group += body
    for r in rows:
        row = nodes.row()
        for c in COLUMNS:
            text = str(r.get(c, ""))
            para = nodes.paragraph()
            para += nodes.strong(text=text) if c == "verdict" else nodes.Text(text)
            row += nodes.entry("", para, classes=[f"verdict-{text}"] if c == "verdict" else [])
        body += row
    return table


def _resolve(app, doctree, docname):
    # the same folder the chapters write to (topohelpers.reportcard_dir)
    folder = Path(os.environ.get("TOPO_REPORTCARDS") or Path(app.srcdir) / "reportcards")
    for node in doctree.findall(reportcard_placeholder):
        rows = _rows(folder) if folder.is_dir() else []
        if rows:
            node.replace_self(_table(rows))
        else:
            node.replace_self(nodes.paragraph(text="No chapter has recorded a report card yet."))


def _always_outdated(app, env, added, changed, removed):
    return [d for d in env.found_docs if d in getattr(env, "reportcard_docs", set())]


def _collect(app, doctree):
    if any(True for _ in doctree.findall(reportcard_placeholder)):
        app.env.reportcard_docs = getattr(app.env, "reportcard_docs", set()) | {app.env.docname}


def setup(app):
    app.add_node(reportcard_placeholder)
    app.add_directive("reportcard-index", ReportCardIndex)
    app.connect("doctree-read", _collect)
    app.connect("doctree-resolved", _resolve)
    app.connect("env-get-outdated", _always_outdated)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}

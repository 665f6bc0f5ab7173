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

COLUMNS = ("chapter", "claim", "rule", "published", "ours", "null", "source", "profile", "verdict")
VERDICTS = ("reproduced", "not reproduced", "not comparable", "not run")


class reportcard_placeholder(nodes.General, nodes.Element):
    pass


class ReportCardIndex(SphinxDirective):
    def run(self):
        return [reportcard_placeholder()]


def _rows(folder: Path):
    rows = []
    for path in sorted(folder.glob("*.json")):
        file_rows = json.loads(path.read_text())
        for r in file_rows:
            if r.get("verdict") not in VERDICTS or "rule" not in r:
                raise ValueError(
                    f"{path} is not in the report-card format of this book (verdict "
                    f"{r.get('verdict')!r}, rule {r.get('rule', 'missing')!r}): delete it and "
                    "rerun its chapter."
                )
        rows.extend(file_rows)
    return rows


def _simple_table(header, body_rows, classes, cell_classes=None):
    table = nodes.table(classes=classes)
    group = nodes.tgroup(cols=len(header))
    table += group
    for _ in header:
        group += nodes.colspec(colwidth=1)
    head = nodes.thead()
    group += head
    row = nodes.row()
    for c in header:
        row += nodes.entry("", nodes.paragraph(text=c))
    head += row
    body = nodes.tbody()
    group += body
    for i, cells in enumerate(body_rows):
        row = nodes.row()
        for j, cell in enumerate(cells):
            para = nodes.paragraph()
            para += cell if isinstance(cell, nodes.Node) else nodes.Text(str(cell))
            extra = cell_classes(i, j) if cell_classes else []
            row += nodes.entry("", para, classes=extra)
        body += row
    return table


def _counts(rows, chapters):
    """Per chapter and profile: how many rows have each verdict (a chapter without a file: none)."""
    table = []
    seen = sorted({(r["chapter"], r["profile"]) for r in rows})
    for chapter in chapters:
        mine = [(c, p) for c, p in seen if c == chapter]
        if not mine:
            table.append([chapter, "—", "—", "—", "—", "—", "not executed for this site"])
        for c, p in mine:
            sub = [r for r in rows if r["chapter"] == c and r["profile"] == p]
            n = [sum(r["verdict"] == v for r in sub) for v in VERDICTS]
            table.append([c, p, *n, f"{n[0] + n[1]} finding(s) of {len(sub)} rows"])
    return _simple_table(("chapter", "profile", *VERDICTS, ""), table, ["reportcard-counts"])


def _table(rows):
    def verdict_cell(r):
        para = nodes.inline()
        para += nodes.strong(text=r["verdict"])
        if r.get("reason"):
            para += nodes.Text(f" — {r['reason']}")
        if r["verdict"] == "not comparable" and r.get("rule_holds") is not None:
            para += nodes.Text(
                f" (at this scale the rule {'holds' if r['rule_holds'] else 'fails'})"
            )
        if r.get("variant"):
            para += nodes.Text(f" [extra: {r['variant']}]")
        return para

    body = [
        [verdict_cell(r) if c == "verdict" else str(r.get(c, "")) for c in COLUMNS] for r in rows
    ]
    last = len(COLUMNS) - 1
    return _simple_table(
        COLUMNS,
        body,
        ["reportcard-index"],
        lambda i, j: [f"verdict-{rows[i]['verdict'].replace(' ', '-')}"] if j == last else [],
    )


def _resolve(app, doctree, docname):
    # the same folder the chapters write to (topohelpers.reportcard_dir)
    folder = Path(os.environ.get("TOPO_REPORTCARDS") or Path(app.srcdir) / "reportcards")
    for node in doctree.findall(reportcard_placeholder):
        rows = _rows(folder) if folder.is_dir() else []
        chapters = sorted(
            {p.stem for p in (Path(app.srcdir) / "notebooks").glob("[0-9][0-9]_*.md")}
            | {r["chapter"] for r in rows}
        )
        if rows:
            node.replace_self([_counts(rows, chapters), _table(rows)])
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

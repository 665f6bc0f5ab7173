"""Sphinx extension: ``{reportcard-index}`` renders every ``reportcards/*.json``: one line per
chapter (its rows, each verdict's count, the profiles, a link), then each chapter's rows in a
collapsible table, the verdict first so that it stays in view on a narrow screen.

The table is built after all pages have been read (and their notebooks executed), so it
shows the rows the chapters recorded in this very build; the page holding the directive
is re-rendered on every build.
"""

from __future__ import annotations

import json
import os
from html import escape
from pathlib import Path

from docutils import nodes
from sphinx.util.docutils import SphinxDirective

VERDICTS = ("reproduced", "not reproduced", "not comparable", "not run")
DETAIL = ("verdict", "claim", "published", "ours", "null", "rule", "source")


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


def _verdict_class(verdict: str) -> str:
    return "verdict-" + verdict.replace(" ", "-")


def _verdict_cell(r) -> str:
    out = f"<strong>{escape(r['verdict'])}</strong>"
    if r.get("reason"):
        out += f"<br><small>{escape(r['reason'])}</small>"
    if r["verdict"] == "not comparable" and r.get("rule_holds") is not None:
        out += (
            f"<br><small>at this scale the rule {'holds' if r['rule_holds'] else 'fails'}</small>"
        )
    if r.get("variant"):
        out += f"<br><small>extra: {escape(r['variant'])}</small>"
    return out


def _summary(rows, chapters, link) -> str:
    """One line per chapter: each verdict's count, its rows, the profiles behind them. On a
    narrow screen (``rc-wide`` hidden by the book's CSS) only the chapter number and the four
    verdict counts stay, so the verdicts are in view without scrolling."""
    head = "".join(
        [
            "<th>chapter</th>",
            *(f'<th class="{_verdict_class(v)}">{v}</th>' for v in VERDICTS),
            '<th class="rc-wide">rows</th><th class="rc-wide">profile</th>',
        ]
    )
    body = []
    for chapter in chapters:
        mine = [r for r in rows if r["chapter"] == chapter]
        number, _, rest = chapter.partition("_")
        name = (
            f'<a href="{link(chapter)}">{escape(number)}'
            f'<span class="rc-wide">_{escape(rest)}</span></a>'
        )
        if not mine:
            body.append(f'<tr><td>{name}</td><td colspan="6">not executed for this site</td></tr>')
            continue
        counts = "".join(
            f'<td class="{_verdict_class(v)}">{sum(r["verdict"] == v for r in mine) or ""}</td>'
            for v in VERDICTS
        )
        profiles = " + ".join(dict.fromkeys(r["profile"] for r in mine))
        body.append(
            f'<tr><td>{name}</td>{counts}<td class="rc-wide">{len(mine)}</td>'
            f'<td class="rc-wide">{escape(profiles)}</td></tr>'
        )
    return (
        '<div class="reportcard-scroll"><table class="reportcard-counts">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
    )


def _details(rows, chapters, link) -> str:
    """Per chapter and profile, a collapsible table of its rows, the verdict first."""
    out = []
    for chapter in chapters:
        mine = [r for r in rows if r["chapter"] == chapter]
        for profile in dict.fromkeys(r["profile"] for r in mine):
            sub = [r for r in mine if r["profile"] == profile]
            head = "".join(f"<th>{c}</th>" for c in DETAIL)
            body = "".join(
                "<tr>"
                + "".join(
                    f'<td class="{_verdict_class(r["verdict"])}">{_verdict_cell(r)}</td>'
                    if c == "verdict"
                    else f"<td>{escape(str(r.get(c, '')))}</td>"
                    for c in DETAIL
                )
                + "</tr>"
                for r in sub
            )
            n = [sum(r["verdict"] == v for r in sub) for v in VERDICTS]
            tally = ", ".join(f"{k} {v}" for v, k in zip(VERDICTS, n) if k)
            out.append(
                f'<details class="reportcard-chapter"><summary><a href="{link(chapter)}">'
                f"{escape(chapter)}</a> · {escape(profile)} · {tally}</summary>"
                '<div class="reportcard-scroll"><table class="reportcard-index">'
                f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div></details>"
            )
    return "".join(out)


def _resolve(app, doctree, docname):
    # the same folder the chapters write to (topohelpers.reportcard_dir)
    folder = Path(os.environ.get("TOPO_REPORTCARDS") or Path(app.srcdir) / "reportcards")
    for node in doctree.findall(reportcard_placeholder):
        rows = _rows(folder) if folder.is_dir() else []
        chapters = sorted(
            {p.stem for p in (Path(app.srcdir) / "notebooks").glob("[0-9][0-9]_*.md")}
            | {r["chapter"] for r in rows}
        )

        def link(chapter):
            target = f"notebooks/{chapter}"
            if target not in app.env.found_docs:
                return "#"
            return app.builder.get_relative_uri(docname, target)

        if rows:
            html = (
                '<div class="reportcard-index-block">'
                + _summary(rows, chapters, link)
                + "<p>Each chapter's rows, the verdict first (click to open):</p>"
                + _details(rows, chapters, link)
                + "</div>"
            )
            node.replace_self(nodes.raw("", html, format="html"))
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

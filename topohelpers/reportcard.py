"""Report cards: the published value, ours, the profile and the verdict, recorded as data.

Each chapter records its rows to ``reportcards/<chapter>.json`` when it executes; the
intro page renders the index of all of them. Rows are kept per profile, so a ``smoke``
run never overwrites what the ``book`` profile found.
"""

from __future__ import annotations

import html
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .profile import profile as active_profile

ENV_VAR = "TOPO_REPORTCARDS"
VERDICTS = ("pass", "fail")


@dataclass(frozen=True)
class Row:
    chapter: str
    claim: str
    published: str
    ours: str
    profile: str
    verdict: str
    source: str = ""               # which data or weights produced "ours" (stand-ins are named here)


def reportcard_dir() -> Path:
    """``$TOPO_REPORTCARDS``, else ``reportcards/`` at the book's root (the first folder
    upward holding ``_toc.yml``), else ``./reportcards``."""
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "_toc.yml").exists():
            return folder / "reportcards"
    return here / "reportcards"


class ReportCard:
    """Collect a chapter's rows, show them as a table, and save them.

    Examples
    --------
    >>> card = ReportCard("ch01", profile="smoke")
    >>> card.record("one long H1 bar", published="1 bar", ours="1 bar", passed=True)
    >>> card.rows[0].verdict
    'pass'
    """

    def __init__(self, chapter: str, *, profile: str | None = None):
        if not chapter or not isinstance(chapter, str) or "/" in chapter:
            raise ValueError(f"chapter must be a short name without '/', got {chapter!r}.")
        self.chapter = chapter
        self.profile = profile or active_profile()
        self.rows: list[Row] = []

    def record(self, claim: str, *, published, ours, passed: bool, source: str = "") -> None:
        """Add one row; ``passed`` is the verdict of comparing ``ours`` to ``published``;
        ``source`` names the data or weights behind ``ours`` where it is not the paper's."""
        if not isinstance(passed, (bool, np.bool_)):
            raise ValueError(f"passed must be True or False, got {passed!r}.")
        self.rows.append(Row(self.chapter, str(claim), str(published), str(ours), self.profile,
                             "pass" if passed else "fail", str(source)))

    def save(self, folder=None) -> Path:
        """Write the rows to ``<folder>/<chapter>.json``, replacing earlier rows of this
        profile and keeping those of other profiles."""
        if not self.rows:
            raise ValueError("the report card has no rows: record at least one before saving.")
        folder = Path(folder) if folder is not None else reportcard_dir()
        path = folder / f"{self.chapter}.json"
        old = load_rows(path) if path.exists() else []
        rows = [r for r in old if r.profile != self.profile] + self.rows
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps([asdict(r) for r in rows], indent=1, ensure_ascii=False) + "\n")
        os.replace(tmp, path)
        return path

    def _repr_html_(self):
        return rows_html(self.rows)

    def __repr__(self):
        return "\n".join(f"[{r.verdict}] {r.claim}: published {r.published}; ours {r.ours} ({r.profile})"
                         for r in self.rows)


def glue(name: str, value, display: bool = False):
    """Make ``value`` quotable in the page's prose as ``{glue:text}`name```; where
    myst-nb is not installed (Colab) this does nothing and returns ``value``."""
    try:
        from myst_nb import glue as _glue
    except ImportError:
        return value
    _glue(name, value, display=display)
    return value


def load_rows(path) -> list[Row]:
    """Rows of one report-card file."""
    try:
        return [Row(**r) for r in json.loads(Path(path).read_text())]
    except (ValueError, TypeError) as err:
        raise ValueError(f"{path} is not a report-card file ({err}): delete it and rerun its chapter.") from err


def rows_html(rows) -> str:
    """An HTML table of report-card rows (used by the notebook display)."""
    cols = ("chapter", "claim", "published", "ours", "source", "profile", "verdict")
    head = "".join(f"<th>{c}</th>" for c in cols)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(getattr(r, c))}</td>" for c in cols[:-1])
        + f'<td style="color:{"green" if r.verdict == "pass" else "crimson"};font-weight:bold">{r.verdict}</td></tr>'
        for r in rows)
    return f'<table class="reportcard"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'

"""Report cards: each claim of a paper, its pass rule, our value, the null's and a verdict, as data.

Each chapter records its rows to ``reportcards/<chapter>.json`` when it executes; the
intro page renders the index of all of them. Rows are kept per profile, so a ``smoke``
run never overwrites what the ``book`` profile found.

Four verdicts, of which only the first two are findings about the paper:

- ``reproduced``: the rule (from :mod:`topohelpers.rules`, fixed before the number) holds on
  our value and not on the null (the same measurement on random filters of the same size);
- ``not reproduced``: at the paper's scale, data and weights, the rule fails, or it holds on
  the null too (then it cannot tell the claim from noise);
- ``not comparable``: the run differs from the paper's in scale, data (a stand-in), weights
  or method — the reason is on the row, and so is what the rule said;
- ``not run``: nothing was measured (e.g. no offline copy of the weights), with the reason.
"""

from __future__ import annotations

import html
import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

from .profile import PROFILES
from .profile import profile as active_profile
from .rules import UNLIKE, Rule

ENV_VAR = "TOPO_REPORTCARDS"
VERDICTS = ("reproduced", "not reproduced", "not comparable", "not run")
FINDINGS = VERDICTS[:2]
COLOURS = {
    "reproduced": "#1a7f37",
    "not reproduced": "#cf222e",
    "not comparable": "#9a6700",
    "not run": "#57606a",
}


@dataclass(frozen=True)
class NotRun:
    """The value of a claim that was not measured, and why (``ours=NotRun("no offline VGG19")``)."""

    reason: str


@dataclass(frozen=True)
class Row:
    chapter: str
    claim: str
    published: str
    rule: str  # the pass rule, in words
    ours: str
    null: str  # the same measurement on the null
    profile: str
    verdict: str  # one of VERDICTS
    reason: str = ""  # why not comparable / not run / not reproduced
    rule_holds: bool | None = None  # what the rule said on ours (also for not comparable rows)
    null_holds: bool | None = None
    source: str = ""  # which data or weights produced "ours" (stand-ins are named here)
    variant: str = ""  # "" for the paper's method; else the label of the book's variant


def show(value) -> str:
    """A short text of a rule's value: the longest lifetimes of a persistence result, the
    counts of a cover sweep, a number to three digits."""
    if isinstance(value, NotRun):
        return "—"
    if hasattr(value, "lifetimes"):
        lt = [x for x in value.lifetimes[1] if np.isfinite(x)][:4]
        return (
            "H1 "
            + ", ".join(f"{x:.2f}" for x in lt)
            + (" …" if len(value.lifetimes[1]) > 4 else "")
        )
    if hasattr(value, "loops") and hasattr(value, "components"):
        return f"loops {list(map(int, value.loops))}, components {list(map(int, value.components))}"
    if isinstance(value, (float, np.floating)):
        return f"{value:.3g}"
    if isinstance(value, tuple) and len(value) == 2 and all(np.ndim(v) == 0 for v in value):
        return f"{show(value[0])}, p = {float(value[1]):.2g}"
    arr = np.asarray(value, dtype=object)
    if arr.ndim >= 1 and arr.size > 8:
        return f"{arr.size} values"
    return str(value)


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


SHIPPED = "paper (shipped weights)"
"""The profile of rows measured on networks trained at the paper's scale and shipped with the
book."""


class ReportCard:
    """Collect a chapter's rows, show them as a table, and save them.

    Examples
    --------
    >>> from topohelpers.rules import Bars
    >>> card = ReportCard("ch01", profile="smoke")
    >>> card.record("one long H1 bar", rule=Bars(count=1), published="1 bar",
    ...             ours=[1.3, 0.2], null=[0.3, 0.25])
    >>> card.rows[0].verdict
    'reproduced'
    >>> card.record("the same at a tenth of the scale", rule=Bars(count=1), published="1 bar",
    ...             ours=[0.3], null=[0.3, 0.25],
    ...             unlike_paper={"scale": "10 networks (paper 100)"})
    >>> card.rows[1].verdict, card.rows[1].rule_holds
    ('not comparable', False)
    """

    def __init__(self, chapter: str, *, profile: str | None = None):
        if not chapter or not isinstance(chapter, str) or "/" in chapter:
            raise ValueError(f"chapter must be a short name without '/', got {chapter!r}.")
        if profile is not None and profile not in PROFILES + (SHIPPED,):
            raise ValueError(
                f"profile must be one of {PROFILES + (SHIPPED,)} (or None: the active profile), "
                f"got {profile!r}."
            )
        self.chapter = chapter
        self.profile = profile or active_profile()
        self.rows: list[Row] = []

    def record(
        self,
        claim: str,
        *,
        rule: Rule,
        published,
        ours,
        null=None,
        null_note: str = "",
        unlike_paper: dict | None = None,
        source: str = "",
        variant: str = "",
        ours_text: str | None = None,
        null_text: str | None = None,
    ) -> None:
        """Judge one claim and add its row.

        ``rule`` is a :class:`~topohelpers.rules.Rule`; ``ours`` the value it reads (or
        :class:`NotRun`); ``null`` the same measurement where the claim is false (random
        filters of the same size, chance accuracy, ...) — or ``None`` with ``null_note``
        saying why no null applies. ``unlike_paper`` maps each way this run differs from the
        paper's (keys in :data:`topohelpers.rules.UNLIKE`: scale, stand-in data, other
        weights, other method) to the difference in words; any entry makes the row *not
        comparable*. ``variant`` labels a row that uses the book's variant rather than the
        paper's method (it is then also not comparable: give
        ``unlike_paper={"other method": ...}``). ``ours_text``/``null_text`` replace the default
        short text of the values. The row is appended to ``rows``.
        """
        if not (
            callable(getattr(rule, "holds", None)) and isinstance(getattr(rule, "text", None), str)
        ):
            raise ValueError(
                f"rule must be a topohelpers.rules.Rule (e.g. Bars(count=1)), got {rule!r}."
            )
        unlike = dict(unlike_paper or {})
        bad = [k for k in unlike if k not in UNLIKE]
        if bad:
            raise ValueError(f"unlike_paper keys must be among {UNLIKE}, got {bad}.")
        unlike = {k: str(v) for k, v in unlike.items() if v}
        if variant and "other method" not in unlike:
            raise ValueError(
                f"variant {variant!r} differs from the paper's method: "
                "say how in unlike_paper={'other method': ...}."
            )
        if null is None and not null_note and not isinstance(ours, NotRun):
            raise ValueError(
                "give null= (the measurement where the claim is false) or null_note= "
                "saying why this claim has no null."
            )
        holds = null_holds = None
        if isinstance(ours, NotRun):
            verdict, reason = "not run", ours.reason
        else:
            holds = rule.holds(ours)
            null_holds = rule.holds(null) if null is not None else None
            if unlike:
                verdict, reason = (
                    "not comparable",
                    "; ".join(f"{k}: {v}" for k, v in unlike.items()),
                )
            elif holds and not null_holds:
                verdict, reason = "reproduced", ""
            else:
                verdict = "not reproduced"
                reason = (
                    "the rule fails"
                    if not holds
                    else "the rule also holds on the null, so it cannot tell the claim from noise"
                )
        row = Row(
            self.chapter,
            str(claim),
            str(published),
            rule.text,
            ours_text if ours_text is not None else show(ours),
            null_text
            if null_text is not None
            else (show(null) if null is not None else f"— ({null_note})" if null_note else "—"),
            self.profile,
            verdict,
            reason,
            holds,
            null_holds,
            str(source),
            str(variant),
        )
        self.rows.append(row)

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
        return "\n".join(
            f"[{r.verdict}] {r.claim}: published {r.published}; ours {r.ours}; rule: {r.rule}"
            + (f" ({r.reason})" if r.reason else "")
            for r in self.rows
        )

    def counts(self) -> dict:
        """Rows per verdict."""
        return counts(self.rows)


def glue(name: str, value, display: bool = False):
    """Make ``value`` quotable in the page's prose as ``{glue:text}`name```; where
    myst-nb is not installed (Colab) this does nothing and returns ``value``."""
    try:
        from myst_nb import glue as _glue
    except ImportError:
        return value
    _glue(name, value, display=display)
    return value


def counts(rows) -> dict:
    """Number of rows per verdict, in the order of :data:`VERDICTS`."""
    return {v: sum(r.verdict == v for r in rows) for v in VERDICTS}


def load_rows(path) -> list[Row]:
    """Rows of one report-card file."""
    names = {f.name for f in fields(Row)}
    try:
        raw = json.loads(Path(path).read_text())
        rows = [Row(**r) for r in raw]
    except (ValueError, TypeError) as err:
        old = (
            " (it is in the old pass/fail format)"
            if "passed" in str(err) or "rule" in str(err)
            else ""
        )
        raise ValueError(
            f"{path} is not a report-card file{old}: {err}. Delete it and rerun its chapter."
        ) from err
    bad = [r.verdict for r in rows if r.verdict not in VERDICTS]
    if bad or any(set(r) - names for r in raw):
        raise ValueError(
            f"{path} has verdicts {sorted(set(bad))} outside {VERDICTS}: "
            "delete it and rerun its chapter."
        )
    return rows


def rows_html(rows) -> str:
    """An HTML table of report-card rows (used by the notebook display): the verdict first, so
    that it stays in view when the table scrolls on a narrow screen."""
    cols = ("claim", "published", "ours", "null", "rule", "source")
    pad = "padding:0.3em 0.5em;vertical-align:top;text-align:left;border-bottom:1px solid #ddd"
    head = "".join(f'<th style="{pad}">{c}</th>' for c in ("verdict", *cols))
    body = "".join(
        "<tr>"
        + f'<td style="{pad};color:{COLOURS[r.verdict]};min-width:8em"><b>{r.verdict}</b>'
        + (f"<br><small>{html.escape(r.reason)}</small>" if r.reason else "")
        + (
            ""
            if r.rule_holds is None or r.verdict != "not comparable"
            else f"<br><small>at this scale the rule {'holds' if r.rule_holds else 'fails'}</small>"
        )
        + (f"<br><small>extra: {html.escape(r.variant)}</small>" if r.variant else "")
        + "</td>"
        + "".join(f'<td style="{pad}">{html.escape(getattr(r, c))}</td>' for c in cols)
        + "</tr>"
        for r in rows
    )
    return (
        '<div style="overflow-x:auto;max-width:100%"><table class="reportcard" '
        'style="border-collapse:collapse;font-size:0.85em">'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
    )

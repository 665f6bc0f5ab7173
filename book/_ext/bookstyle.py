"""Sphinx extension: small fixes of how the site reads.

- The bibliography is labelled author–year ("Carlsson et al., 2008"), like the citations in the
  text, not with alpha labels ("[CldSZ08]"); entries are sorted by author and year, and arXiv
  ids (``eprint``) are links (the ``authoryear`` style, set as ``bibtex_default_style``).
- A script that a page would load twice with the same inline body is loaded once: sphinx-thebe's
  configuration is registered twice under jupyter-book, and its second ``const THEBE_JS_URL``
  is a SyntaxError in every page's console.
"""

from __future__ import annotations

from pybtex.plugin import register_plugin
from pybtex.richtext import Text
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle


class AuthorYearLabels(BaseLabelStyle):
    def format_labels(self, sorted_entries):
        for entry in sorted_entries:
            people = entry.persons.get("author") or entry.persons.get("editor") or []
            last = [Text.from_latex(" ".join(p.last_names)).render_as("text") for p in people]
            if not last:
                names = entry.key
            elif len(last) == 1:
                names = last[0]
            elif len(last) == 2:
                names = f"{last[0]} and {last[1]}"
            else:
                names = f"{last[0]} et al."
            yield f"{names}, {entry.fields.get('year', 'n.d.')}"


class AuthorYearStyle(UnsrtStyle):
    default_label_style = AuthorYearLabels
    default_sorting_style = "author_year_title"


def _dedupe_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, kept = set(), []
    for js in scripts:
        # the same script registered twice may have filename None once and "" the other time
        attributes = getattr(js, "attributes", {})
        key = (getattr(js, "filename", str(js)) or None, tuple(sorted(attributes.items())))
        if key not in seen:
            seen.add(key)
            kept.append(js)
    context["script_files"] = kept


def setup(app):
    register_plugin("pybtex.style.formatting", "authoryear", AuthorYearStyle, force=True)
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}

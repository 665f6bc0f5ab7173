"""After a site build: every page of _toc.yml exists as HTML, and the intro shows the
report-card index. Usage: python scripts/check_site.py _build/smoke/_build/html"""

import re
import sys
from pathlib import Path

import yaml

root = Path(__file__).resolve().parents[1]
html = Path(sys.argv[1])
toc = yaml.safe_load((root / "_toc.yml").read_text())
files = [toc["root"]] + [
    c["file"] for part in toc.get("parts", []) for c in part.get("chapters", [])
]
missing = [f for f in files if not (html / f"{f}.html").exists()]
if missing:
    sys.exit(f"missing pages in {html}: {missing}")
intro = (html / f"{toc['root']}.html").read_text()
if "reportcard-index" not in intro:
    sys.exit("the intro page does not show the report-card index")
if "reportcard-counts" not in intro or not all(
    v in intro for v in ("reproduced", "not comparable", "not run")
):
    sys.exit("the intro page does not count the verdicts per chapter")
for f in files:
    if f.startswith("notebooks/"):
        page = (html / f"{f}.html").read_text()
        if f"{Path(f).name}" not in intro:
            sys.exit(f"the report-card index has no row of {f}")
        if not re.search(r"<img[^>]+(data:image/png|_images/)", page):
            sys.exit(f"{f}.html shows no figure")
print(f"site ok: {len(files)} pages, report-card index present")

"""The documentation holds together: every relative link of README.md, docs/ and the chart's
READMEs leads to a file that exists and, with an anchor, to a heading of that file; and the
README stays a short front door whose quick start is the two commands."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted(
    [ROOT / "README.md", *(ROOT / "docs").glob("*.md"), *(ROOT / "deploy/helm").rglob("README.md")]
)
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$", re.MULTILINE)
HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", re.MULTILINE)
HTML_ANCHOR = re.compile(r"<a\s[^>]*(?:name|id)=\"([^\"]+)\"", re.IGNORECASE)


def prose(text: str) -> str:
    """The text links are read from: code blocks and inline code show links, they hold none."""
    return INLINE_CODE.sub("", FENCE.sub("", text))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation but '-' and '_' dropped, each
    space a '-'."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link shows its text
    text = re.sub(r"<[^>]+>", "", text).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    found: set[str] = set(HTML_ANCHOR.findall(text))
    seen: dict[str, int] = {}
    for heading in HEADING.findall(text):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def links(page: Path) -> list[str]:
    text = prose(page.read_text(encoding="utf-8"))
    return LINK.findall(text) + REFERENCE.findall(text)


def problems(page: Path) -> list[str]:
    found = []
    for target in links(page):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):  # http:, mailto:, ...
            continue
        path_part, _, anchor = target.partition("#")
        destination = (page.parent / unquote(path_part)).resolve() if path_part else page
        if not destination.exists():
            found.append(f"{target}: no such file")
        elif anchor and destination.suffix == ".md" and unquote(anchor) not in anchors(destination):
            where = (
                destination.relative_to(page.parent)
                if destination.is_relative_to(page.parent)
                else destination
            )
            found.append(f"{target}: no such heading in {where}")
    return found


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_every_relative_link_leads_to_a_file_and_heading(page: Path) -> None:
    assert links(page), "no links found: the link pattern no longer reads this page"
    assert problems(page) == []


def test_a_broken_link_and_a_missing_heading_are_found(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Other page\n\n## From LDAP / Active Directory\n")
    page = tmp_path / "page.md"
    page.write_text(
        "# Page\n\n## Exit codes\n\n"
        "[fine](other.md#from-ldap--active-directory) [here](#exit-codes)\n"
        "[gone](missing.md) [wrong](other.md#from-ldap) [lost](#no-such-part)\n"
        "```md\n[in code](missing-too.md)\n```\n"
    )
    assert problems(page) == [
        "missing.md: no such file",
        "other.md#from-ldap: no such heading in other.md",
        "#no-such-part: no such heading in page.md",
    ]


def test_slugs_follow_github() -> None:
    assert slug("`make bench`: speed and memory") == "make-bench-speed-and-memory"
    assert slug("1. Build and push the image") == "1-build-and-push-the-image"
    assert slug("After the demo: run it yourself") == "after-the-demo-run-it-yourself"
    assert slug("Kollegastøtte i [Helse](x.md)") == "kollegastøtte-i-helse"


def test_the_readme_is_a_short_front_door() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) < 300
    quick_start = text.split("\n## Quick start\n", 1)[1].split("\n## ", 1)[0]
    assert re.findall(r"```(\w*)\n(.*?)```", quick_start, re.DOTALL) == [
        ("sh", "make demo\nmake test\n")
    ]

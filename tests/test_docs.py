"""The front door: the README's set-up commands, and docs whose links and pictures resolve."""

from __future__ import annotations

import re
from pathlib import Path

from .helpers import REPO

PAGES = [REPO / "README.md", REPO / "ARCHITECTURE.md", REPO / "CHANGELOG.md",
         *sorted((REPO / "docs").glob("*.md"))]
INSTALL_AND_RUN = 'python3 -m pip install -e . && charrnn-tui'
INSTALL_AND_TEST = 'python3 -m pip install -e ".[test]" && python3 -m pytest'
LINK = re.compile(r"\]\(([^)\s]+)\)")


def anchors(page: Path) -> set[str]:
    """GitHub's anchors of a page's headings: lower case, punctuation dropped, spaces to -."""
    headings = re.findall(r"^#+ (.+)$", page.read_text(encoding="utf-8"), re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def test_the_readme_keeps_the_two_set_up_commands():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    lines = [line.split("#")[0].strip() for line in readme.splitlines()]
    assert INSTALL_AND_RUN in lines and INSTALL_AND_TEST in lines
    assert (REPO / ".ci" / "run").read_text(encoding="utf-8").rstrip().endswith(
        INSTALL_AND_TEST)


def test_every_relative_link_and_picture_resolves():
    broken = []
    for page in PAGES:
        for target in LINK.findall(page.read_text(encoding="utf-8")):
            if re.match(r"[a-z]+:", target):
                continue  # a web address
            path, _, anchor = target.partition("#")
            file = (page.parent / path).resolve() if path else page
            if not file.is_file() or (anchor and anchor not in anchors(file)):
                broken.append(f"{page.relative_to(REPO)}: {target}")
    assert not broken, broken


def test_every_picture_is_shown_in_the_docs():
    text = "".join(page.read_text(encoding="utf-8") for page in PAGES)
    unused = [p.name for p in sorted((REPO / "docs" / "images").glob("*.svg"))
              if f"images/{p.name}" not in text]
    assert not unused, f"pictures no page shows: {unused}"


def test_the_readme_opens_with_the_app():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    first = readme.split("\n## ", 1)[0]
    assert "](docs/images/main.svg)" in first

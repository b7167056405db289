"""Release hygiene that needs no build: license, metadata, changelog, an index-safe README.

Building and installing the artifacts is `make dist-check` (tools/check_release.py), run by CI.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser, from PyPI
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def test_license_file_is_the_apache_2_text_and_is_packaged():
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License\n                           Version 2.0, January 2004" in text
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in text
    assert "END OF TERMS AND CONDITIONS" in text
    assert len(text.splitlines()) == 202
    assert PYPROJECT["license"] == "Apache-2.0"
    assert PYPROJECT["license-files"] == ["LICENSE"]


def test_metadata_for_an_index_page():
    assert PYPROJECT["authors"] and all(a.get("name") for a in PYPROJECT["authors"])
    assert {"pulumi", "foas", "flink"} <= set(PYPROJECT["keywords"])
    classifiers = PYPROJECT["classifiers"]
    assert "Typing :: Typed" in classifiers
    assert not [c for c in classifiers if c.startswith("License ::")]  # PEP 639: the expression only
    versioned = re.compile(r"Programming Language :: Python :: 3\.\d+")
    python = {c.rsplit(" ", 1)[1] for c in classifiers if versioned.fullmatch(c)}
    assert min(python, key=lambda v: tuple(map(int, v.split(".")))) == PYPROJECT["requires-python"][2:]
    assert PYPROJECT["urls"] and all(u.startswith("https://") for u in PYPROJECT["urls"].values())


def test_readme_has_only_absolute_links():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)\s]+)", readme) + re.findall(r"^\s*\[[^\]]+\]:\s*(\S+)", readme, re.M)
    assert targets, "the pattern finds the README's links"
    assert [t for t in targets if not t.startswith("https://")] == []
    # The files the README names instead of linking exist in the source tree.
    for path in re.findall(r"`((?:docs|examples)/[\w./-]+|CHANGELOG\.md|CONTRIBUTING\.md)`", readme):
        assert (ROOT / path).exists(), path


def test_changelog_has_an_entry_for_this_version():
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert re.search(rf"^## \[{re.escape(PYPROJECT['version'])}\]", changelog, re.M)


def test_sdist_manifest_ships_what_the_tests_need():
    lines = [line.split() for line in (ROOT / "MANIFEST.in").read_text(encoding="utf-8").splitlines()]
    grafted = {words[1] for words in lines if words[:1] == ["graft"]}
    assert {"tests", "docs", "examples"} <= grafted
    assert next(w for w in lines if w[:1] == ["include"])[:2] == ["include", "LICENSE"]


def test_install_lines_name_this_version():
    """The README's install line and the examples' outside-a-checkout hint follow the version."""
    requirement = f"pulumi-foas-refjobs=={PYPROJECT['version']}"
    assert f"pip install {requirement}" in (ROOT / "README.md").read_text(encoding="utf-8")
    for path in sorted((ROOT / "examples").glob("*/requirements.txt")):
        text = path.read_text(encoding="utf-8")
        assert "../.." in text.splitlines() and requirement in text, path

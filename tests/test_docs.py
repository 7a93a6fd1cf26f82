"""The documentation site (mkdocs.yml, docs/): it builds with --strict, in English and Korean.

The strict build fails on any warning: a broken link, an unresolved cross-reference into the
API reference, a page missing from the nav, or a docstring that the NumPy-style parser cannot
read (prose after a ``Parameters`` section belongs under ``Notes``).
"""

from __future__ import annotations

import html
import importlib.util
import os
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import need

import dlscratch.lessons

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
CONFIG = ROOT / "mkdocs.yml"
HANGUL = re.compile(r"[\uac00-\ud7a3]")
PLUGINS = {  # import name -> what to install
    "mkdocs": "mkdocs",
    "material": "mkdocs-material",
    "mkdocstrings": "mkdocstrings[python]",
    "mkdocstrings_handlers.python": "mkdocstrings-python",
    "mkdocs_static_i18n": "mkdocs-static-i18n",
}
INSTALL = "pip install mkdocs mkdocs-material 'mkdocstrings[python]' mkdocs-static-i18n"


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:  # a parent package is missing
        return False


def _doc_sources() -> list[Path]:
    return sorted(DOCS.rglob("*.md")) + [ROOT / "README.md", ROOT / "README.ko.md"]


def _nav_pages() -> list[str]:
    """The English page paths named in mkdocs.yml's nav (``- Title: path.md`` or ``- path.md``)."""
    text = CONFIG.read_text(encoding="utf-8")
    nav = text[text.index("\nnav:"):]
    return re.findall(r"^\s*-\s+(?:[^\n]*?:\s+)?([\w./-]+\.md)\s*$", nav, flags=re.M)


def _built(page: str) -> Path:
    """Where mkdocs writes a page (use_directory_urls): cli.md -> cli/index.html."""
    p = Path(page)
    return p.with_suffix(".html") if p.stem == "index" else p.with_suffix("") / "index.html"


def _headings(page: Path) -> list[str]:
    """The text of the h1-h3 headings of a built HTML page, tags and permalinks removed."""
    text = page.read_text(encoding="utf-8")
    found = re.findall(r"<h([1-3])[^>]*>(.*?)</h\1>", text, flags=re.S)
    return [html.unescape(re.sub(r"<[^>]+>", "", inner)).replace("¶", "").strip()
            for _, inner in found]


# ------------------------------------------------------------------ sources (no mkdocs needed)
def test_every_page_has_english_and_korean_versions():
    pages = _nav_pages()
    assert len(pages) >= 20, f"the nav names only {pages}"
    for page in pages:
        en = DOCS / page
        ko = en.with_name(en.stem + ".ko.md")
        assert en.is_file(), f"mkdocs.yml's nav names {page}, which is not in docs/"
        assert ko.is_file(), f"{page} has no Korean version {ko.relative_to(ROOT)}"
        assert HANGUL.search(ko.read_text(encoding="utf-8")), f"{ko.name} has no Korean text"
    stray = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")
             if not p.name.endswith(".ko.md")} - set(pages)
    assert not stray, f"pages not in mkdocs.yml's nav: {sorted(stray)}"


def test_every_lecture_note_has_its_page():
    names = {p.name for p in (DOCS / "lectures").glob("*.md")}
    for n in range(5):
        assert any(name.startswith(f"{n:03d}-") and not name.endswith(".ko.md")
                   for name in names), f"no docs/lectures/{n:03d}-*.md page for lecture {n:03d}"


def test_lesson_modules_named_in_the_docs_exist_and_every_lesson_is_documented():
    modules = {m.name for m in pkgutil.iter_modules(dlscratch.lessons.__path__)}
    lessons = {name for name in modules if not name.startswith("_")}  # _common, _notebooks: tools
    assert {"seed000_neural_network", "seed004_xor", "transfer_learning"} <= lessons
    named: dict[str, set[str]] = {}
    for path in _doc_sources():
        text = path.read_text(encoding="utf-8")
        found = set(re.findall(r"dlscratch\.lessons\.(\w+)", text))
        found |= set(re.findall(r"`(seed\d{3}_\w+|transfer_learning|torch_side_by_side)`", text))
        for name in found:
            named.setdefault(name, set()).add(path.relative_to(ROOT).as_posix())
    unknown = {name: sorted(where) for name, where in named.items() if name not in modules}
    assert not unknown, f"the docs name lesson modules that dlscratch.lessons lacks: {unknown}"
    undocumented = sorted(lessons - set(named))
    assert not undocumented, f"lessons the docs never mention: {undocumented}"


def test_readme_ko_has_the_two_setup_commands_first():
    en = (ROOT / "README.md").read_text(encoding="utf-8")
    ko = (ROOT / "README.ko.md").read_text(encoding="utf-8")
    commands = ["pip install . && dlscratch train",
                'pip install -e ".[test]" && ruff check . && python -m pytest -q']
    for cmd in commands:
        assert cmd in en, f"README.md no longer has {cmd!r}: update README.ko.md with it"
        assert cmd in ko, f"README.ko.md lacks {cmd!r}"
    first_block = ko[ko.index("```bash"):ko.index("```", ko.index("```bash") + 3)]
    assert all(cmd in first_block for cmd in commands), "the set-up commands must come first"
    assert ko.count("\n## ") >= en.count("\n## "), "README.ko.md lost sections of README.md"
    assert HANGUL.search(ko)


# ------------------------------------------------------------------ the strict build
@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    missing = [pip for mod, pip in PLUGINS.items() if not _installed(mod)]
    need(not missing, f"the docs build needs {', '.join(missing)}: {INSTALL}")
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    r = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(CONFIG), "-d", str(out)],
        cwd=ROOT, capture_output=True, text=True, env=env, timeout=600)
    warnings = [line for line in (r.stdout + r.stderr).splitlines()
                if "WARNING" in line or "ERROR" in line]
    assert r.returncode == 0, ("mkdocs build --strict failed:\n" + "\n".join(warnings)
                               + "\n" + r.stderr[-3000:])
    return out


def test_strict_build_has_both_languages(site):
    en, ko = site / "index.html", site / "ko" / "index.html"
    assert en.is_file() and ko.is_file()
    assert '<html lang="en"' in en.read_text(encoding="utf-8")
    assert '<html lang="ko"' in ko.read_text(encoding="utf-8")
    en_heads, ko_heads = _headings(en), _headings(ko)
    assert "Start here" in en_heads, en_heads
    assert "여기서 시작하세요" in ko_heads, ko_heads
    assert not any(HANGUL.search(h) for h in en_heads), f"Korean in English headings: {en_heads}"
    for page in _nav_pages():
        built = _built(page)
        assert (site / built).is_file(), f"{page} was not built as {built}"
        assert (site / "ko" / built).is_file(), f"{page} was not built as ko/{built}"
        if page.startswith("api/") and page != "api/index.md":
            continue  # an API page's headings are the module's and objects' names
        ko_heads = _headings(site / "ko" / built)
        assert any(HANGUL.search(h) for h in ko_heads), f"ko/{built}: no Korean heading {ko_heads}"


def test_api_reference_is_rendered_from_the_docstrings(site):
    page = (site / "api" / "functions" / "index.html").read_text(encoding="utf-8")
    assert 'id="dlscratch.functions.softmax"' in page
    lecture = (site / "ko" / "lectures" / "000-neural-network" / "index.html").read_text(
        encoding="utf-8")
    # cross-references from a lecture page resolve to the API page of the same language
    assert "../../api/functions/#dlscratch.functions.sigmoid" in lecture

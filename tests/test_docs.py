"""The project is self-contained and its docs are true to the tree.

- No file names a document outside the repository (the design references that were
  never part of it), a path of a developer's machine or the shared folder next to it.
- Every relative link in README.md and docs/ points at a file (and heading) that exists.
- Every path of a source file, and every ``hil.*`` module, that the docs mention exists.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import subprocess
from functools import cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

#: Documents that live outside the repository; naming one is allowed only if the
#: repository has a file of that name under docs/ (then it is that file).
OUTSIDE_DOCUMENTS = ("ARCHITECTURE" + ".md", "STYLE" + ".md", "REFERENCE" + ".md")
#: An absolute path of a machine (a top-level work, root or home folder) or the shared
#: folder beside the checkout. A path inside a URL or a word is not one.
MACHINE_PATH = re.compile(r"(?<![\w.~/-])/(?:work|root|home)/|\.\./shared\b")
#: Directories that are never part of the repository, for a tree without git.
UNTRACKED = {".git", ".venv", "venv", ".tox", "reports", "build", "dist", "__pycache__",
             ".hypothesis", ".pytest_cache"}

MARKDOWN_LINK = re.compile(r"(?<!!)\[[^\]\n]*\]\(([^)\s]+)\)")
SOURCE_PATH = re.compile(
    r"(?<![\w./-])((?:hil|plants|controllers|tests|benchmarks|scripts)/[\w/.-]*?\.py)\b")
DOC_PATH = re.compile(r"(?<![\w./-])(docs/[\w/.-]*?\.md)\b")
MODULE = re.compile(r"(?<![\w.])(hil(?:\.\w+)+)")


@cache
def tracked_files() -> tuple[Path, ...]:
    """The repository's files: git's list where this is a checkout, else the tree."""
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True,
                             check=True).stdout.decode()
        files = [REPO / name for name in out.split("\0") if name]
    except (OSError, subprocess.CalledProcessError):
        files = [p for p in REPO.rglob("*")
                 if p.is_file() and not UNTRACKED & set(p.relative_to(REPO).parts)
                 and not any(part.endswith(".egg-info") for part in p.parts)]
    return tuple(sorted(p for p in files if p.is_file()))


def text_of(path: Path) -> str | None:
    data = path.read_bytes()
    if b"\0" in data[:8192]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def text_files() -> list[tuple[Path, str]]:
    return [(p, t) for p in tracked_files() if (t := text_of(p)) is not None]


def markdown_docs() -> list[Path]:
    return [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md")),
            *sorted((REPO / "benchmarks").glob("*.md"))]


def where(path: Path, text: str, index: int) -> str:
    return f"{path.relative_to(REPO)}:{text.count(chr(10), 0, index) + 1}"


# -- self-contained -------------------------------------------------------------------------


def test_the_tree_is_seen():
    names = {p.relative_to(REPO).as_posix() for p in tracked_files()}
    assert {"README.md", "pyproject.toml", "hil/nodes/ecu.py", "docs/architecture.md",
            "tests/test_docs.py"} <= names


def test_no_file_names_a_document_outside_the_repository():
    in_docs = {p.name for p in tracked_files() if "docs" in p.relative_to(REPO).parts}
    offences = [f"{where(path, text, m.start())}: names {m.group(0)}, which is not in docs/"
                for path, text in text_files()
                for name in OUTSIDE_DOCUMENTS if name not in in_docs
                for m in re.finditer(re.escape(name), text)]
    assert not offences, "\n".join(offences)


def test_no_file_names_a_machine_path():
    offences = [f"{where(path, text, m.start())}: {text[m.start():m.start() + 40].split()[0]}"
                for path, text in text_files() for m in MACHINE_PATH.finditer(text)]
    assert not offences, "\n".join(offences)


@pytest.mark.parametrize(("line", "bad"), [
    ("run {s}work{s}venv/bin/python x.py", True),
    ("cd {s}root{s}ntec && make", True),
    ("see {s}home{s}dev/notes", True),
    ("see ..{s}shared{s}notes.md", True),
    ("https://example.com{s}home{s}page and .{s}work{s}x and ~{s}work{s}y", False),
    (".venv/bin/python benchmarks/bench_sil.py", False),
])
def test_the_machine_path_pattern(line, bad):
    # Spelt with {s} so that this file does not name the paths it tests for.
    assert bool(MACHINE_PATH.search(line.format(s="/"))) is bad


# -- docs true to the tree --------------------------------------------------------------------


def heading_anchors(path: Path) -> set[str]:
    """GitHub's anchors of a markdown file's headings."""
    anchors = set()
    in_code = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code and (m := re.match(r"#{1,6}\s+(.*)", line)):
            slug = re.sub(r"[^\w\- ]", "", m.group(1).strip().lower()).replace(" ", "-")
            anchors.add(slug)
    return anchors


def links(path: Path) -> list[tuple[int, str]]:
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"```.*?```", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    return [(text.count("\n", 0, m.start()) + 1, m.group(1))
            for m in MARKDOWN_LINK.finditer(text)]


def test_every_relative_link_points_at_a_file_that_exists():
    offences = []
    for doc in markdown_docs():
        for line, target in links(doc):
            if re.match(r"[a-z][a-z0-9+.-]*:", target):      # https:, mailto: ...
                continue
            file_part, _, anchor = target.partition("#")
            dest = (doc.parent / file_part).resolve() if file_part else doc
            here = f"{doc.relative_to(REPO)}:{line}: {target}"
            if not dest.exists():
                offences.append(f"{here}: no such file")
            elif anchor and dest.suffix == ".md" and anchor not in heading_anchors(dest):
                offences.append(f"{here}: no heading #{anchor}")
    assert not offences, "\n".join(offences)


def test_every_source_path_the_docs_mention_exists():
    offences = [f"{where(doc, text, m.start())}: {m.group(1)}"
                for doc in markdown_docs() for text in [doc.read_text(encoding="utf-8")]
                for m in SOURCE_PATH.finditer(text) if not (REPO / m.group(1)).is_file()]
    assert not offences, "\n".join(offences)


def test_every_doc_the_code_mentions_exists():
    offences = [f"{where(path, text, m.start())}: {m.group(1)}"
                for path, text in text_files() if path.suffix in (".py", ".toml", ".yaml")
                for m in DOC_PATH.finditer(text) if not (REPO / m.group(1)).is_file()]
    assert not offences, "\n".join(offences)


def resolves(dotted: str) -> bool:
    """``hil.a.b.c``: the longest importable module, then attributes for the rest; or a
    method of the ``hil`` fixture of Python scenarios (``hil.step``, ``hil.expect``)."""
    from hil.run.pyscenario import PythonScenarios

    parts = dotted.split(".")
    if len(parts) == 2 and hasattr(PythonScenarios, parts[1]):
        return True
    for i in range(len(parts), 0, -1):
        name = ".".join(parts[:i])
        try:
            found = importlib.util.find_spec(name) is not None
        except ModuleNotFoundError:
            found = False
        if found:
            obj = importlib.import_module(name)
            for attr in parts[i:]:
                if not hasattr(obj, attr):
                    return False
                obj = getattr(obj, attr)
            return True
    return False


def test_every_hil_module_the_docs_mention_exists():
    # benchmarks/*.md quote the output of past runs verbatim, module names of then included.
    docs = [doc for doc in markdown_docs() if doc.parent.name != "benchmarks"]
    offences = [f"{where(doc, text, m.start())}: {m.group(1)}"
                for doc in docs for text in [doc.read_text(encoding="utf-8")]
                for m in MODULE.finditer(text) if not resolves(m.group(1))]
    assert not offences, "\n".join(offences)


def test_the_checks_catch_what_they_are_for(tmp_path):
    doc = tmp_path / "doc.md"
    doc.write_text("# Title\n\n[ok](#title) [gone](missing.md) [bad](#nothing)\n"
                   "```\n[in code](ignored.md)\n```\n`hil/nowhere.py` `hil.nowhere`\n")
    assert links(doc) == [(3, "#title"), (3, "missing.md"), (3, "#nothing")]
    assert heading_anchors(doc) == {"title"}
    assert SOURCE_PATH.findall(doc.read_text()) == ["hil/nowhere.py"]
    assert not resolves("hil.nowhere") and not resolves("hil.errors.Nowhere")
    assert resolves("hil.errors.HilError") and resolves("hil.nodes.adapters.attach_receiver")

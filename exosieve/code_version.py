"""Which code made an output: the hash of the package modules a stage runs.

A stage's code is the import closure of its entry modules inside the package (every
``import``/``from ... import`` of ``exosieve`` at any depth of a module, function-level ones
included; the top level of the packages' ``__init__`` files on the way, which is all that importing
them runs), found by reading the sources rather than listed by hand,
so a new helper module cannot be forgotten. The workflow passes each rule its stage's hash as a
parameter (Snakemake reruns a rule when a parameter changes, and keeps it in its metadata);
shards record their code's hash in the file (config.preprocessing_code_hash), and model files
the training code's (model_files.model_settings). Reading the closure over-approximates what runs (an import in a branch never taken
counts): a change may rerun a stage that did not need it, never the reverse.
"""

from __future__ import annotations

import ast
import bisect
import hashlib
import re
from pathlib import Path

PACKAGE = "exosieve"
PACKAGE_DIR = Path(__file__).resolve().parent


def _module_file(name: str, root: Path) -> Path | None:
    """The source file of package module ``name`` (dotted, starting with the package) under
    ``root`` (the package folder), or None when it is not one of the package's modules."""
    parts = name.split(".")
    if parts[0] != PACKAGE:
        return None
    base = root.joinpath(*parts[1:])
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _module_name(path: Path, root: Path) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = [p for p in rel.parts if p != "__init__"]
    return ".".join([PACKAGE, *parts])


# Parsed imports by (file, root, source text): the workflow hashes 14 scripts' closures, which
# share most modules; keyed by the text, so an edited file is parsed again.
_IMPORTS: dict[tuple[str, str, str], set[str]] = {}


def _imported(path: Path, root: Path) -> set[str]:
    """Package modules that the source at ``path`` imports, anywhere in it."""
    text = path.read_text()
    key = (str(path), str(root), text)
    if key not in _IMPORTS:
        _IMPORTS[key] = _parse_imports(path, root, text)
    return set(_IMPORTS[key])


# A line that may begin an import statement. The statements are read one by one rather than
# parsing the whole file: parsing every module of the package and walking its trees took a quarter
# of a second of each Snakemake start (the Snakefile hashes 14 closures) and of each job that
# records its code's hash.
_IMPORT_START = re.compile(r"^([ \t]*)(?:import|from)\b", re.M)
_IMPORT_WORD = re.compile(r"\bimport\b")
_KEYWORD = re.compile(r"\b(import|from)\b")
# What stands before an import statement that does not begin its line, on that line: a compound
# statement's colon or a semicolon (``try: import x``, ``a = 1; from . import b``), and before
# ``import`` perhaps its own ``from module``. Anything else (``raise E from e``, prose) is not one.
_STATEMENT_BEFORE = {"import": re.compile(r"[:;][ \t]*(?:from\b[\w. \t\\]*)?$"),
                     "from": re.compile(r"[:;][ \t]*$")}
_IMPORT_NODES = (ast.Import, ast.ImportFrom)


def _scanned_imports(text: str, top_level_only: bool) -> list | None:
    """The import statements in ``text`` (at any depth, or at the top level only), each parsed on
    its own; None when the scan cannot vouch for them, so that the caller parses the whole file: a
    line that begins with ``import``/``from`` and holds the word ``import`` but does not parse (a
    comment inside the parentheses), or an ``import``/``from`` outside those lines where a
    statement could begin (``try: import x``). A line of prose that begins so and parses as an
    import (a docstring's) adds a module: the closure can grow, never miss one."""
    nodes, spans = [], []
    for match in _IMPORT_START.finditer(text):
        end = text.find("\n", match.start())
        end = len(text) if end < 0 else end
        line = text[match.start():end]
        if "(" in line and ")" not in line:             # names in parentheses, over lines
            close = text.find(")", end)
            end = len(text) if close < 0 else close + 1
        while text[match.start():end].rstrip().endswith("\\"):   # a backslash continues the line
            nxt = text.find("\n", end + 1)
            end = len(text) if nxt < 0 else nxt
        candidate = text[match.start():end]
        try:
            statements = ast.parse(candidate.strip()).body
        except SyntaxError:
            if _IMPORT_WORD.search(candidate):
                return None
            continue                                    # prose: "from the archive ..."
        spans.append((match.start(), end))
        if not (top_level_only and match.group(1)):
            nodes += [n for n in statements if isinstance(n, _IMPORT_NODES)]
    starts = [a for a, _ in spans]
    for word in _KEYWORD.finditer(text):
        k = bisect.bisect_right(starts, word.start()) - 1
        if k >= 0 and word.start() < spans[k][1]:
            continue
        before = text[text.rfind("\n", 0, word.start()) + 1:word.start()]
        if _STATEMENT_BEFORE[word.group(1)].search(before):
            return None
    return nodes


def _statements(nodes):
    """Every statement in ``nodes``, nested ones included: an import is a statement, so the
    expressions (most of a tree's nodes) need not be walked."""
    for node in nodes:
        yield node
        for field in ("body", "orelse", "finalbody", "handlers", "cases"):
            children = getattr(node, field, None)
            if isinstance(children, list):
                yield from _statements(children)


def _import_statements(text: str, top_level_only: bool, filename: str = "<source>") -> list:
    """The import statements of a module's source, at any depth (or at its top level only)."""
    nodes = _scanned_imports(text, top_level_only)
    if nodes is None:
        body = ast.parse(text, filename).body
        nodes = [n for n in (body if top_level_only else _statements(body)) if isinstance(n, _IMPORT_NODES)]
    return nodes


def _parse_imports(path: Path, root: Path, text: str) -> set[str]:
    is_package = path.name == "__init__.py"
    here = _module_name(path, root).split(".") if path.is_relative_to(root) else [PACKAGE]
    package = here if is_package else here[:-1]
    found = set()
    # A package's __init__ runs only its top level on import; a module's functions may all run.
    for node in _import_statements(text, is_package, str(path)):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            # ``from .pkg import name``: name may be a submodule.
            found.update(f"{module}.{a.name}" for a in node.names)
    out = set()
    for name in found:
        parts = name.split(".")
        # Importing a.b.c runs a/__init__, a/b/__init__ and c.
        for k in range(1, len(parts) + 1):
            if _module_file(".".join(parts[:k]), root) is not None:
                out.add(".".join(parts[:k]))
    return out


def closure(entries, root: Path = PACKAGE_DIR) -> list[Path]:
    """The source files of the package modules that ``entries`` (module names, or paths of
    scripts outside the package) import, directly or not, themselves included; sorted."""
    root = Path(root)
    seen: dict[str, Path] = {}
    todo = []
    for entry in entries:
        if isinstance(entry, Path) or str(entry).endswith(".py"):
            todo += sorted(_imported(Path(entry), root))
        else:
            todo.append(entry)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        path = _module_file(name, root)
        if path is None:
            continue
        seen[name] = path
        todo += sorted(_imported(path, root) - set(seen))
    return sorted(seen.values())


def code_hash(*entries, root: str | Path = PACKAGE_DIR) -> str:
    """Hash of the sources of ``closure(entries)``: changes when any module a stage runs does.
    The sources are read afresh each time: a cached hash would miss an edit."""
    root = Path(root)
    digest = hashlib.sha256()
    for path in closure(entries, root):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]

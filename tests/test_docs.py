"""The documentation site (mkdocs.yml, docs/) builds with `mkdocs build --strict`: any warning fails
it, a link to a missing page or heading included; its configuration page lists every key of the
schema with the default exosieve.config fills in, and the shipped bundles' model cards are pages.
The commands the pages show are checked in tests/test_readme.py."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest

from exosieve.config import load
from helpers import REPO


def docs_hooks():
    """docs/hooks.py, the module mkdocs.yml names under `hooks:`."""
    spec = importlib.util.spec_from_file_location("exosieve_docs_hooks", REPO / "docs" / "hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def flatten(value, prefix=""):
    if isinstance(value, dict) and value:
        out = {}
        for key, sub in value.items():
            out.update(flatten(sub, f"{prefix}.{key}" if prefix else key))
        return out
    return {prefix: value}


def test_the_configuration_table_has_every_key_and_its_default():
    hooks = docs_hooks()
    from exosieve.config import schema
    full = schema()
    rows = {path: default for path, _type, default, _desc in
            hooks.schema_rows({"type": "object", "properties": full["properties"]}, full.get("$defs", {}))}
    assert len(rows) > 100
    defaults = flatten(load(check_paths=False))
    for path, value in defaults.items():
        # A free-form mapping (e.g. a CNN's towers) is one row; every other key is its own row.
        row = path if path in rows else next((p for p in rows if path.startswith(p + ".")), None)
        assert row is not None, f"{path} is in the loaded config but not in the configuration table"
        if row == path and rows[path]:
            assert rows[path] == hooks._value(value), (path, rows[path], value)
    page = (REPO / "docs" / "configuration.md").read_text()
    assert hooks.MARKER in page


def test_the_site_builds_strict(tmp_path):
    pytest.importorskip("mkdocs", reason="mkdocs is not installed (the test extra has it: pip install -e '.[test]')")
    pytest.importorskip("material", reason="mkdocs-material is not installed (the test extra has it)")
    site = tmp_path / "site"
    run = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file",
                          str(REPO / "mkdocs.yml"), "--site-dir", str(site)],
                         cwd=REPO, capture_output=True, text=True,
                         env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert "WARNING" not in output, output
    # The schema table was rendered in place of its marker, and the model cards are pages.
    config_page = (site / "configuration" / "index.html").read_text()
    assert "schema --&gt;" not in config_page and "<!-- schema -->" not in config_page
    assert "models.exominer.scalars" in config_page and "catalog.source" in config_page
    for card in (REPO / "exosieve" / "bundles").glob("*.md"):
        page = site / "bundles" / ("" if card.name == "README.md" else card.stem) / "index.html"
        assert page.exists(), card.name
    assert (site / "rulegraph.png").exists()

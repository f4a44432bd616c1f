"""Snakemake's conventions: the workflow lints clean (`snakemake --lint`), and every result the
report registers with report() has its caption under report/. And the tests' own: tests and
benchmarks take shared helpers from tests/helpers.py, never from conftest or a test module."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

from helpers import REPO


def test_snakemake_lint_reports_nothing(tmp_path):
    run = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory",
                          str(REPO), "--lint"], capture_output=True, text=True)
    assert run.returncode == 0 and "Lints for" not in run.stdout + run.stderr, run.stdout[-3000:] + run.stderr[-3000:]


def test_every_report_caption_exists():
    rules = "\n".join(p.read_text() for p in (REPO / "rules").glob("*.smk"))
    captions = re.findall(r'caption="\.\./(report/[^"]+)"', rules)
    assert len(captions) >= 10
    for caption in captions:
        assert (REPO / caption).stat().st_size > 50, caption
    assert 'report: "report/workflow.rst"' in (REPO / "Snakefile").read_text()


def forbidden_imports(path: Path) -> list[str]:
    """Every import in ``path`` (at any depth) of conftest or of a test_* module, as
    ``file:line: import``, in line order. Such an import ties a file to another test file's
    internals (renaming a test's helper breaks an unrelated module); plain helpers belong in
    helpers.py, and fixtures in conftest.py, where pytest hands them out without an import."""
    name = path.relative_to(REPO) if path.is_relative_to(REPO) else path
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level:
            modules = [node.module]
        else:
            continue
        if any(m.split(".")[0] == "conftest" or m.split(".")[0].startswith("test_") for m in modules):
            found.append((node.lineno, f"{name}:{node.lineno}: {ast.unparse(node)}"))
    return [line for _, line in sorted(found)]


def test_no_test_or_benchmark_imports_conftest_or_a_test_module():
    files = sorted((REPO / "tests").glob("*.py")) + sorted((REPO / "benchmarks").glob("*.py"))
    assert len(files) > 40 and REPO / "tests" / "helpers.py" in files
    found = [line for path in files for line in forbidden_imports(path)]
    assert not found, "import these from tests/helpers.py instead:\n" + "\n".join(found)


def test_the_import_check_finds_every_kind_of_bad_import(tmp_path):
    planted = tmp_path / "test_planted.py"
    planted.write_text("import os\nfrom conftest import REPO\nfrom helpers import SHARED_DATA\nimport testing_tools\n\n\n"
                       "def test_x():\n    from test_shards import shard_data\n    import test_views_source as views\n")
    assert forbidden_imports(planted) == [f"{planted}:2: from conftest import REPO",
                                          f"{planted}:8: from test_shards import shard_data",
                                          f"{planted}:9: import test_views_source as views"]


# How the run's folders are spelled; only the run layout (exosieve/layout.py) may spell them.
LAYOUT_SPELLINGS = re.compile(r"fold_\{|/ \"(models|scores|shards|folds|tune|report|predictions|test_set)\" /|"
                              r"\{R\}/")


def test_only_the_run_layout_spells_the_results_folders():
    """Every path under results/ comes from exosieve/layout.py: the rules through common.smk, the
    package's readers of a run through RunLayout."""
    sources = [*sorted((REPO / "exosieve").rglob("*.py")), *sorted((REPO / "rules").glob("*.smk")),
               REPO / "Snakefile", *sorted((REPO / "workflow_scripts").glob("*.py"))]
    found = [f"{path.relative_to(REPO)}:{i}: {line.strip()}" for path in sources if path.name != "layout.py"
             for i, line in enumerate(path.read_text().splitlines(), 1) if LAYOUT_SPELLINGS.search(line)]
    assert not found, "take these paths from exosieve/layout.py (RunLayout):\n" + "\n".join(found)
    assert LAYOUT_SPELLINGS.search('path = results / "models" / name / f"fold_{k}"')


def test_workflow_scripts_read_only_what_their_rule_passes():
    """A rule's params are its script's input and its rerun trigger: no script reads the whole
    configuration, and every stage's part of it (exosieve.config.STAGE_KEYS) is some rule's."""
    from exosieve.config import STAGE_KEYS
    readers = [p.name for p in sorted((REPO / "workflow_scripts").glob("*.py")) if "snakemake.config" in p.read_text()]
    assert not readers, f"these scripts read snakemake.config; pass what they need as params: {readers}"
    rules = "\n".join(p.read_text() for p in (REPO / "rules").glob("*.smk"))
    passed = set(re.findall(r"settings\(\"(\w+)\"\)", rules))
    assert passed == set(STAGE_KEYS), f"stages no rule passes: {set(STAGE_KEYS) - passed}"

"""A change to the code a stage runs reruns that stage and what depends on it, nothing else:
each rule's parameters hold the hash of its script's import closure (exosieve/code_version.py).
The same for the configuration: a rule's params hold what its script reads of it
(exosieve.config.STAGE_KEYS). Checked on a finished small run in a copy of the repository and
package, by editing one module or setting at a time and asking `snakemake -n` what it would run."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from exosieve.code_version import closure, code_hash
from helpers import REPO

SCRIPTS = REPO / "workflow_scripts"


def stage_files(script: str) -> set[str]:
    return {str(p.relative_to(REPO / "exosieve")) for p in closure([SCRIPTS / f"{script}.py"])}


def test_each_stage_runs_what_its_script_imports_and_no_hand_list_decides_it():
    # The views import reads TFRecords: a change there must rebuild a views run's shards.
    assert "catalog/tfrecord.py" in stage_files("import_views")
    # Imported inside a function (Lightning costs seconds to import), still the training's code.
    assert {"training.py", "cnn_training.py", "models.py", "domain.py"} <= stage_files("train")
    preprocess = stage_files("preprocess")
    assert {"preprocess.py", "views.py", "detrend.py", "features.py", "lightcurves/reader.py"} <= preprocess
    # exosieve/__init__ imports the scorer inside a function that importing the package never runs.
    assert not {"scoring.py", "models.py", "report.py", "training.py"} & preprocess
    assert "plots.py" in stage_files("report") and "plots.py" not in stage_files("train")
    assert code_hash(SCRIPTS / "train.py") == code_hash(SCRIPTS / "tune.py")   # the same closure


def _planned(workdir: Path, *config: str) -> set[str]:
    """The rules `snakemake -n` would run in ``workdir``, with ``config`` given on the command line."""
    return set(_planned_jobs(workdir, *config))


def _planned_jobs(workdir: Path, *config: str) -> dict[str, int]:
    """Rule -> jobs `snakemake -n` would run in ``workdir`` (its job-stats table)."""
    out = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--cores", "1",
                          *(["--config", *config] if config else [])], cwd=workdir,
                         capture_output=True, text=True, check=True)
    text = out.stdout + out.stderr
    if "Nothing to be done" in text:
        return {}
    table = text.split("Job stats:", 1)[1].split("\n\n", 1)[0]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)
            if m.group(1) not in ("total", "job", "all")}


# Module edited -> the rules that must rerun: the stages that run it, then everything downstream.
AFTER_PREPROCESS = {"preprocess", "shard_list", "train", "report"}
EDITS = {
    "plots.py": {"report"},
    "models.py": {"train", "report"},
    "domain.py": {"train", "report"},
    "folds.py": {"folds", "train", "report"},
    "views.py": AFTER_PREPROCESS,
}
# Setting changed -> the rules that must rerun.
SETTING_EDITS = {
    "report={threshold: 0.6}": {"report"},
    "models={enabled: [trees], primary: trees, trees: {max_iter: 50}}": {"train", "report"},
    "training={max_epochs: 2}": {"train", "report"},
    "detrend={knot_spacing: 2.5}": AFTER_PREPROCESS,
    # How a job works, not what it makes: nothing reruns.
    "archive={workers: 9, retries: 1}": set(),
    "resources={views_in_memory_mb: 5}": set(),
}
# The simulator writes the FITS files the reader reads: an edit reruns simulation and everything
# after it. A dry run cannot show that (the shard jobs behind the assign_shards checkpoint are
# planned only once it has rerun), so the run goes as far as the checkpoint and a dry run plans
# the rest. The folds are not among them: the catalog it rewrote is the same table, and Snakemake
# sees that by its checksum (a full run plans them before it can know).
EVERY_RULE = {"simulate_survey_catalog", "catalog", "assign_shards", "lightcurves", "folds", *AFTER_PREPROCESS}


@pytest.mark.slow
def test_editing_one_module_reruns_its_stage_and_what_depends_on_it_only(tmp_path):
    work = tmp_path / "repo"
    work.mkdir()
    for item in ("Snakefile",):
        shutil.copy(REPO / item, work / item)
    for item in ("rules", "workflow_scripts", "report", "envs", "exosieve"):
        shutil.copytree(REPO / item, work / item, ignore=shutil.ignore_patterns("__pycache__"))
    cfg = {"survey": {"stars": 60, "quarters": 2, "seed": 3}, "shards": 1, "cv": {"folds": 2},
           "models": {"enabled": ["trees"], "primary": "trees"}, "report": {"sheets": 0}}
    (work / "config.yaml").write_text(yaml.safe_dump(cfg))
    subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2", "--quiet", "rules"], cwd=work,
                   capture_output=True, text=True, check=True)
    assert _planned(work) == set()
    for name, expected in EDITS.items():
        path = work / "exosieve" / name
        original = path.read_bytes()
        path.write_bytes(original + b"\n# an edit\n")
        try:
            assert _planned(work) == expected, name
        finally:
            path.write_bytes(original)
    assert _planned(work) == set()
    for setting, expected in SETTING_EDITS.items():
        assert _planned(work, setting) == expected, setting
    # Enabling another model trains its folds only; the trees' are kept.
    assert _planned_jobs(work, "models={enabled: [trees, exominer], primary: trees}") == {"train": 2, "report": 1}
    reader = work / "exosieve" / "lightcurves" / "reader.py"
    reader.write_bytes(reader.read_bytes() + b"\n# an edit\n")
    done = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2", "results/shards/manifest.csv"],
                          cwd=work, capture_output=True, text=True, check=True)
    ran = set(re.findall(r"^(?:local)?(?:rule|checkpoint) (\w+):$", done.stdout + done.stderr, re.M))
    assert "assign_shards" in ran and ran | _planned(work) == EVERY_RULE - {"folds"}


def test_the_import_scanner_finds_what_parsing_the_whole_file_finds():
    """code_version reads import statements one by one (fast) rather than parsing whole files, and
    parses the whole file when the scan cannot vouch for what it read. On every module and script,
    and on sources written to trip it, it must find every import a full parse finds, at every depth,
    and in a package's __init__ those of its top level (a docstring line that reads as an import
    may add one)."""
    import ast

    from exosieve.code_version import _import_statements, _scanned_imports
    kinds = (ast.Import, ast.ImportFrom)

    def full_parse(text, top_level_only):
        tree = ast.parse(text)
        return {ast.dump(n) for n in (tree.body if top_level_only else ast.walk(tree)) if isinstance(n, kinds)}

    tricky = {
        "lines": "import os\nfrom . import (a,\n    b)\nfrom .c import d, \\\n    e\ndef f():\n    from .g import h\n",
        "prose": '"""\nfrom the archive, as imported\n"""\nimport os\n',
        "after a colon": "try: import x\nexcept ImportError: from . import y\n",
        "after a semicolon": "a = 1; import z\n",
        "before a semicolon": "import t; u = 1\n",
        "a comment in the parentheses": "from .m import (n,  # (see o)\n    p)\n",
        "an unclosed parenthesis in a comment": "import q  # (r\nimport s\n",
        "from after a colon, import on the next line": "try: from .v \\\n    import w\nexcept E: pass\n",
        "from with nothing after it on its line": "from \\\n    .v import w\n",
        "raise from, and prose": 'raise E from e\n"""\nimport of x is slow; its import closure\n"""\n',
    }
    files = sorted((REPO / "exosieve").rglob("*.py")) + sorted(SCRIPTS.glob("*.py"))
    assert len(files) > 50
    sources = {**{str(p): p.read_text() for p in files}, **tricky}
    for name, text in sources.items():
        for top_level_only in (False, True):
            parsed = full_parse(text, top_level_only)
            scanned = {ast.dump(n) for n in _import_statements(text, top_level_only)}
            assert not parsed - scanned, (name, top_level_only, parsed - scanned)
            if name in tricky:
                assert scanned == parsed, (name, top_level_only)
    # Prose that begins like an import, or holds the word, is no reason to parse a file whole.
    assert _scanned_imports(tricky["prose"] + "its import closure\n", False) is not None

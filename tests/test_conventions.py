"""Snakemake's conventions: the workflow lints clean (`snakemake --lint`), and every result the
report registers with report() has its caption under report/."""

from __future__ import annotations

import re
import subprocess
import sys

from conftest import REPO


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

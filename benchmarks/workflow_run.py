"""Running the workflow from a benchmark: a work folder with its own config.yaml, Snakemake in a
child process (as a user runs it), and the wall time it took."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def run_workflow(folder: Path, cfg: dict, cores: int, extra_config: list[str] | tuple = ()) -> float:
    """Run the workflow's default target in `folder` with `cfg` (plus `--config` items); the seconds
    it took. A failed run stops the benchmark with the tail of Snakemake's log."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.yaml").write_text(yaml.safe_dump(cfg))
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(folder),
           "--configfile", str(folder / "config.yaml"), "--cores", str(cores), "--quiet", "rules",
           *(["--config", *extra_config] if extra_config else [])]
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{folder.name}: the workflow failed:\n{done.stderr[-4000:]}")
    return time.perf_counter() - start

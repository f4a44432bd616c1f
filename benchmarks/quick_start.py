"""The quick start's wall time and where it goes: the README's `snakemake --cores 2` on the embedded
simulated survey, in a fresh clone of this checkout's HEAD (the install apart: this interpreter's
environment runs it), with the job-seconds of every rule from Snakemake's own benchmark files and
the models' out-of-fold metrics.

    python benchmarks/quick_start.py [--cores 2] [--keep DIR]

The target the issue set: at most 300 s on 2 cores. Timings on a shared machine vary by up to
1.8 times within an hour: run it on a quiet one.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--keep", type=Path, default=None, help="clone here and keep it (default: a temporary folder)")
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="exosieve_quick_start_"))
    if work.exists() and any(work.iterdir()):
        shutil.rmtree(work)
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(work)], check=True)
    commit = subprocess.run(["git", "-C", str(work), "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            check=True).stdout.strip()
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "snakemake", "--cores", str(args.cores), "--quiet", "rules"],
                          cwd=work, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode:
        print(done.stderr[-4000:])
        return 1
    rows = []
    for path in sorted((work / "results" / "benchmarks").rglob("*.tsv")):
        rule = path.relative_to(work / "results" / "benchmarks").parts[0].removesuffix(".tsv")
        rows.append({"rule": rule, "s": float(pd.read_csv(path, sep="\t")["s"].iloc[0])})
    jobs = pd.DataFrame(rows).groupby("rule")["s"].agg(["count", "sum"]).sort_values("sum", ascending=False)
    print(f"quick start at {commit}: {seconds:.0f} s wall on {args.cores} cores, {jobs['sum'].sum():.0f} job-seconds\n")
    print(jobs.rename(columns={"count": "jobs", "sum": "job-seconds"}).round(1).to_string())
    comparison = pd.read_csv(work / "results" / "report" / "model_comparison.csv")
    print()
    print(comparison.to_string(index=False))
    catalog = pd.read_csv(work / "results" / "report" / "vetted_catalog.csv")
    flagged = (catalog.status == "flagged").sum()
    print(f"\n{flagged} of {len(catalog)} TCEs flagged ({flagged / len(catalog):.1%})")
    if args.keep is None:
        shutil.rmtree(work)
    return 0


if __name__ == "__main__":
    sys.exit(main())

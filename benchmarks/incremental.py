"""What a catalog update touching 1% of the stars costs in preprocessing.

A simulated survey is written to disk and run through the workflow as a ``local`` source (as a
bulk download would be) up to the shards, with ``shards: auto``. Then 1% of its stars get a
refined epoch on one TCE (a typical catalog revision); ``exosieve plan`` says what a rerun will
redo, the shards are brought up to date, and the preprocess jobs' own logs say how many stars
each preprocessed and how long it took. Stars are spread over the shards by a hash, so such an
update touches most shards: every touched shard reruns, but keeps the rows of its unchanged
stars (exosieve/preprocess.py).

    python benchmarks/incremental.py                  # 1,600 stars, 4 quarters, 1% updated
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from exosieve.cli import main as exosieve  # noqa: E402
from exosieve.config import load  # noqa: E402
from exosieve.plan import plan_update  # noqa: E402

LOG_LINE = re.compile(r"stars preprocessed: (\d+) of (\d+) \((\d+) kept, inputs unchanged\) in ([\d.]+) s")


def snakemake(workdir: Path, *targets: str) -> float:
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--cores", "2",
                          "--directory", str(workdir), *targets], capture_output=True, text=True)
    if res.returncode:
        raise SystemExit(res.stdout[-3000:] + res.stderr[-3000:])
    return time.perf_counter() - t0


def build_shards(workdir: Path) -> float:
    seconds = snakemake(workdir, "results/shards/manifest.csv")
    shards = pd.read_csv(workdir / "results" / "shards" / "manifest.csv", dtype={"shard": str}).shard
    return seconds + snakemake(workdir, *(f"results/shards/{s}.h5" for s in shards))


def preprocess_logs(workdir: Path, since: float) -> pd.DataFrame:
    """Per shard that ran since ``since``: stars preprocessed, stars in all, seconds of work."""
    rows = []
    for log in sorted((workdir / "results" / "logs" / "preprocess").glob("*.log")):
        if log.stat().st_mtime < since:
            continue
        m = LOG_LINE.search(log.read_text())
        rows.append({"shard": log.stem, "preprocessed": int(m.group(1)), "stars": int(m.group(2)),
                     "seconds": float(m.group(4))})
    return pd.DataFrame(rows, columns=["shard", "preprocessed", "stars", "seconds"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stars", type=int, default=1600)
    parser.add_argument("--quarters", type=int, default=4)
    parser.add_argument("--fraction", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="exosieve-incremental-") as tmp:
        work = Path(tmp)
        exosieve(["simulate", "--out", str(work / "survey"), "--stars", str(args.stars),
                  "--quarters", str(args.quarters), "--seed", str(args.seed)])
        catalog_path = work / "survey" / "q1_q17_dr24_tce.csv"
        header = [line for line in catalog_path.read_text().splitlines() if line.startswith("#")]
        catalog = pd.read_csv(catalog_path, comment="#")
        cfg = {"catalog": {"source": "local", "path": str(catalog_path),
                           "stellar_path": str(work / "survey" / "keplerstellar.csv"),
                           "lightcurve_dir": str(work / "survey" / "lightcurves")},
               "models": {"enabled": ["trees"], "primary": "trees"}}
        (work / "config.yaml").write_text(yaml.safe_dump(cfg))
        first_started = time.time()
        first_wall = build_shards(work)
        first = preprocess_logs(work, first_started)
        print(f"first run: {args.stars:,} stars, {len(catalog):,} TCEs, {len(first)} shards (shards: auto); "
              f"preprocessing {first.seconds.sum():.0f} s of work, {first_wall:.0f} s wall with light curves")

        rng = np.random.default_rng(args.seed)
        stars = catalog.kepid.unique()
        picked = rng.choice(stars, max(1, int(round(args.fraction * stars.size))), replace=False)
        rows = catalog.index[catalog.kepid.isin(picked)].to_series().groupby(catalog.kepid).first()
        catalog.loc[rows, "tce_time0bk"] += 1e-4        # a refined epoch, 9 s later
        catalog_path.write_text("\n".join(header) + "\n" + catalog.to_csv(index=False))

        import os
        cwd = os.getcwd()
        os.chdir(work)
        try:
            plan = plan_update(load(work / "config.yaml"))
        finally:
            os.chdir(cwd)
        update_started = time.time()
        update_wall = build_shards(work)
        update = preprocess_logs(work, update_started)
        print(f"update: {picked.size} stars ({100 * picked.size / stars.size:.1f}%) get a refined epoch")
        print(f"  exosieve plan: {int(plan.shards.rerun.sum())} of {len(plan.shards)} shards rerun, "
              f"{plan.stars_preprocessed} stars preprocessed again")
        print(f"  rerun: {len(update)} shards ran, {update.preprocessed.sum()} of {update.stars.sum()} stars "
              f"preprocessed ({100 * update.preprocessed.sum() / first.stars.sum():.2f}% of the catalog's stars)")
        print(f"  preprocessing work: {update.seconds.sum():.1f} s against {first.seconds.sum():.0f} s for the first "
              f"run ({100 * update.seconds.sum() / first.seconds.sum():.2f}%); {update_wall:.0f} s wall, "
              "Snakemake and job start-up included")
        agree = plan.shards.set_index("shard").stars_preprocessed.reindex(update.shard).to_numpy()
        print(f"  plan matches the jobs' logs shard by shard: {bool((agree == update.preprocessed.to_numpy()).all())}")


if __name__ == "__main__":
    main()

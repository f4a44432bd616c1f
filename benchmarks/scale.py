"""Scale: a synthetic 200,000-star catalog in DR24's format through the catalog step, shard
assignment (shards: auto) and a full Snakemake dry run, with the time of each.

The catalog is written like the archive's export (same columns, random but valid values,
1-3 TCEs a star). The dry run uses the local source with an empty light-curve folder: it plans
every job (light curves and preprocessing per shard, training and evaluation per fold) without
running any.

    python benchmarks/scale.py [--stars 200000] [--shards auto]
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

from exosieve.catalog.sources import build_catalog
from exosieve.catalog.table import write_normalized
from exosieve.config import load
from exosieve.shards import assign_shards

REPO = Path(__file__).resolve().parents[1]


def synthetic_dr24(n_stars: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    kepid = rng.choice(np.arange(1_000_000, 13_000_000), n_stars, replace=False)
    per_star = rng.integers(1, 4, n_stars)
    star = np.repeat(kepid, per_star)
    num = np.concatenate([np.arange(1, k + 1) for k in per_star])
    n = star.size
    period = np.exp(rng.uniform(np.log(0.5), np.log(400), n))
    return pd.DataFrame({
        "kepid": star, "tce_plnt_num": num, "tce_period": period.round(6), "tce_period_err": 1e-5,
        "tce_time0bk": (131.5 + rng.uniform(0, 1, n) * np.minimum(period, 100)).round(5), "tce_time0bk_err": 1e-3,
        "tce_duration": (np.clip(2 + 3 * np.log10(period), 0.5, 15)).round(3), "tce_duration_err": 0.1,
        "tce_depth": np.exp(rng.uniform(np.log(20), np.log(20000), n)).round(2), "tce_depth_err": 5.0,
        "av_training_set": rng.choice(["PC", "AFP", "NTP", "UNK"], n, p=[0.2, 0.5, 0.15, 0.15]),
    })


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stars", type=int, default=200_000)
    ap.add_argument("--shards", default="auto", help="the config's shards: auto or a count")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        table = tmp / "q1_q17_dr24_tce.csv"
        synthetic_dr24(args.stars).to_csv(table, index=False)
        (tmp / "lightcurves").mkdir()
        user = {"catalog": {"source": "local", "path": str(table), "lightcurve_dir": str(tmp / "lightcurves")},
                "shards": args.shards if args.shards == "auto" else int(args.shards)}
        cfg = load(user)

        t0 = time.perf_counter()
        tces, rejected = build_catalog(cfg, {"catalog": table})
        write_normalized(tces, tmp / "direct" / "tces.csv")
        t_catalog = time.perf_counter() - t0
        t0 = time.perf_counter()
        manifest = assign_shards(tmp / "direct" / "tces.csv", cfg["shards"], tmp / "direct" / "targets")
        t_assign = time.perf_counter() - t0
        print(f"{args.stars:,} stars, {len(tces):,} TCEs ({len(rejected)} rejected)")
        print(f"catalog step (package call):      {t_catalog:6.1f} s")
        print(f"shard assignment (package call):  {t_assign:6.1f} s  ({len(manifest)} shards, "
              f"{manifest.n_stars.min()}-{manifest.n_stars.max()} stars each)")
        print(f"catalog + shard assignment:       {t_catalog + t_assign:6.1f} s")

        # The same through the workflow (Python start-up and imports included), then a full dry run.
        (tmp / "config.yaml").write_text(yaml.safe_dump(user))
        smk = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(tmp),
               "--cores", "2"]
        t0 = time.perf_counter()
        subprocess.run([*smk, "results/shards/manifest.csv", "--quiet"], check=True, capture_output=True)
        t_steps = time.perf_counter() - t0
        t0 = time.perf_counter()
        dry = subprocess.run([*smk, "-n", "--quiet", "rules"], check=True, capture_output=True, text=True)
        t_dry = time.perf_counter() - t0
        jobs = re.search(r"^total\s+(\d+)", dry.stdout + dry.stderr, re.M)
        print(f"catalog + assign_shards jobs through Snakemake: {t_steps:6.1f} s")
        print(f"full dry run (shards: {args.shards}):{'':<{max(0, 6 - len(args.shards))}} {t_dry:6.1f} s  "
              f"({jobs.group(1) if jobs else '?'} jobs planned)")


if __name__ == "__main__":
    main()

"""How many of a preprocessed run's TCEs are flagged, and why, without training a model.

The transit flags (preprocess.transit_flag: a depth shortfall, a single transit, too few
in-transit cadences, no dip) are read from the shards' failure manifests (stage ``flagged``). The
out-of-domain flags (exosieve/domain.py) need each fold model's training TCEs, not the model: each
fold's domain is made from every labelled TCE outside it, as training.fold_domain makes it (no
validation split is held out, so each training set is a little larger than a run's), and flags
the fold's TCEs; unlabelled TCEs get every fold's merged domain, as their scores do. The quick
start's shards are built by the workflow up to its shard list:

    snakemake --cores 2 --config results=/tmp/qs -- /tmp/qs/shards/shard_list.csv
    python benchmarks/quickstart_flags.py /tmp/qs
"""

from __future__ import annotations

import argparse
import glob
from pathlib import Path

import numpy as np
import pandas as pd

from exosieve import domain as dom
from exosieve.folds import assign_folds
from exosieve.shards import ShardSet, read_failure_manifests

TRANSIT_REASONS = {"depth shortfall": "far below the catalog", "single transit": "single transit",
                   "few in-transit cadences": "in-transit cadence", "no dip": "no dip at this ephemeris"}


def domain_flags_by_fold(paths: list[str], tces: pd.DataFrame, folds: int, seed: int, mission: str) -> pd.Series:
    """Each TCE's out-of-domain flag ('' for none) against its fold's training TCEs' domain."""
    table = assign_folds(tces, folds, seed).set_index("tce_id")
    with ShardSet(paths) as shards:
        data = shards.read()
    ids = data.meta.tce_id.to_numpy()
    fold = table.fold.reindex(ids).fillna(-2).astype(int).to_numpy()
    views = {n: data.views[n] for n in dom.DOMAIN_VIEWS}
    features = dom.features_of(data.scalars, data.scalar_names)
    domains = []
    for k in range(folds):
        train = np.flatnonzero((fold >= 0) & (fold != k))
        domains.append(dom.training_domain(data.scalars[train], data.scalar_names,
                                           {n: v[train] for n, v in views.items()}, mission))
    flags = np.full(len(ids), "", dtype=object)
    for k in [*range(folds), -1]:
        rows = np.flatnonzero(fold == k)
        merged = dom.merged_domain([domains[k]] if k >= 0 else domains)
        flags[rows] = dom.domain_flags(merged, mission, [features[i] for i in rows],
                                       {n: v[rows] for n, v in views.items()})
    return pd.Series(flags, index=ids)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", type=Path, help="the run's results folder (shards built)")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--mission", default="kepler")
    args = ap.parse_args()
    paths = sorted(glob.glob(str(args.results / "shards" / "*.h5")))
    tces = pd.read_csv(args.results / "catalog" / "tces.csv", dtype={"tce_id": str, "star_id": str})
    failures = read_failure_manifests(paths)
    flagged = failures[failures.stage == "flagged"].drop_duplicates("tce_id").set_index("tce_id").error
    unlike = domain_flags_by_fold(paths, tces, args.folds, args.seed, args.mission)
    unlike = unlike[unlike != ""]
    n = len(tces)
    either = set(flagged.index) | set(unlike.index)
    print(f"{n} TCEs: {len(either)} flagged ({len(either) / n:.1%}); {len(flagged)} by their transit, "
          f"{len(unlike)} unlike their fold's training TCEs, {len(set(flagged.index) & set(unlike.index))} both")
    for name, words in TRANSIT_REASONS.items():
        print(f"  {name}: {int(flagged.str.contains(words).sum())}")
    print(f"  a feature outside the training range: {int(unlike.str.contains('outside').sum())}")
    print(f"  views unlike the training TCEs': {int(unlike.str.contains('views').sum())}")
    truth = sorted(args.results.glob("survey/**/truth.csv"))
    if truth:       # a simulated survey: which classes the flags fall on
        t = pd.read_csv(truth[0], dtype={"tce_id": str}).set_index("tce_id")
        for what, ids in (("transit", flagged.index), ("domain", unlike.index)):
            print(f"  {what} flags by true class: {t.true_class.reindex(ids).value_counts().to_dict()}")
            print(f"  {what} flags by label: {t.av_training_set.reindex(ids).value_counts().to_dict()}")


if __name__ == "__main__":
    main()

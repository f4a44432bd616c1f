"""What a rerun will redo after a catalog update, a label change or replaced light-curve files:
``exosieve plan``. ``snakemake -n`` lists jobs; this says, per shard, how many stars will really
be preprocessed again (a rerun shard keeps the rows of stars whose inputs did not change, see
preprocess.py). It is computed with the code the workflow runs (build_catalog, assign_shards,
star_digests, kept_stars), so its counts are those the preprocess jobs will log
(tests/test_catalog_updates.py checks them against a real rerun).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .catalog.sources import build_catalog, get_source
from .catalog.table import LABEL_COLUMNS, read_normalized, write_normalized
from .layout import RunLayout
from .preprocess import failed_stars, kept_stars, previous_shard, read_targets, star_digests
from .shards import assign_shards


class PlanError(RuntimeError):
    """Nothing to compare with (no earlier run), or the new catalog cannot be built."""


@dataclass
class Plan:
    catalog: dict             # TCEs, stars, and added / removed / changed / relabelled vs the last run
    shards: pd.DataFrame      # shard, stars, rerun, stars_preprocessed, why
    retrain: bool

    @property
    def stars_preprocessed(self) -> int:
        return int(self.shards.stars_preprocessed.sum())

    def format(self) -> str:
        c, s = self.catalog, self.shards
        n_stars = int(s.stars.sum())
        share = f" ({100 * self.stars_preprocessed / n_stars:.1f}%)" if n_stars else ""
        lines = [f"catalog: {c['tces']:,} TCEs on {c['stars']:,} stars; since the last run {c['added']:,} added, "
                 f"{c['removed']:,} removed, {c['changed']:,} changed, {c['relabelled']:,} relabelled",
                 f"shards: {int(s.rerun.sum())} of {len(s)} rerun",
                 f"preprocessing: {self.stars_preprocessed:,} of {n_stars:,} stars{share} preprocessed again; "
                 "the others keep their rows",
                 "training, evaluation, report: " + ("rerun" if self.retrain else "nothing to redo")]
        rerun = s[s.rerun]
        if len(rerun):
            lines += ["", rerun.head(20).to_string(index=False)]
            if len(rerun) > 20:
                lines.append(f"... and {len(rerun) - 20} more shards")
        return "\n".join(lines)


def _catalog_changes(old: pd.DataFrame, new: pd.DataFrame) -> dict:
    old, new = old.set_index("tce_id"), new.set_index("tce_id")
    both = old.index.intersection(new.index)
    data_cols = [c for c in new.columns if c not in LABEL_COLUMNS and c in old.columns]

    def differs(cols):
        a, b = old.loc[both, cols], new.loc[both, cols]
        return int((~((a == b) | (a.isna() & b.isna()))).any(axis=1).sum())

    return {"tces": len(new), "stars": new.star_id.nunique(), "added": len(new.index.difference(old.index)),
            "removed": len(old.index.difference(new.index)), "changed": differs(data_cols),
            "relabelled": differs(["label"])}


def _light_curve_files(cfg: dict, source, results: Path, shard: str, targets: pd.DataFrame) -> dict[str, list]:
    """star id -> the light-curve files a rerun would find: listed afresh in a local folder (where
    files can be replaced), else as the last run's index has them (new stars have none yet)."""
    if cfg["catalog"]["source"] == "local":
        index, _ = source.obtain_lightcurves(sorted(targets.star_id.unique()), progress=False)
    else:
        path = Path(RunLayout(results).lightcurve_index(shard))
        index = pd.read_csv(path, dtype={"star_id": str}) if path.exists() else pd.DataFrame(columns=["star_id", "path"])
    return index.groupby("star_id")["path"].apply(list).to_dict()


def plan_update(cfg: dict) -> Plan:
    results = Path(cfg["results"])
    layout = RunLayout(results)
    if cfg["catalog"]["source"] == "views":
        raise PlanError("a views source has no preprocessing to plan; `snakemake -n` lists what reruns")
    old_tces = Path(layout.tces())
    if not old_tces.exists():
        raise PlanError(f"{old_tces} does not exist: nothing has run yet, so the first run does everything")
    source = get_source(cfg)
    files = source.raw_catalog_files()
    missing = [str(f) for f in files.values() if not Path(f).exists()]
    if missing:
        raise PlanError(f"the raw catalog is not on disk ({', '.join(missing)}); run snakemake once first")
    tces, _ = build_catalog(cfg, files)
    catalog = _catalog_changes(read_normalized(old_tces), tces)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        write_normalized(tces, Path(tmp) / "tces.csv")
        manifest = assign_shards(Path(tmp) / "tces.csv", cfg["shards"], Path(tmp) / "targets")
        for shard in manifest.shard:
            new_targets = Path(tmp) / "targets" / f"{shard}.csv"
            old_targets = Path(layout.shard_targets(shard))
            targets_changed = not old_targets.exists() or old_targets.read_bytes() != new_targets.read_bytes()
            targets = read_targets(new_targets)
            digests = star_digests(targets, _light_curve_files(cfg, source, results, shard, targets))
            old = previous_shard(Path(layout.shard(shard)), cfg)
            if old is None:
                keep, why = set(), "no shard made with these settings and this code"
            else:
                with old:
                    keep = kept_stars(old.meta, failed_stars(Path(layout.shard_failures(shard))),
                                      digests, targets)
                    files_changed = bool((old.meta.input_digest != old.meta.star_id.map(digests)).any())
                why = ("target list changed" if targets_changed else
                       "light-curve files changed" if files_changed else "")
            rerun = bool(why)
            rows.append({"shard": shard, "stars": len(digests), "rerun": rerun,
                         "stars_preprocessed": len(digests) - len(keep) if rerun else 0, "why": why})
    shards = pd.DataFrame(rows, columns=["shard", "stars", "rerun", "stars_preprocessed", "why"])
    touched = any(catalog[k] for k in ("added", "removed", "changed", "relabelled"))
    return Plan(catalog=catalog, shards=shards, retrain=touched or bool(shards.rerun.any()))

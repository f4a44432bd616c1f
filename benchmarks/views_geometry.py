"""ExoSieve's views of real Kepler TCEs beside the published DR24 views of the same TCEs.

For every labelled DR24 TCE on the real stars of ../shared/data (full-mission light curves in
MAST's layout), the workflow's own reader, detrending and view code makes its views with a views
preset (default ``dartvetter_dr24``: 201/61 bins and lightkurve's flatten, as the DR24 records in
../shared/data/views were made), and each is set beside that TCE's record (found by kepid and
tce_plnt_num, recovered as benchmarks/dr24_views.py does). Prints every TCE with its depth and the
Pearson r of its global and local views, and the median r over the TCEs deeper than 500 ppm, where
a view is more transit than noise.

Then, over every record with a DR24 TCE, how often the global view's deepest bin is the transit's
(the centre bin or a neighbour), by the TCE's DR24 depth: the records lose the in-transit cadences
of deep transits, which leaves their global views noise. ``--variants`` also reruns the comparison
with other detrending and clipping settings and prints each one's medians.

    python benchmarks/views_geometry.py [--preset dartvetter_dr24] [--config '{views: {local_durations: 2}}'] [--variants]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from helpers import SHARED_DATA, star_folders, with_tce_ids  # noqa: E402

DEEP_PPM = 500.0


def published_views(folder: Path) -> dict[tuple[int, int], dict[str, np.ndarray]]:
    from exosieve.catalog.tfrecord import read_examples
    out = {}
    for path in sorted(folder.glob("train-*.tfrecord")):
        for _, ex in read_examples(path):
            key = (int(ex["kepid"][0]), int(ex["tce_plnt_num"][0]))
            out.setdefault(key, {"global": ex["global_view"], "local": ex["local_view"]})   # the original, not its mirror
    return out


def ours(cfg: dict, tces: pd.DataFrame, root: Path) -> tuple[dict, dict]:
    from exosieve.lightcurves.mast import find_kepler_lightcurves
    from exosieve.preprocess import assemble, preprocess_stars
    files = {s: find_kepler_lightcurves(root, s) for s in tces.star_id.unique()}
    results, failures = preprocess_stars(tces, files, set(), cfg, progress=False)
    data = assemble(results, cfg)
    views = {t: {"global": data.views["global"][i], "local": data.views["local"][i]}
             for i, t in enumerate(data.meta.tce_id)}
    return views, {f["tce_id"]: f["error"] for f in failures if f.get("tce_id")}


DEPTH_BANDS = [0, 100, 300, 1000, 3000, 10000, np.inf]
# Settings the records might have been made with, each tried against them (--variants).
VARIANTS = {"ExoSieve's detrending": {"detrend": {"method": "spline", "mask_durations": 3.0, "mask_others": True}},
            "every TCE masked": {"detrend": {"mask_others": True}},
            "window 51": {"detrend": {"window_length": 51}},
            "window 201": {"detrend": {"window_length": 201}},
            "mask 2 durations": {"detrend": {"mask_durations": 2.0}},
            "clip at 2.5 sigma": {"views": {"outlier_sigma": 2.5}},
            "clip at 4 sigma": {"views": {"outlier_sigma": 4.0}},
            "no clipping": {"views": {"outlier_sigma": None}}}


def compare(preset: str, user: dict, tces_of, published, root: Path) -> pd.DataFrame:
    """Every labelled DR24 TCE of the real stars: its depth and the Pearson r of ExoSieve's views
    (``preset`` with ``user``'s settings over it) against the record's."""
    from exosieve.config import load
    cfg = load({**user, "views": {"preset": preset, "enabled": ["global", "local"], **user.get("views", {})},
                "models": {"enabled": ["astronet"], "primary": "astronet"}})
    tces = tces_of(cfg)
    mine, errors = ours(cfg, tces, root)
    rows = []
    for t in tces.itertuples():
        theirs = published.get((int(t.star_id), int(t.tce_num)))
        row = {"tce_id": t.tce_id, "label": t.disposition, "period_d": t.period, "depth_ppm": t.depth,
               "r_global": np.nan, "r_local": np.nan, "global_lag": np.nan, "note": ""}
        if theirs is None:
            row["note"] = "no published record"
        elif t.tce_id not in mine:
            row["note"] = (errors.get(t.tce_id) or "not preprocessed")[:70]
        else:
            for view in ("global", "local"):
                row[f"r_{view}"] = float(np.corrcoef(mine[t.tce_id][view], theirs[view])[0, 1])
            row["global_lag"] = best_lag(mine[t.tce_id]["global"], theirs["global"])
        rows.append(row)
    return pd.DataFrame(rows)


def best_lag(ours_view: np.ndarray, theirs: np.ndarray, most: int = 5) -> int:
    """The whole-bin shift of ``ours_view`` (around the orbit) that correlates best with ``theirs``:
    0 when the two grids are aligned."""
    lags = np.arange(-most, most + 1)
    return int(lags[np.argmax([np.corrcoef(np.roll(ours_view, k), theirs)[0, 1] for k in lags])])


def medians(table: pd.DataFrame) -> str:
    deep = table[(table.depth_ppm > DEEP_PPM) & table.r_local.notna()]
    both = table[table.r_local.notna()]
    return (f"{len(deep)} TCEs deeper than {DEEP_PPM:g} ppm: global {deep.r_global.median():.3f}, "
            f"local {deep.r_local.median():.3f}; all {len(both)} compared: global {both.r_global.median():.3f}, "
            f"local {both.r_local.median():.3f}")


def transit_centred(published, dr24: pd.DataFrame) -> pd.DataFrame:
    """Per DR24 depth band, the share of records whose global view is deepest at the transit (the
    centre bin or a neighbour) and whose local view is deepest within 8 bins of its centre."""
    rows = []
    for t in dr24.itertuples():
        views = published.get((int(t.star_id), int(t.tce_num)))
        if views is None or not np.isfinite(t.depth):
            continue
        g, lv = np.asarray(views["global"]), np.asarray(views["local"])
        rows.append({"depth_ppm": t.depth, "global": abs(int(np.argmin(g)) - g.size // 2) <= 1,
                     "local": abs(int(np.argmin(lv)) - lv.size // 2) <= 8})
    table = pd.DataFrame(rows)
    band = pd.cut(table.depth_ppm, DEPTH_BANDS)
    out = table.groupby(band, observed=True).agg(records=("global", "size"), global_at_transit=("global", "mean"),
                                                 local_at_transit=("local", "mean"))
    out.index = [f"{iv.left:g}-{iv.right:g} ppm" for iv in out.index]
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="dartvetter_dr24")
    ap.add_argument("--config", default="{}",
                    help="settings over the preset, as YAML, e.g. '{views: {local_durations: 2}}'")
    ap.add_argument("--variants", action="store_true", help="also compare other detrending and clipping settings")
    ap.add_argument("--work", type=Path, default=REPO / "results" / "benchmarks" / "dr24_tce_views")
    args = ap.parse_args()
    if not (SHARED_DATA / "views").is_dir():
        print(f"real data not found at {SHARED_DATA}; set EXOSIEVE_SHARED_DATA")
        return 2
    from exosieve.catalog.kepler import load_dr24
    root = SHARED_DATA / "kepler" / "lightcurves"
    stars = sorted(star_folders(root))
    catalog = SHARED_DATA / "catalogs" / "q1_q17_dr24_tce.csv"

    def tces_of(cfg):
        dr24 = load_dr24(catalog, cfg["catalog"]["labels"])[0]
        return dr24[dr24.star_id.isin(stars) & (dr24.label >= 0)].reset_index(drop=True)

    published = published_views(with_tce_ids(SHARED_DATA, args.work))
    user = yaml.safe_load(args.config) or {}
    table = compare(args.preset, user, tces_of, published, root)
    pd.set_option("display.width", 200)
    print(f"views preset {args.preset}, settings over it {user}\n")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(f"\nmedian Pearson r, {medians(table)}")

    labels = {"positive": ["PC"], "negative": ["AFP", "NTP"]}
    print("\nthe records' deepest bins, by the TCE's DR24 depth (a transit deeper than the records' "
          "3-sigma clip loses its in-transit cadences):")
    print(transit_centred(published, load_dr24(catalog, labels)[0]).to_string(float_format=lambda v: f"{v:.3f}"))
    if args.variants:
        print("\nthe same comparison with other settings (median Pearson r):")
        for name, settings in VARIANTS.items():
            merged = {**user, **{k: {**user.get(k, {}), **v} for k, v in settings.items()}}
            print(f"  {name:<21} {medians(compare(args.preset, merged, tces_of, published, root))}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

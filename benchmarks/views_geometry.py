"""ExoSieve's views of real Kepler TCEs beside the published DR24 views of the same TCEs.

For every labelled DR24 TCE on the real stars of ../shared/data (full-mission light curves in
MAST's layout), the workflow's own reader, detrending and view code makes its views with a views
preset (default ``dartvetter_dr24``: 201/61 bins, the geometry of the DR24 records in
../shared/data/views), and each is set beside that TCE's record (found by kepid and
tce_plnt_num, recovered as benchmarks/dr24_views.py does). Prints every TCE with its depth and the
Pearson r of its global and local views, and the median r over the TCEs deeper than 500 ppm, where
a view is more transit than noise.

    python benchmarks/views_geometry.py [--preset dartvetter_dr24] [--config 'views={local_durations: 2}']
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
sys.path.insert(0, str(REPO / "benchmarks"))

from conftest import SHARED_DATA  # noqa: E402
from dr24_views import with_tce_ids  # noqa: E402

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
    from exosieve.preprocess import _assemble, preprocess_stars
    files = {s: find_kepler_lightcurves(root, s) for s in tces.star_id.unique()}
    results, failures = preprocess_stars(tces, files, set(), cfg, progress=False)
    data = _assemble(results, cfg)
    views = {t: {"global": data.views["global"][i], "local": data.views["local"][i]}
             for i, t in enumerate(data.meta.tce_id)}
    return views, {f["tce_id"]: f["error"] for f in failures if f.get("tce_id")}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="dartvetter_dr24")
    ap.add_argument("--config", default="{}", help="more views settings, as YAML, e.g. '{local_durations: 2}'")
    ap.add_argument("--work", type=Path, default=REPO / "results" / "benchmarks" / "dr24_tce_views")
    args = ap.parse_args()
    if not (SHARED_DATA / "views").is_dir():
        print(f"real data not found at {SHARED_DATA}; set EXOSIEVE_SHARED_DATA")
        return 2
    from exosieve.catalog.kepler import load_dr24
    from exosieve.config import load
    cfg = load({"views": {"preset": args.preset, "enabled": ["global", "local"], **yaml.safe_load(args.config)},
                "models": {"enabled": ["astronet"], "primary": "astronet"}})
    root = SHARED_DATA / "kepler" / "lightcurves"
    stars = sorted({p.name.lstrip("0") for p in root.glob("*/*") if p.is_dir()})
    dr24 = load_dr24(SHARED_DATA / "catalogs" / "q1_q17_dr24_tce.csv", cfg["catalog"]["labels"])[0]
    tces = dr24[dr24.star_id.isin(stars) & (dr24.label >= 0)].reset_index(drop=True)
    published = published_views(with_tce_ids(SHARED_DATA, args.work))
    mine, errors = ours(cfg, tces, root)
    rows = []
    for t in tces.itertuples():
        theirs = published.get((int(t.star_id), int(t.tce_num)))
        row = {"tce_id": t.tce_id, "label": t.disposition, "period_d": t.period, "depth_ppm": t.depth,
               "r_global": np.nan, "r_local": np.nan, "note": ""}
        if theirs is None:
            row["note"] = "no published record"
        elif t.tce_id not in mine:
            row["note"] = (errors.get(t.tce_id) or "not preprocessed")[:70]
        else:
            for view in ("global", "local"):
                row[f"r_{view}"] = float(np.corrcoef(mine[t.tce_id][view], theirs[view])[0, 1])
        rows.append(row)
    table = pd.DataFrame(rows)
    pd.set_option("display.width", 200)
    print(f"views preset {args.preset}: {cfg['views']['global_bins']}/{cfg['views']['local_bins']} bins, local "
          f"+-{cfg['views']['local_durations']:g} durations, normalize {cfg['views']['normalize']}\n")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    deep = table[(table.depth_ppm > DEEP_PPM) & table.r_local.notna()]
    both = table[table.r_local.notna()]
    print(f"\nmedian Pearson r, {len(deep)} TCEs deeper than {DEEP_PPM:g} ppm: global {deep.r_global.median():.3f}, "
          f"local {deep.r_local.median():.3f}; all {len(both)} compared: global {both.r_global.median():.3f}, "
          f"local {both.r_local.median():.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

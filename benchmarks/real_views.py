"""The models on real labelled views at scale, through the workflow itself: `snakemake` on the
`views` source, 5 folds stratified by label and grouped by star, every model of the default list
that can read views (raw_flux needs a light curve and is skipped).

Sets (../shared/data/views; see its README):

- ``dr24``: Kepler DR24's autovetter training set as DART-Vetter published it (global 201 and
  local 61 bins; 19,336 records: 15,736 TCEs on 9,864 stars and a mirror image of each PC, which
  the views source drops); labels 1 = PC, 0 = AFP or NTP. No scalar features: exominer and
  astronet are the same network here. The 8 stars whose light curves ../shared/data holds are
  left out (catalog.exclude: 12 of the TCEs), and the views' geometry is declared
  (views.preset: dartvetter_dr24), so that benchmarks/real_tces.py --models can score their light
  curves with this run's models.
- ``dr24_features``: the same records with each one's TCE recovered from the record order
  (benchmarks/dr24_views.py, checked record by record), so that exominer's scalar branch has the
  DR24 table's period, duration and depth, and the trees learn from the flattened views and those.
- ``astronet_dr24``: Kepler DR24's autovetter training set as Astronet's own code makes it
  (Shallue & Vanderburg 2018: spline detrending, no clip of the transit, global 2001 and local 201
  bins, each view median 0 and minimum -1) for 2,263 TCEs on 2,110 stars (PC 1,058, AFP 471,
  NTP 734), each record carrying every column of the DR24 TCE table. Not in ../shared/data and
  not in this repository (the records come with no licence): fetch them with git from
  github.com/Qkvad/exo_NN, commit 53872356, folder astronet/astronet/exo_nn_tfrecord/ (ten
  TFRecord files, 29 MB), e.g.

      git clone https://github.com/Qkvad/exo_NN && git -C exo_NN archive 53872356 \
          astronet/astronet/exo_nn_tfrecord | tar -x --strip-components=3 -C DIR

  and give DIR as --astronet-records (default: $EXOSIEVE_ASTRONET_RECORDS, else
  ../data_ext/exo_nn beside the checkout); where it is absent the set is skipped, saying so. Labels PC = 1,
  AFP and NTP = 0; the views' geometry is declared (views.preset: astronet); the 8 stars of
  ../shared/data are left out as for dr24 (2 of the TCEs); exominer and the trees (flattened views
  beside them) read the DR24 columns in ASTRONET_FEATURES as scalar features, astronet the views
  only. The records' tce_duration is in days (Astronet's code divides the table's hours by 24),
  declared as catalog.views_keys. No transit was clipped, so catalog.keep_damaged keeps every
  record: the damage check, made for DART-Vetter's +-2.5-duration local views, flags 4 NTPs here
  (3 of them with 3 transits, 2 with a clear dip in the local view) whose sparse cadences repeat
  bins. exominer's and the trees' DR24 features are not measured from a light curve, so
  benchmarks/real_tces.py --models can score light curves with this run's astronet only.
- ``tess_yu2019``: Yu et al. (2019)'s labelled TESS views (github.com/yuliang419/Astronet-Vetting,
  astronet/tfrecords/, GPL-3.0: QLP light curves of sectors 1-5, 14,798 TCEs in its train and val
  files, labelled by the TESS vetting team: PC 443, EB 1,924, J 12,431, V/IS/O already folded into
  J by its authors), PC = 1 and EB or J = 0 (Yu's vetting task). Its test file is the benchmark:
  never read here (benchmarks/tess_yu2019_test.py scores it, once, with a chosen bundle). Fetch:

      git clone https://github.com/yuliang419/Astronet-Vetting && git -C Astronet-Vetting archive HEAD \
          astronet/tfrecords LICENSE | tar -x -C DIR

  and give DIR/astronet/tfrecords as --yu-records (default: $EXOSIEVE_YU_RECORDS, else
  ../data_ext/yu_Vetting/astronet/tfrecords beside the checkout). The views' geometry is declared
  (views.preset: yu2019_tess) so that its models score TESS light curves; the secondary views are
  left out (their geometry, +-4 durations around the secondary, is not ExoSieve's).
- ``tess``: 1,506 TESS TOIs as SPOC 2-min views (each twice, two different views, so folds are
  grouped by TIC), labelled from today's TOI table (catalogs/toi.csv: CP/KP = PC, FP = AFP,
  FA = NTP; TOI PCs and APCs unlabelled).

Prints per set and model: ROC-AUC, average precision, the share of PCs scored at p >= 0.5 and of the
rest at p >= 0.5, recall at precision 0.99 and ECE, mean +-
std over the 5 folds, and the ECE of all out-of-fold scores pooled. Work folders are kept under
--work, so a rerun after a change retrains only what changed (Snakemake decides).

    python benchmarks/real_views.py [--sets dr24,dr24_features,tess,astronet_dr24] [--cores 2]
        [--config 'training={max_epochs: 20}'] [--astronet-records DIR] [--held-out DIR ...]

--held-out leaves out of the Kepler sets the stars of further folders of light curves as well,
e.g. the 71 stars of benchmarks/real_tces.py's held-out set, so that real_tces.py --lightcurves
DIR scores them with these runs' models as unseen stars.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from helpers import KEPLER_LC, SHARED_DATA, run_workflow, star_folders  # noqa: E402

# recall and false_positive_rate at the report's threshold (0.5): what a user reads, the share of
# planets scored at p >= 0.5 and of the rest above it.
METRICS = {"roc_auc": "ROC-AUC", "pr_auc": "AP", "recall": "PC>=0.5", "false_positive_rate": "FP>=0.5",
           "recall_at_precision_0.99": "R@P0.99", "ece": "ECE"}
# Anchors on the DR24 views, for the table (docs/results.md, "Real labelled views").
ANCHORS = """anchors: scikit-learn HistGradientBoosting on the flattened DR24 views, measured in ../shared/data's README:
ROC-AUC 0.958, AP 0.865 (a floor); Shallue & Vanderburg (2018) ROC-AUC 0.988 on their DR24 test split
(2001/201-bin views); Exonet (Ansdell et al. 2018) AP 0.980 there; ExoMiner recall 0.936 at precision 0.99
(Kepler DR25)."""

# The DR24 TCE table's numeric columns that Astronet's records carry (github.com/Qkvad/exo_NN), used
# as scalar features by exominer and the trees in the astronet_dr24 set: the transit fit, the DV
# statistics (bootstrap, odd/even, centroid offsets, ghost and MES diagnostics) and the star. Left
# out: the autovetter's own outputs (av_pp_*, av_vf_*: the labels' source), tce_nkoi (whether the
# TCE became a KOI, which the labels follow), ids and times (kepid, tce_plnt_num, tce_time0*,
# tce_quarters, tce_fwm_sra/sdec: where the star is), and columns empty or constant in every
# record (the tcet_*, wst_*, tce_rb_*, albedo, planet temperature, insolation, tce_ioflag ...).
ASTRONET_FEATURES = [
    "tce_period", "tce_duration", "tce_depth", "tce_model_snr", "tce_max_mult_ev", "tce_max_sngle_ev",
    "tce_num_transits", "tce_impact", "tce_ror", "tce_dor", "tce_incl", "tce_ingress", "tce_prad", "tce_sma",
    "tce_eqt", "tce_model_chisq", "tce_model_dof", "tce_chisq1", "tce_chisq2", "tce_dof1", "tce_dof2",
    "tce_full_conv", "tce_bin_oedp_stat", "boot_fap", "boot_mesmean", "boot_messtd", "boot_mesthresh",
    "tce_robstat", "tce_rmesmad", "tce_rminmes", "tce_rsnrmes", "tce_mesmad", "tce_maxmes", "tce_maxmesd",
    "tce_minmes", "tce_minmesd",
    "tce_dicco_mra", "tce_dicco_mra_err", "tce_dicco_mdec", "tce_dicco_mdec_err", "tce_dicco_msky",
    "tce_dicco_msky_err", "tce_dikco_mra", "tce_dikco_mra_err", "tce_dikco_mdec", "tce_dikco_mdec_err",
    "tce_dikco_msky", "tce_dikco_msky_err", "tce_fwm_stat", "tce_fwm_srao", "tce_fwm_srao_err", "tce_fwm_sdeco",
    "tce_fwm_sdeco_err", "tce_fwm_prao", "tce_fwm_prao_err", "tce_fwm_pdeco", "tce_fwm_pdeco_err",
    "tce_steff", "tce_slogg", "tce_smet", "tce_sradius", "tce_ldm_coeff1", "tce_ldm_coeff2", "tce_ldm_coeff3",
    "tce_ldm_coeff4",
]
# Beside the checkout, as ../shared/data is: data that may not enter the repository.
ASTRONET_RECORDS = Path(os.environ.get("EXOSIEVE_ASTRONET_RECORDS", REPO.parent / "data_ext" / "exo_nn"))
YU_RECORDS = Path(os.environ.get("EXOSIEVE_YU_RECORDS", REPO.parent / "data_ext" / "yu_Vetting" / "astronet" / "tfrecords"))
# Yu et al.'s train and val files; the test file is the benchmark, never trained, tuned or chosen on.
YU_TRAINING_FILES = "[tv][ra]*-of-*"
ASTRONET_FETCH = ("github.com/Qkvad/exo_NN, commit 53872356, folder astronet/astronet/exo_nn_tfrecord/ "
                  "(see this file's docstring)")


def real_kepler_stars(held_out: tuple[Path, ...] = ()) -> list[str]:
    """The stars whose full-mission light curves are in ../shared/data, and in each held_out folder
    (MAST's layout): left out of the DR24 runs, so that their models can score those light curves
    as unseen stars (benchmarks/real_tces.py)."""
    return sorted(set().union(star_folders(KEPLER_LC), *(star_folders(root) for root in held_out)))


def has_tfrecords(folder: Path) -> bool:
    """A folder holding at least one TFRecord file (a Git LFS pointer or an HTML page is not one)."""
    from exosieve.catalog.tfrecord import is_tfrecord
    return folder.is_dir() and any(p.is_file() and is_tfrecord(p) for p in folder.iterdir())


def set_config(name: str, work: Path, astronet_records: Path = ASTRONET_RECORDS,
               held_out: tuple[Path, ...] = ()) -> dict:
    views = SHARED_DATA / "views"
    exclude = real_kepler_stars(held_out)
    # The DR24 records' geometry, declared, so that these runs' models can score light curves.
    dr24 = {"views": {"preset": "dartvetter_dr24"}}
    if name == "dr24":
        catalog = {"source": "views", "path": str(views / "kepler_dr24_dartvetter"),
                   "labels": {"positive": [1], "negative": [0]}, "exclude": exclude, "views_mission": "kepler"}
        return {"catalog": catalog, **dr24}
    if name == "dr24_features":
        from helpers import with_tce_ids
        path = with_tce_ids(SHARED_DATA, work / "dr24_tce_views")
        catalog = {"source": "views", "path": str(path), "views_features": ["tce_period", "tce_duration", "tce_depth"],
                   "exclude": exclude}
        return {"catalog": catalog, "models": {"trees": {"inputs": "views"}}, **dr24}
    if name == "tess":
        catalog = {"source": "views", "path": str(views / "tess_toi_hultstrand"), "views_mission": "tess",
                   "labels_path": str(SHARED_DATA / "catalogs" / "toi.csv")}
        return {"catalog": catalog}
    if name == "tess_yu2019":
        catalog = {"source": "views", "path": str(YU_RECORDS / YU_TRAINING_FILES), "views_mission": "tess",
                   "labels": {"positive": ["PC"], "negative": ["EB", "J"]},
                   "views_keys": {"views": {"global": "global_view", "local": "local_view"}}}
        return {"catalog": catalog, "views": {"preset": "yu2019_tess"}}
    if name == "astronet_dr24":
        catalog = {"source": "views", "path": str(astronet_records),
                   "labels": {"positive": ["PC"], "negative": ["AFP", "NTP"]}, "exclude": exclude, "views_mission": "kepler",
                   "views_keys": {"duration": "tce_duration", "duration_unit": "days"},
                   "views_features": ASTRONET_FEATURES, "keep_damaged": True}
        models = {"enabled": ["exominer", "astronet", "trees"], "trees": {"inputs": "views"}}
        return {"catalog": catalog, "models": models, "views": {"preset": "astronet"}}
    raise SystemExit(f"unknown set {name}; the sets are dr24, dr24_features, tess, tess_yu2019, astronet_dr24")


def run_set(name: str, work: Path, cores: int, extra: list[str], astronet_records: Path = ASTRONET_RECORDS,
            held_out: tuple[Path, ...] = ()) -> tuple[pd.DataFrame, float]:
    folder = work / name
    cfg = {**set_config(name, work, astronet_records, held_out), "cv": {"folds": 5}, "report": {"sheets": 2}}
    seconds = run_workflow(folder, cfg, cores, extra)
    return table(folder / "results" / "report", name), seconds


def table(report: Path, name: str) -> pd.DataFrame:
    metrics = pd.read_csv(report / "metrics.csv")
    folds = metrics[~metrics.fold.isin(["mean", "std"])]
    calibration = pd.read_csv(report / "calibration.csv").set_index("model")
    rows = []
    for model, m in folds.groupby("model", sort=False):
        row = {"set": name, "model": model, "TCEs": int(m.n.sum()), "PC": int(m.n_positive.sum())}
        for col, label in METRICS.items():
            row[label] = f"{m[col].mean():.3f} ± {m[col].std(ddof=1):.3f}"
        row["ECE pooled"] = f"{calibration.loc[model, 'ece']:.3f}"
        rows.append(row)
    return pd.DataFrame(rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", default="dr24,dr24_features,tess")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--work", type=Path, default=REPO / "results" / "benchmarks" / "real_views")
    ap.add_argument("--config", nargs="*", default=[], help="extra Snakemake --config items for every set")
    ap.add_argument("--astronet-records", type=Path, default=ASTRONET_RECORDS,
                    help="folder of Astronet's DR24 TFRecords for the astronet_dr24 set (default: "
                         "$EXOSIEVE_ASTRONET_RECORDS, else ../data_ext/exo_nn beside the checkout)")
    ap.add_argument("--held-out", type=Path, nargs="*", default=[], help="folders of Kepler light curves in MAST's "
                    "layout whose stars the Kepler sets also leave out, to be scored with real_tces.py --lightcurves")
    args = ap.parse_args()
    if not (SHARED_DATA / "views").is_dir():
        print(f"real views not found at {SHARED_DATA / 'views'}; set EXOSIEVE_SHARED_DATA to the shared data folder")
        return 2
    tables = []
    for name in args.sets.split(","):
        if name == "astronet_dr24" and not has_tfrecords(args.astronet_records):
            print(f"astronet_dr24: skipped, no TFRecord files in {args.astronet_records}; fetch them from "
                  f"{ASTRONET_FETCH} and give their folder as --astronet-records or $EXOSIEVE_ASTRONET_RECORDS",
                  flush=True)
            continue
        if name == "tess_yu2019" and not has_tfrecords(YU_RECORDS):
            print(f"tess_yu2019: skipped, no TFRecord files in {YU_RECORDS}; fetch them as this file's docstring "
                  "says and set $EXOSIEVE_YU_RECORDS to their folder", flush=True)
            continue
        t, seconds = run_set(name, args.work, args.cores, args.config, args.astronet_records, tuple(args.held_out))
        print(f"{name}: {seconds / 60:.1f} min", flush=True)
        tables.append(t)
    if not tables:
        return 2
    pd.set_option("display.width", 200)
    print()
    print(pd.concat(tables, ignore_index=True).to_string(index=False))
    print()
    print(ANCHORS)
    return 0


if __name__ == "__main__":
    sys.exit(main())

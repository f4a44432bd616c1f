"""The benchmark a TESS bundle is judged on once: Yu et al. (2019)'s vetting test split.

Yu et al.'s TESS views (github.com/yuliang419/Astronet-Vetting, astronet/tfrecords/: QLP light
curves of sectors 1-5 labelled by the TESS vetting team) come in train, val and test files. A
bundle learns from the first two only (exosieve/bundles/tess_yu2019.yaml); the test file is scored
here, through the workflow as a user scores any views dataset with models trained elsewhere
(``models={from: BUNDLE}``, the views source, nothing trained), PC = 1 against EB and J = 0 (Yu's
vetting task; V, IS and O are folded into J in the files). Yu et al. report an average precision
of 0.693 for their vetting model on it.

    python benchmarks/tess_yu2019_test.py --models tess_yu2019 [--records DIR]

Never choose, tune or train on what this prints: it is the final report of a choice made
elsewhere (out of fold on the train and val files: benchmarks/real_views.py --sets tess_yu2019).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "benchmarks"))

from helpers import SHARED_DATA, run_workflow  # noqa: E402
from real_views import YU_RECORDS, has_tfrecords  # noqa: E402

YU_VETTING_AP = 0.693


def main() -> int:
    from exosieve.model_files import load_models, resolve_models
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="tess_yu2019", help="a bundle or a shipped bundle's name")
    ap.add_argument("--records", type=Path, default=YU_RECORDS, help="Yu et al.'s tfrecords folder (default: "
                    "$EXOSIEVE_YU_RECORDS, else ../data_ext/yu_Vetting/astronet/tfrecords)")
    ap.add_argument("--toi-views", action="store_true", help="also score ../shared/data's real TOI views (each TOI "
                    "twice), labelled from the TOI table: the share of real false-positive TOIs above 0.5")
    ap.add_argument("--work", type=Path, default=REPO / "results" / "benchmarks" / "tess_yu2019_test")
    args = ap.parse_args()
    test = args.records / "test-00000-of-00001"
    if not has_tfrecords(args.records) or not test.is_file():
        print(f"Yu et al.'s test file not found at {test}: fetch the records as benchmarks/real_views.py says")
        return 2
    bundle = resolve_models(args.models)
    names = list(load_models(bundle).models)
    cfg = {"catalog": {"source": "views", "path": str(test), "labels": {"positive": ["PC"], "negative": ["EB", "J"]},
                       "views_keys": {"views": {"global": "global_view", "local": "local_view"}}},
           "views": {"preset": "yu2019_tess"}, "cv": {"folds": 2}, "report": {"sheets": 1},
           "models": {"from": str(bundle), "enabled": names, "primary": names[0]}}
    report(run_workflow(args.work / "yu", cfg, 2), args.work / "yu", "Yu et al. (2019)'s vetting test split", names,
           bundle, f" (Yu et al.: {YU_VETTING_AP})", "EB/J")
    toi_views = SHARED_DATA / "views" / "tess_toi_hultstrand"
    if args.toi_views and toi_views.is_dir():
        cfg["catalog"] = {"source": "views", "path": str(toi_views), "views_mission": "tess",
                          "labels_path": str(SHARED_DATA / "catalogs" / "toi.csv"),
                          "views_keys": {"views": {"global": "global_view", "local": "local_view"}}}
        report(run_workflow(args.work / "toi", cfg, 2), args.work / "toi", "the TOI views of ../shared/data (SPOC "
               "2-min, another author's views; labels from today's TOI table: CP/KP against FP/FA)", names, bundle,
               "", "FP/FA")
    return 0


def report(seconds: float, work: Path, what: str, names: list[str], bundle: Path, anchor: str, negatives: str) -> None:
    from exosieve.evaluation import classification_metrics
    catalog = pd.read_csv(work / "results" / "report" / "vetted_catalog.csv")
    labelled = catalog[catalog.label.isin([0, 1])]
    print(f"{what}: {len(labelled)} TCEs ({int(labelled.label.sum())} PC), scored by {bundle.name} in {seconds:.0f} s")
    for name in names:
        column = "score" if name == names[0] else f"score_{name}"
        m = classification_metrics(labelled.label, labelled[column])
        print(f"  {name:<9} AP {m['pr_auc']:.3f}{anchor}, ROC-AUC {m['roc_auc']:.3f}, PCs at p >= 0.5 "
              f"{m['recall']:.1%}, {negatives} at p >= 0.5 {m['false_positive_rate']:.1%}, precision at 0.5 "
              f"{m['precision']:.3f}, ECE {m['ece']:.3f}")


if __name__ == "__main__":
    sys.exit(main())

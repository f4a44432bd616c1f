"""Multiplicity as evidence (evaluation.multiplicity_prior), measured on a finished run.

Planets come in systems: a TCE on a star with other TCEs is more often a planet (Lissauer et al.
2012). The prior updates each calibrated score by Bayes' rule with whether the TCE's star has
another TCE at a distinct period in the run's catalog (not this one's, twice or half it: an
eclipsing binary's secondary is no second planet; exosieve/calibration.py), a fold's likelihood ratio estimated
from the labels of the other folds only. This reads a run's out-of-fold scores (results/scores/<model>/
fold_*.csv, as the models gave them; else the report's vetted_catalog.csv, if the report was built
without the prior), its catalog (results/catalog/tces.csv: every TCE, labelled or not, counts towards
its star) and folds, applies the report's own update (exosieve.report.multiplicity_prior), and prints
per model and fold the ROC-AUC, average precision (PR-AUC) and ECE without and with it, the paired
difference as mean ± standard error over folds, and whether it is beyond fold noise (|mean| > 2 s.e.).

    python benchmarks/multiplicity.py --run DIR    # DIR: a workflow folder holding results/, or results/ itself
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

METRICS = {"roc_auc": "ROC-AUC", "pr_auc": "AP", "ece": "ECE"}


def results_folder(run: Path) -> Path:
    for folder in (run / "results", run):
        if (folder / "catalog" / "tces.csv").exists():
            return folder
    raise SystemExit(f"{run}: neither it nor {run / 'results'} holds catalog/tces.csv (a finished run's results)")


def out_of_fold_scores(results: Path) -> dict[str, pd.DataFrame]:
    """{model: its scores (tce_id, fold, role, label, score)}: the score files, else the vetted catalog."""
    from exosieve.report import group_by_model
    paths = sorted(results.glob("scores/*/fold_*.csv"))
    if paths:
        return {m: pd.concat([pd.read_csv(p, dtype={"tce_id": str}) for p in ps], ignore_index=True)
                for m, ps in group_by_model(paths).items()}
    report = results / "report"
    if not (report / "vetted_catalog.csv").exists():
        raise SystemExit(f"{results}: no scores/<model>/fold_*.csv and no report/vetted_catalog.csv")
    index = report / "index.html"
    if index.exists() and "multiplicity_prior" in index.read_text():
        raise SystemExit(f"{report}: this report's scores already include the multiplicity prior, and the "
                         "models' own scores (scores/<model>/fold_*.csv) are gone")
    cat = pd.read_csv(report / "vetted_catalog.csv", dtype={"tce_id": str, "star_id": str})
    cat = cat[(cat.label >= 0) & (cat.fold >= 0)]
    compared = report / "model_comparison.csv"
    others = [c[len("score_"):] for c in cat.columns if c.startswith("score_") and c not in ("score_raw", "score_std")]
    primary = next((m for m in pd.read_csv(compared).model if m not in others), "primary") if compared.exists() \
        else "primary"
    base = cat[["tce_id", "fold", "label"]].assign(role="test")
    return {m: base.assign(score=cat["score" if m == primary else f"score_{m}"].to_numpy())
            for m in [primary, *others]}


def main() -> int:
    from exosieve.catalog.table import read_normalized
    from exosieve.evaluation import classification_metrics, expected_calibration_error
    from exosieve.folds import read_folds
    from exosieve.catalog.ephemeris import has_distinct_neighbour
    from exosieve.report import multiplicity_prior
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, default=REPO, help="a workflow folder holding results/, or the "
                        "results folder itself (default: this checkout's run)")
    args = parser.parse_args()
    results = results_folder(args.run)
    tces = read_normalized(results / "catalog" / "tces.csv")
    scores = {m: s[s.role == "test"].reset_index(drop=True) for m, s in out_of_fold_scores(results).items()}
    folds_csv = results / "folds" / "folds.csv"
    if folds_csv.exists():
        folds = read_folds(folds_csv)
    else:        # the scored labelled TCEs, with their folds
        folds = pd.concat(scores.values()).drop_duplicates("tce_id")[["tce_id", "label", "fold"]]
    adjusted, ratios = multiplicity_prior(scores, tces, folds)
    multi = pd.Series(has_distinct_neighbour(tces), index=tces.index)
    labelled = tces[tces.label >= 0]
    print(f"{results}: {len(tces)} TCEs on {tces.star_id.nunique()} stars, {multi.mean():.1%} with another TCE "
          f"at a distinct period on their star; of the labelled, {multi[tces.label == 1].mean():.1%} of PCs and {multi[tces.label == 0].mean():.1%} "
          f"of the rest ({len(labelled)} labelled)")
    print("likelihood ratio by fold (labels of the other folds), with / without a distinct neighbour: "
          + ", ".join(f"{k}: {r.multi:.3f} / {r.single:.3f}" for k, r in ratios.items() if k != "unlabelled"))
    pd.set_option("display.width", 200)
    for model, before in scores.items():
        after = adjusted[model]
        rows = []
        for fold, part in before.groupby("fold"):
            new = after.loc[part.index]
            a, b = classification_metrics(part.label, part.score), classification_metrics(new.label, new.score)
            rows.append({"fold": int(fold), **{f"{k}": a[k] for k in METRICS}, **{f"{k}+prior": b[k] for k in METRICS}})
        table = pd.DataFrame(rows)
        print(f"\n{model}: {len(before)} labelled TCEs out of fold, {len(table)} folds; pooled ECE "
              f"{expected_calibration_error(before.label, before.score):.4f} without the prior, "
              f"{expected_calibration_error(after.label, after.score):.4f} with it")
        print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
        for key, name in METRICS.items():
            diff = (table[f"{key}+prior"] - table[key]).dropna()
            mean = diff.mean()
            se = diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else np.nan
            verdict = "beyond fold noise" if np.isfinite(se) and abs(mean) > 2 * se else "within fold noise"
            print(f"  {name:<8} with - without: {mean:+.4f} ± {se:.4f} (s.e. over {len(diff)} folds): {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The cross-validation report: metrics per fold, curves, score histograms, training curves, a
confusion matrix, the vetted catalog and an ``index.html`` that ties them together."""

from __future__ import annotations

import html
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from .evaluation import classification_metrics
from .utils import atomic_output

log = logging.getLogger(__name__)


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _save(fig, path: Path) -> None:
    with atomic_output(path, ".png") as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png")
    _plt().close(fig)


def fold_metrics(oof: pd.DataFrame, threshold: float, precision_target: float) -> pd.DataFrame:
    rows = []
    for fold, part in oof.groupby("fold"):
        rows.append({"fold": str(fold), **classification_metrics(part.label, part.score, threshold, precision_target)})
    table = pd.DataFrame(rows)
    numeric = table.drop(columns=["fold"])
    mean = {"fold": "mean", **numeric.mean().to_dict()}
    std = {"fold": "std", **numeric.std(ddof=1).to_dict()}
    return pd.concat([table, pd.DataFrame([mean, std])], ignore_index=True)


def vetted_catalog(tces: pd.DataFrame, scores: pd.DataFrame, failures: pd.DataFrame) -> pd.DataFrame:
    """Every catalog TCE with its out-of-fold score (labelled) or mean fold-model score
    (unlabelled, with the spread across folds), ranked; failed TCEs keep their error."""
    test = scores[scores.role == "test"][["tce_id", "fold", "score"]]
    unl = (scores[scores.role == "unlabelled"].groupby("tce_id")["score"]
           .agg(["mean", "std", "count"]).reset_index()
           .rename(columns={"mean": "score", "std": "score_std", "count": "n_models"}))
    test = test.assign(score_std=np.nan, n_models=1)
    unl = unl.assign(fold=-1)
    scored = pd.concat([test, unl], ignore_index=True)
    cols = ["tce_id", "star_id", "tce_num", "period", "epoch", "duration", "depth", "disposition", "label"]
    cat = tces[cols].merge(scored, on="tce_id", how="left")
    cat["duration"] = cat["duration"] * 24.0
    cat = cat.rename(columns={"duration": "duration_hours", "depth": "depth_ppm"})
    if len(failures):
        err = failures.drop_duplicates("tce_id").set_index("tce_id")["error"]
        cat["error"] = cat["tce_id"].map(err)
    else:
        cat["error"] = np.nan
    cat["status"] = np.where(cat["score"].notna(), "scored", "failed")
    cat["rank"] = cat["score"].rank(ascending=False, method="first").astype("Int64")
    return cat.sort_values(["rank", "tce_id"], na_position="last").reset_index(drop=True)


def _curves(oof: pd.DataFrame, out: Path) -> list[str]:
    from sklearn.metrics import precision_recall_curve, roc_curve
    plt = _plt()
    made = []
    for kind in ("pr", "roc"):
        fig, ax = plt.subplots(figsize=(5.2, 4.6))
        for fold, part in list(oof.groupby("fold")) + [("all", oof)]:
            if part.label.nunique() < 2:
                continue
            lw, alpha = (2.2, 1.0) if fold == "all" else (1.0, 0.6)
            if kind == "pr":
                p, r, _ = precision_recall_curve(part.label, part.score)
                ax.plot(r, p, lw=lw, alpha=alpha, label=f"fold {fold}" if fold != "all" else "all folds")
            else:
                fpr, tpr, _ = roc_curve(part.label, part.score)
                ax.plot(fpr, tpr, lw=lw, alpha=alpha, label=f"fold {fold}" if fold != "all" else "all folds")
        if kind == "pr":
            ax.set(xlabel="recall", ylabel="precision", title="Precision-recall (out of fold)")
            ax.axhline(oof.label.mean(), color="grey", ls=":", lw=1, label="chance")
        else:
            ax.plot([0, 1], [0, 1], color="grey", ls=":", lw=1, label="chance")
            ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC (out of fold)")
        ax.set(xlim=(0, 1), ylim=(0, 1.02))
        ax.legend(fontsize=7, loc="lower left" if kind == "pr" else "lower right")
        _save(fig, out / f"{kind}_curve.png")
        made.append(f"{kind}_curve.png")
    return made


def _histogram(catalog: pd.DataFrame, out: Path) -> str:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4))
    bins = np.linspace(0, 1, 26)
    for disp, part in catalog.dropna(subset=["score"]).groupby("disposition"):
        ax.hist(part.score, bins=bins, histtype="step", lw=1.6, label=f"{disp} ({len(part)})")
    ax.set(xlabel="planet score", ylabel="TCEs", yscale="log", title="Scores by catalog label")
    ax.legend(fontsize=8)
    _save(fig, out / "score_histogram.png")
    return "score_histogram.png"


def _training_curves(histories: dict[int, pd.DataFrame], out: Path) -> str:
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for fold, h in sorted(histories.items()):
        per_epoch = h.groupby("epoch").first()
        if "val_pr_auc" in per_epoch:
            axes[0].plot(per_epoch.index, per_epoch["val_pr_auc"], label=f"fold {fold}")
        for col, ls in (("train_loss", "-"), ("val_loss", "--")):
            if col in per_epoch:
                axes[1].plot(per_epoch.index, per_epoch[col], ls=ls, color=f"C{fold % 10}",
                             label=f"fold {fold} {col.split('_')[0]}")
    axes[0].set(xlabel="epoch", ylabel="validation PR-AUC", title="Early-stopping metric")
    axes[1].set(xlabel="epoch", ylabel="loss", title="Training (solid) and validation (dashed) loss")
    axes[0].legend(fontsize=7)
    _save(fig, out / "training_curves.png")
    return "training_curves.png"


def _confusion(oof: pd.DataFrame, threshold: float, out: Path) -> tuple[str, np.ndarray]:
    from sklearn.metrics import confusion_matrix
    plt = _plt()
    cm = confusion_matrix(oof.label, (oof.score >= threshold).astype(int), labels=[0, 1])
    fig, ax = plt.subplots(figsize=(4, 3.6))
    ax.imshow(cm, cmap="Blues")
    for (i, j), v in np.ndenumerate(cm):
        ax.text(j, i, str(v), ha="center", va="center", color="black" if v < cm.max() / 2 else "white")
    ax.set(xticks=[0, 1], yticks=[0, 1], xticklabels=["not planet", "planet"],
           yticklabels=["not planet", "planet"], xlabel="predicted", ylabel="catalog label",
           title=f"Confusion at threshold {threshold:g}")
    _save(fig, out / "confusion_matrix.png")
    return "confusion_matrix.png", cm


def _table_html(df: pd.DataFrame) -> str:
    def fmt(v: float) -> str:  # counts stay counts; rates get three decimals
        return f"{v:.0f}" if float(v).is_integer() and abs(v) >= 2 else f"{v:.3f}"
    return df.to_html(index=False, float_format=fmt, na_rep="–", border=0, classes="tbl")


def build_report(tces_csv, folds_csv, score_csvs, history_csvs, failure_csvs, out_dir, cfg,
                 truth_csv=None) -> pd.DataFrame:
    from .catalog.table import read_normalized
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rep = cfg["report"]
    tces = read_normalized(tces_csv)
    scores = pd.concat([pd.read_csv(p, dtype={"tce_id": str}) for p in score_csvs], ignore_index=True)
    failures = pd.concat([pd.read_csv(p, dtype=str) for p in failure_csvs if Path(p).stat().st_size > 0],
                         ignore_index=True) if failure_csvs else pd.DataFrame(columns=["tce_id", "error"])
    oof = scores[scores.role == "test"].copy()
    metrics = fold_metrics(oof, rep["threshold"], rep["precision_target"])
    with atomic_output(out / "metrics.csv", ".csv") as tmp:
        metrics.to_csv(tmp, index=False, float_format="%.4f")
    catalog = vetted_catalog(tces, scores, failures)
    with atomic_output(out / "vetted_catalog.csv", ".csv") as tmp:
        catalog.to_csv(tmp, index=False, float_format="%.6g")
    with atomic_output(out / "failures.csv", ".csv") as tmp:
        failures.to_csv(tmp, index=False)
    histories = {}
    for p in history_csvs:
        h = pd.read_csv(p)
        histories[int(Path(p).parent.name.split("_")[-1])] = h
    plots = _curves(oof, out) + [_histogram(catalog, out), _training_curves(histories, out)]
    cm_png, cm = _confusion(oof, rep["threshold"], out)
    plots.append(cm_png)
    by_class = None
    if truth_csv and Path(truth_csv).exists():
        truth = pd.read_csv(truth_csv, dtype={"tce_id": str})[["tce_id", "true_class"]]
        merged = catalog.merge(truth, on="tce_id", how="left").dropna(subset=["score"])
        by_class = (merged.groupby("true_class")["score"]
                    .agg(n="count", mean_score="mean",
                         called_planet=lambda s: float((s >= rep["threshold"]).mean()))
                    .reset_index())
        with atomic_output(out / "by_true_class.csv", ".csv") as tmp:
            by_class.to_csv(tmp, index=False, float_format="%.4f")
    _write_html(out, cfg, metrics, catalog, failures, plots, cm, by_class, len(tces))
    return metrics


def _write_html(out: Path, cfg, metrics, catalog, failures, plots, cm, by_class, n_catalog) -> None:
    rep = cfg["report"]
    mean = metrics[metrics.fold == "mean"].iloc[0]
    top = catalog.head(25)[["rank", "tce_id", "period", "duration_hours", "depth_ppm", "disposition", "score"]]
    n_scored = int((catalog.status == "scored").sum())
    source = cfg["catalog"]["source"]
    fig = lambda name, caption: (f'<figure><img src="{name}" alt="{html.escape(caption)}">'
                                 f"<figcaption>{html.escape(caption)}</figcaption></figure>")
    class_section = ""
    if by_class is not None:
        class_section = ("<h2>Scores by true class (simulated survey only)</h2><p>The simulated survey "
                         "knows what each TCE really is. <em>called planet</em> is the fraction scored "
                         f"at or above {rep['threshold']:g}.</p>" + _table_html(by_class))
    failure_section = ("<p>No TCE failed.</p>" if not len(failures) else
                       f"<p>{len(failures)} TCE(s) could not be preprocessed and are listed in "
                       f'<a href="failures.csv">failures.csv</a>; the first few:</p>'
                       + _table_html(failures.head(10)))
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ExoSieve cross-validation report</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; color: #222; line-height: 1.45; }}
.tbl {{ border-collapse: collapse; font-size: 0.9em; }} .tbl td, .tbl th {{ padding: 3px 9px; border-bottom: 1px solid #ddd; text-align: right; }}
figure {{ display: inline-block; margin: 0.5em; vertical-align: top; }} img {{ max-width: 520px; }}
figcaption {{ font-size: 0.85em; color: #555; }} .big {{ font-size: 1.3em; }}
</style></head><body>
<h1>ExoSieve cross-validation report</h1>
<p>Source: <b>{html.escape(source)}</b>. {n_catalog} TCEs in the catalog, {n_scored} scored.
Each labelled TCE is scored by the one model that never saw its star ({cfg['cv']['folds']}-fold
cross-validation, grouped by star, stratified by label); unlabelled TCEs get the mean of all fold models.
A score near 1 means "looks like a planet".</p>
<p class="big">Mean over folds: PR-AUC <b>{mean.pr_auc:.3f}</b>, ROC-AUC <b>{mean.roc_auc:.3f}</b>,
precision {mean.precision:.3f} and recall {mean.recall:.3f} at threshold {rep['threshold']:g}.</p>
<h2>Metrics per fold</h2>
<p>PR-AUC is the area under the precision-recall curve (average precision); recall at precision
{rep['precision_target']:g} is how many planets survive if almost no false positives may.
Download: <a href="metrics.csv">metrics.csv</a>.</p>
{_table_html(metrics)}
<h2>Curves</h2>
{fig("pr_curve.png", "Precision-recall curve of each fold and of all out-of-fold scores")}
{fig("roc_curve.png", "ROC curve of each fold and of all out-of-fold scores")}
{fig("score_histogram.png", "Score distribution by catalog label (log scale)")}
{fig("confusion_matrix.png", "Confusion matrix of out-of-fold predictions")}
<h2>Training</h2>
{fig("training_curves.png", "Per-fold validation PR-AUC (early stopping) and losses by epoch")}
{class_section}
<h2>Vetted catalog</h2>
<p>Every TCE with its score and rank: <a href="vetted_catalog.csv">vetted_catalog.csv</a>. The 25 highest-ranked:</p>
{_table_html(top)}
<h2>Failures</h2>
{failure_section}
<p style="color:#888;font-size:0.8em">Generated by ExoSieve.</p>
</body></html>
"""
    with atomic_output(out / "index.html", ".html") as tmp:
        tmp.write_text(page)

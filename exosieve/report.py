"""The cross-validation report: every model side by side (metrics over folds, overlaid PR curves,
breakdowns by label and true class), the primary model's per-fold metrics, curves, histograms,
training curves and confusion matrix, the vetted catalog with explanations, diagnostic sheets, an
optional external test set, and an ``index.html`` that ties them together (rendered from the
Jinja2 template report/index.html.j2: the prose and markup there, the numbers and tables here)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from .evaluation import (classification_metrics, expected_calibration_error, pr_auc, reliability,
                         threshold_for_precision)
from .catalog.views_dataset import BAND_NAMES, DAMAGED_STAGE, REPEAT_STAGE
from .domain import with_reasons
from .layout import RunLayout
from .plots import pyplot, save_figure
from .utils import FLAGGED_STAGE, atomic_output

log = logging.getLogger(__name__)


def fold_metrics(oof: pd.DataFrame, threshold: float, precision_target: float) -> pd.DataFrame:
    rows = []
    for fold, part in oof.groupby("fold"):
        rows.append({"fold": str(fold), **classification_metrics(part.label, part.score, threshold, precision_target)})
    table = pd.DataFrame(rows)
    numeric = table.drop(columns=["fold"])
    mean = {"fold": "mean", **numeric.mean().to_dict()}
    std = {"fold": "std", **numeric.std(ddof=1).to_dict()}
    return pd.concat([table, pd.DataFrame([mean, std])], ignore_index=True)


COMPARED = ["pr_auc", "roc_auc", "precision", "recall", "false_positive_rate", "accuracy", "ece"]


def model_thresholds(oof: dict[str, pd.DataFrame], rep: dict) -> dict[str, float]:
    """Each model's threshold: report.threshold, or (report.threshold_precision) the lowest score
    at which the model's pooled out-of-fold precision reaches that precision."""
    if rep["threshold_precision"] is None:
        return {m: float(rep["threshold"]) for m in oof}
    out = {}
    for m, o in oof.items():
        t = threshold_for_precision(o.label, o.score, rep["threshold_precision"])
        out[m] = float(rep["threshold"]) if np.isnan(t) else t
    return out


def calibration_summary(oof: dict[str, pd.DataFrame], thresholds: dict[str, float]) -> pd.DataFrame:
    """Per model, on all out-of-fold scores: expected calibration error of the calibrated and of
    the raw scores, and at the model's threshold the observed precision beside the mean calibrated
    probability of the TCEs above it (they agree when the scores are probabilities)."""
    rows = []
    for m, o in oof.items():
        above = o[o.score >= thresholds[m]]
        rows.append({"model": m, "n": len(o), "planet_fraction": o.label.mean(),
                     "ece": expected_calibration_error(o.label, o.score),
                     "ece_uncalibrated": expected_calibration_error(o.label, o.score_raw),
                     "threshold": thresholds[m], "n_above": len(above),
                     "precision_above": above.label.mean() if len(above) else np.nan,
                     "mean_probability_above": above.score.mean() if len(above) else np.nan,
                     "recall": above.label.sum() / max(o.label.sum(), 1)})
    return pd.DataFrame(rows)


def model_comparison(per_model: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per model: each metric's mean ± std over folds, as text, plus the raw means."""
    rows = []
    for model, m in per_model.items():
        mean, std = m[m.fold == "mean"].iloc[0], m[m.fold == "std"].iloc[0]
        row = {"model": model, "threshold": f"{mean['threshold']:.3g}"}
        for col in COMPARED + [c for c in m.columns if c.startswith("recall_at_precision")]:
            row[col] = f"{mean[col]:.3f} ± {std[col]:.3f}"
        rows.append(row)
    return pd.DataFrame(rows)


def _attribution_columns(scores: pd.DataFrame) -> list[str]:
    return [c for c in scores.columns if c.startswith("attr_")]


def vetted_catalog(tces: pd.DataFrame, scores: pd.DataFrame, failures: pd.DataFrame,
                   other_scores: dict[str, pd.DataFrame] | None = None, threshold: float = 0.5) -> pd.DataFrame:
    """Every catalog TCE with the primary model's out-of-fold probability (labelled) or mean
    fold-model probability (unlabelled, with the spread across folds), the uncalibrated score,
    whether it is at or above ``threshold``, its branch attributions and the branch that moved its
    score most, the other models' scores, ranked; failed TCEs keep their error."""
    attrs = _attribution_columns(scores)
    test = scores[scores.role == "test"][["tce_id", "fold", "score", "score_raw", *attrs]]
    unl_rows = scores[scores.role == "unlabelled"]
    unl = (unl_rows.groupby("tce_id")["score"].agg(["mean", "std", "count"]).reset_index()
           .rename(columns={"mean": "score", "std": "score_std", "count": "n_models"}))
    unl = unl.merge(unl_rows.groupby("tce_id")["score_raw"].mean().reset_index(), on="tce_id")
    if attrs:
        unl = unl.merge(unl_rows.groupby("tce_id")[attrs].mean().reset_index(), on="tce_id")
    test = test.assign(score_std=np.nan, n_models=1)
    unl = unl.assign(fold=-1)
    scored = pd.concat([test, unl], ignore_index=True)
    cols = ["tce_id", "star_id", "tce_num", "period", "epoch", "duration", "depth", "disposition", "label"]
    cat = tces[cols].merge(scored, on="tce_id", how="left")
    cat["duration"] = cat["duration"] * 24.0
    cat = cat.rename(columns={"duration": "duration_hours", "depth": "depth_ppm"})
    if attrs:
        values = cat[attrs].to_numpy()
        has = np.isfinite(values).any(axis=1)
        top = np.full(len(cat), "", dtype=object)
        top[has] = [attrs[i][5:] for i in np.nanargmax(np.abs(np.where(np.isfinite(values), values, 0))[has], axis=1)]
        cat["top_branch"] = top
    for model, other in (other_scores or {}).items():
        cat[f"score_{model}"] = cat["tce_id"].map(_one_score_per_tce(other))
    tce_rows = failures[failures.tce_id.notna() & (failures.tce_id != "")] if len(failures) else failures
    flagged = tce_rows[tce_rows.stage == FLAGGED_STAGE] if len(tce_rows) else tce_rows
    tce_failures = tce_rows[tce_rows.stage != FLAGGED_STAGE] if len(tce_rows) else tce_rows
    if len(tce_failures):
        err = tce_failures.drop_duplicates("tce_id").set_index("tce_id")["error"]
        cat["error"] = cat["tce_id"].map(err)
    else:
        cat["error"] = np.nan
    flag = (flagged.drop_duplicates("tce_id").set_index("tce_id")["error"].str.split(": ", n=1).str[-1]
            if len(flagged) else pd.Series(dtype=object))
    cat["flag"] = cat["tce_id"].map(flag).fillna("")
    unlike = _domain_flag_per_tce(scores)
    if len(unlike):
        why = cat["tce_id"].map(unlike).fillna("")
        cat["flag"] = with_reasons(cat["flag"], why)
    # A flagged TCE's views may not hold its transit, or it is unlike what the models learned from:
    # scored, but its score is no confident verdict.
    cat["status"] = np.where(cat["score"].isna(), "failed", np.where(cat["flag"] != "", "flagged", "scored"))
    cat["above_threshold"] = cat["score"] >= threshold
    cat["rank"] = cat["score"].rank(ascending=False, method="first").astype("Int64")
    return cat.sort_values(["rank", "tce_id"], na_position="last").reset_index(drop=True)


def _domain_flag_per_tce(scores: pd.DataFrame) -> pd.Series:
    """Why each TCE is unlike what its models learned from (domain.domain_flags): its test fold
    model's reason, or for an unlabelled TCE the first reason when most fold models give one."""
    if "domain_flag" not in scores:
        return pd.Series(dtype=object)
    rows = scores.assign(domain_flag=scores["domain_flag"].fillna("").astype(str))
    test = rows[rows.role == "test"].set_index("tce_id")["domain_flag"]
    unl = rows[rows.role == "unlabelled"].groupby("tce_id")["domain_flag"].agg(
        lambda s: s[s != ""].iloc[0] if 2 * (s != "").sum() > len(s) else "")
    out = pd.concat([test, unl])
    return out[out != ""]


def _one_score_per_tce(scores: pd.DataFrame) -> pd.Series:
    """Out-of-fold score for labelled TCEs, mean over fold models for unlabelled ones."""
    test = scores[scores.role == "test"].set_index("tce_id")["score"]
    unl = scores[scores.role == "unlabelled"].groupby("tce_id")["score"].mean()
    return pd.concat([test, unl])


def breakdown(scores_by_model: dict[str, pd.Series], groups: pd.Series, thresholds: dict[str, float]
              ) -> pd.DataFrame:
    """Per group (catalog label or true class) and model: TCE count, mean score and the fraction
    called planet (score >= that model's threshold)."""
    rows = []
    for model, score in scores_by_model.items():
        df = pd.DataFrame({"group": groups, "score": score}).dropna()
        for group, part in df.groupby("group"):
            rows.append({"group": group, "model": model, "n": len(part), "mean_score": part.score.mean(),
                         "called_planet": float((part.score >= thresholds[model]).mean())})
    table = pd.DataFrame(rows, columns=["group", "model", "n", "mean_score", "called_planet"])
    if table.empty:
        return table
    wide = table.pivot(index="group", columns="model", values="called_planet")
    wide.insert(0, "n", table.groupby("group")["n"].first())
    return wide[["n", *scores_by_model]].reset_index()


def _curves(oof: pd.DataFrame, out: Path) -> list[str]:
    from sklearn.metrics import precision_recall_curve, roc_curve
    plt = pyplot()
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
        save_figure(fig, out / f"{kind}_curve.png")
        made.append(f"{kind}_curve.png")
    return made


def _histogram(catalog: pd.DataFrame, out: Path) -> str:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    bins = np.linspace(0, 1, 26)
    for disp, part in catalog.dropna(subset=["score"]).groupby("disposition"):
        ax.hist(part.score, bins=bins, histtype="step", lw=1.6, label=f"{disp} ({len(part)})")
    ax.set(xlabel="planet probability", ylabel="TCEs", yscale="log", title="Scores by catalog label")
    from matplotlib.ticker import FuncFormatter
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))   # counts, not 3 x 10^0
    ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: f"{v:g}" if v in (2, 3, 5, 20, 30, 50) else ""))
    ax.legend(fontsize=8)
    save_figure(fig, out / "score_histogram.png")
    return "score_histogram.png"


def _training_curves(histories: dict[int, pd.DataFrame], out: Path) -> str:
    plt = pyplot()
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
    save_figure(fig, out / "training_curves.png")
    return "training_curves.png"


def _confusion(oof: pd.DataFrame, threshold: float, out: Path) -> tuple[str, np.ndarray]:
    from sklearn.metrics import confusion_matrix
    plt = pyplot()
    cm = confusion_matrix(oof.label, (oof.score >= threshold).astype(int), labels=[0, 1])
    fig, ax = plt.subplots(figsize=(4, 3.6))
    ax.imshow(cm, cmap="Blues")
    for (i, j), v in np.ndenumerate(cm):
        ax.text(j, i, str(v), ha="center", va="center", color="black" if v < cm.max() / 2 else "white")
    ax.set(xticks=[0, 1], yticks=[0, 1], xticklabels=["not planet", "planet"],
           yticklabels=["not planet", "planet"], xlabel="predicted", ylabel="catalog label",
           title=f"Confusion at threshold {threshold:g}")
    save_figure(fig, out / "confusion_matrix.png")
    return "confusion_matrix.png", cm


def _reliability_diagram(oof_by_model: dict[str, pd.DataFrame], calibration: pd.DataFrame, primary: str,
                         out: Path) -> str:
    ece = calibration.set_index("model")
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.6, 5.0))
    ax.plot([0, 1], [0, 1], color="grey", ls=":", lw=1, label="perfectly calibrated")
    for i, (model, oof) in enumerate(oof_by_model.items()):
        table = reliability(oof.label, oof.score)
        table = table[table.n > 0]
        ax.plot(table.mean_probability, table.planet_fraction, "o-", color=f"C{i}", lw=2 if model == primary else 1.2,
                ms=4, label=f"{model} (ECE {ece.loc[model, 'ece']:.3f})")
    raw = oof_by_model[primary]
    table = reliability(raw.label, raw.score_raw)
    table = table[table.n > 0]
    ax.plot(table.mean_probability, table.planet_fraction, "x--", color="grey", lw=1,
            label=f"{primary} uncalibrated (ECE {ece.loc[primary, 'ece_uncalibrated']:.3f})")
    ax.set(xlabel="predicted probability of planet (bin mean)", ylabel="observed planet fraction",
           title="Reliability (out of fold, 10 bins)", xlim=(0, 1), ylim=(0, 1))
    ax.legend(fontsize=7, loc="upper left")
    save_figure(fig, out / "reliability_diagram.png")
    return "reliability_diagram.png"


# The page's column headings in words (the CSVs keep the names a program reads).
HEADINGS = {"pr_auc": "PR-AUC", "roc_auc": "ROC-AUC", "ece": "ECE", "ece_uncalibrated": "ECE before calibration",
            "ece_per_fold": "ECE (each fold's own)", "ece_pooled": "ECE (all folds pooled)",
            "false_positive_rate": "non-planets called planets", "period": "period [d]",
            "duration_hours": "duration [h]", "depth_ppm": "depth [ppm]", "score": "probability", "recall": "planets called planets (recall)",
            "n_positive": "planets", "n_above": "TCEs above threshold", "planet_fraction": "planet fraction",
            "precision_above": "precision above threshold",
            "mean_probability_above": "mean probability above threshold"}


def _heading(name) -> str:
    name = str(name)
    if name.startswith("recall_at_precision_"):
        return f"recall at precision {name.rsplit('_', 1)[1]}"
    return HEADINGS.get(name, name.replace("_", " "))


def _table_html(df: pd.DataFrame) -> str:
    """A table for the report's page: HTML whose cells pandas escapes, so the template marks it safe."""
    def fmt(v: float) -> str:  # counts stay counts; rates get three decimals
        return f"{v:.0f}" if float(v).is_integer() and abs(v) >= 2 else f"{v:.3f}"
    return df.rename(columns=_heading).to_html(index=False, float_format=fmt, na_rep="–", border=0, classes="tbl",
                                               escape=True)


def _model_curves(oof_by_model: dict[str, pd.DataFrame], out: Path, name: str, title: str) -> str:
    from sklearn.metrics import precision_recall_curve
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.6, 4.8))
    for i, (model, oof) in enumerate(oof_by_model.items()):
        if oof.label.nunique() < 2:
            continue
        p, r, _ = precision_recall_curve(oof.label, oof.score)
        ax.plot(r, p, lw=2 if i == 0 else 1.4, color=f"C{i}",
                label=f"{model} (PR-AUC {pr_auc(oof.label, oof.score):.3f})")
    ax.set(xlabel="recall", ylabel="precision", title=title, xlim=(0, 1), ylim=(0, 1.02))
    ax.legend(fontsize=8, loc="lower left")
    save_figure(fig, out / name)
    return name


def group_by_model(paths, levels_up: int = 1) -> dict[str, list[str]]:
    """{model: paths}, the model being the folder ``levels_up`` above each file
    (scores/<model>/fold_0.csv: 1; models/<model>/fold_0/metrics.csv: 2), in first-seen order."""
    groups: dict[str, list[str]] = {}
    for path in paths:
        groups.setdefault(Path(path).parents[levels_up - 1].name, []).append(str(path))
    return groups


def _read_scores(paths: list[str]) -> pd.DataFrame:
    return pd.concat([pd.read_csv(p, dtype={"tce_id": str}) for p in paths], ignore_index=True)


def multiplicity_prior(scores: dict[str, pd.DataFrame], tces: pd.DataFrame, folds: pd.DataFrame
                       ) -> tuple[dict[str, pd.DataFrame], dict]:
    """evaluation.multiplicity_prior: every model's ``score`` updated by Bayes' rule with whether
    the TCE's star has another TCE at a distinct period in the catalog (catalog.ephemeris.
    has_distinct_neighbour; exosieve.calibration). A labelled TCE's score in
    fold k uses the likelihood ratios estimated from the labelled TCEs of the other folds (never
    its own fold's labels); unlabelled TCEs' scores, those of every labelled TCE. ``score_raw`` and
    the attributions stay as the model gave them. Returns the scores and the ratios by fold
    (and "unlabelled")."""
    from .calibration import apply_multiplicity, multiplicity_ratio
    from .catalog.ephemeris import has_distinct_neighbour
    multi = pd.Series(has_distinct_neighbour(tces), index=tces.tce_id)
    labelled = folds[folds.label >= 0]
    labelled_multi = labelled.tce_id.map(multi).fillna(False).to_numpy(bool)
    others = {int(k): (labelled.fold != k).to_numpy() for k in sorted(labelled.fold.unique())}
    ratios = {k: multiplicity_ratio(labelled.label[rows], labelled_multi[rows]) for k, rows in others.items()}
    ratios["unlabelled"] = multiplicity_ratio(labelled.label, labelled_multi)
    log.info("multiplicity prior: likelihood ratio multi-TCE / single-TCE star, by fold (labels of the other "
             "folds): %s", ", ".join(f"{k}: {r.multi:.3g} / {r.single:.3g}" for k, r in ratios.items()))
    out = {}
    for model, s in scores.items():
        m = s.tce_id.map(multi).fillna(False).to_numpy(bool)
        score = s.score.to_numpy(float).copy()
        for key, ratio in ratios.items():
            rows = (s.role == "unlabelled" if key == "unlabelled" else (s.role == "test") & (s.fold == key)).to_numpy()
            score[rows] = apply_multiplicity(score[rows], m[rows], ratio)
        out[model] = s.assign(score=score)
    return out, ratios


def build_report(tces_csv, folds_csv, score_csvs: dict[str, list[str]], history_csvs: dict[str, list[str]],
                 failure_csvs, out_dir, cfg, truth_csv=None, shard_paths=(), test_csvs=None,
                 tuning_csvs=(), template=None) -> pd.DataFrame:
    """Write the whole report into ``out_dir``; returns the model comparison table. ``index.html``
    is rendered from the Jinja2 ``template`` (rule report passes report/index.html.j2; by default,
    that file of the checkout this package runs from)."""
    from .catalog.table import read_normalized
    template = Path(template) if template is not None else report_template()
    if not template.is_file():   # before the work, not after it
        raise FileNotFoundError(f"report template {template} not found (build_report's template)")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rep = cfg["report"]
    primary = cfg["models"]["primary"]
    tces = read_normalized(tces_csv)
    scores = {m: _read_scores(paths) for m, paths in score_csvs.items()}
    ratios = None
    if cfg["evaluation"]["multiplicity_prior"]:
        from .folds import read_folds
        scores, ratios = multiplicity_prior(scores, tces, read_folds(folds_csv))
    failures = pd.concat([pd.read_csv(p, dtype=str) for p in failure_csvs if Path(p).stat().st_size > 0],
                         ignore_index=True) if failure_csvs else pd.DataFrame(columns=["tce_id", "error"])
    oof = {m: s[s.role == "test"].copy() for m, s in scores.items()}
    thresholds = model_thresholds(oof, rep)
    per_model = {m: fold_metrics(o, thresholds[m], rep["precision_target"]) for m, o in oof.items()}
    metrics = pd.concat([m.assign(model=name) for name, m in per_model.items()], ignore_index=True)
    metrics = metrics[["model", *[c for c in metrics.columns if c != "model"]]]
    comparison = model_comparison(per_model)
    calibration = calibration_summary(oof, thresholds)
    others = {m: s for m, s in scores.items() if m != primary}
    catalog = vetted_catalog(tces, scores[primary], failures, others, thresholds[primary])
    one_score = {m: _one_score_per_tce(s) for m, s in scores.items()}
    by_label = breakdown({m: catalog.tce_id.map(v) for m, v in one_score.items()}, catalog.disposition,
                         thresholds)
    tables = {"metrics.csv": metrics, "model_comparison.csv": comparison, "vetted_catalog.csv": catalog,
              "failures.csv": failures, "by_label.csv": by_label, "calibration.csv": calibration}
    by_class = None
    if truth_csv and Path(truth_csv).exists():
        truth = pd.read_csv(truth_csv, dtype={"tce_id": str}).set_index("tce_id")["true_class"]
        by_class = breakdown({m: catalog.tce_id.map(v) for m, v in one_score.items()},
                             catalog.tce_id.map(truth), thresholds)
        tables["by_true_class.csv"] = by_class
    test_metrics = None
    if test_csvs:
        test_scores = {m: pd.read_csv(p, dtype={"tce_id": str}) for m, p in test_csvs.items()}
        test_metrics = pd.DataFrame([{"model": m, **classification_metrics(
            t.label[t.label >= 0], t.score[t.label >= 0], thresholds[m], rep["precision_target"])}
            for m, t in test_scores.items()])
        tables["test_metrics.csv"] = test_metrics
    for name, table in tables.items():
        with atomic_output(out / name, ".csv") as tmp:
            table.to_csv(tmp, index=False, float_format="%.6g" if name == "vetted_catalog.csv" else "%.4f")

    histories = {int(Path(p).parent.name.split("_")[-1]): pd.read_csv(p) for p in history_csvs.get(primary, [])}
    plots = _curves(oof[primary], out) + [_histogram(catalog, out)]
    if histories:      # none when the models were trained elsewhere (models.from)
        plots.append(_training_curves(histories, out))
    cm_png, _ = _confusion(oof[primary], thresholds[primary], out)
    plots += [cm_png, _model_curves(oof, out, "model_pr_curves.png", "Precision-recall by model (out of fold)"),
              _reliability_diagram(oof, calibration, primary, out)]
    if test_metrics is not None:
        plots.append(_model_curves({m: t[t.label >= 0] for m, t in test_scores.items()}, out,
                                   "test_pr_curves.png", "Precision-recall on the external test set"))
    sheets = []
    if rep["sheets"] and shard_paths:
        from .sheets import write_sheets
        sheets = write_sheets(catalog, list(shard_paths), out / "sheets", rep["sheets"], cfg)
    mean = metrics[(metrics.model == primary) & (metrics.fold == "mean")].iloc[0]
    cal = calibration.set_index("model").loc[primary]
    top = catalog.head(25)[["rank", "tce_id", "period", "duration_hours", "depth_ppm", "disposition", "score",
                            *(["top_branch"] if "top_branch" in catalog else []),
                            *(["flag"] if "flag" in catalog else [])]]
    explanations = None
    if _attribution_columns(catalog):
        explanations = _table_html(catalog.top_branch[catalog.top_branch != ""].value_counts(normalize=True)
                                   .rename_axis("branch").reset_index(name="share"))
    folds_ratios = [r for k, r in ratios.items() if k != "unlabelled"] if ratios else []
    context = {
        "source": cfg["catalog"]["source"], "primary": primary, "n_catalog": len(tces),
        "n_scored": int(catalog.status.isin(["scored", "flagged"]).sum()),
        "models_from": str(cfg["models"]["from"]) if cfg["models"].get("from") else None,
        "cv_folds": cfg["cv"]["folds"], "rep": rep, "threshold": thresholds[primary],
        "headline": {k: mean[k] for k in ("pr_auc", "roc_auc", "precision", "recall")},
        "calibration": {"ece": cal.ece, "planet_fraction": cal.planet_fraction},
        "prior": {"multi": [r.multi for r in folds_ratios], "single": [r.single for r in folds_ratios],
                  "unlabelled_multi": ratios["unlabelled"].multi,
                  "unlabelled_single": ratios["unlabelled"].single} if ratios else None,
        # The comparison's and the folds' ECE is each fold's own (a few hundred TCEs: noisier than
        # the calibration table's, of every out-of-fold score together); their headings say which.
        "tables": {"comparison": _table_html(comparison.rename(columns={"ece": "ece_per_fold"})),
                   "calibration": _table_html(calibration.rename(columns={"ece": "ece_pooled"})),
                   "by_label": _table_html(by_label),
                   "by_class": _table_html(by_class) if by_class is not None else None,
                   "per_fold": _table_html(metrics[metrics.model == primary].drop(columns=["model"])
                                           .rename(columns={"ece": "ece_per_fold"})),
                   "test": _table_html(test_metrics) if test_metrics is not None else None,
                   "explanations": explanations, "top": _table_html(top)},
        "training_curves": "training_curves.png" in plots,
        "tuning": tuning_studies(list(tuning_csvs), out) if tuning_csvs else [],
        "sheets": sheets,
        "failures": failure_summary(catalog, failures),
    }
    write_index(out, context, template)
    return comparison


def report_template() -> Path:
    """report/index.html.j2 of the checkout this package runs from (a pip-installed package has
    none: pass build_report its ``template``)."""
    path = Path(__file__).resolve().parents[1].joinpath("report", "index.html.j2")
    if not path.is_file():
        raise FileNotFoundError(f"report template {path} not found: this exosieve is not run from a checkout "
                                "of the repository; pass build_report(..., template=<path to report/index.html.j2>)")
    return path


def write_index(out: Path, context: dict, template: Path) -> None:
    """Render the Jinja2 ``template`` with ``context`` into ``out``/index.html. Autoescape is on:
    the template marks the HTML tables of _table_html safe, and nothing else."""
    import jinja2
    path = Path(template)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(path.parent)), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True)
    page = env.get_template(path.name).render(context)
    with atomic_output(out / "index.html", ".html") as tmp:
        tmp.write_text(page)


def failure_summary(catalog: pd.DataFrame, failures: pd.DataFrame) -> dict:
    """What the report's failures section counts: TCEs that failed and files skipped (with the
    first rows of the other failures), repeats dropped, TCEs scored with a flag, damaged records by
    depth band."""
    n_flagged = int((catalog.status == "flagged").sum())
    n_files = int((failures.stage == "file").sum()) if len(failures) else 0
    repeats = failures[failures.stage == REPEAT_STAGE] if len(failures) else failures
    damaged = failures[failures.stage == DAMAGED_STAGE] if len(failures) else failures
    listed = (failures[~failures.stage.isin([REPEAT_STAGE, DAMAGED_STAGE, FLAGGED_STAGE])] if len(failures)
              else failures)
    bands = []
    if len(damaged):
        counts = (damaged.error.str.extract(r"depth band (\S+) ppm")[0].fillna("unknown").value_counts()
                  .reindex(BAND_NAMES, fill_value=0))
        bands = [(b, int(c)) for b, c in counts.items() if c]
    return {"n_failed": int((catalog.status == "failed").sum()), "n_files": n_files,
            "table": _table_html(listed.head(10)) if len(listed) else None,
            "repeats": len(repeats),
            "mirrors": int(repeats.error.str.contains("mirror image").sum()) if len(repeats) else 0,
            "flagged": n_flagged,
            "unlike": (int(catalog.flag.str.contains("training TCEs|learned from", regex=True).sum())
                       if n_flagged else 0),
            "damaged": len(damaged), "damaged_bands": bands}


def tuning_studies(trials_csvs: list[str], out: Path) -> list[dict]:
    """The tuning studies behind models trained with their best settings, for the report's tuning
    section: per model, each fold's best inner-fold PR-AUC by trial (its figure), trials run, pruned
    and failed, the chosen settings (its table) and the parameters' importances (a table, or None)."""
    from .config import read_yaml
    by_model: dict[str, list[Path]] = {}
    for path in map(Path, trials_csvs):
        by_model.setdefault(path.parents[1].name, []).append(path)
    parts = []
    for model, paths in by_model.items():
        plt = pyplot()
        fig, ax = plt.subplots(figsize=(6, 3.6))
        rows, importances = [], []
        for path in sorted(paths):
            fold = path.parent.name.split("_")[-1]
            trials = pd.read_csv(path)
            done = trials[trials.state == "COMPLETE"].sort_values("number")
            if len(done):
                ax.plot(done.number, done.value.cummax(), drawstyle="steps-post", label=f"fold {fold}")
            best = read_yaml((path.parent / "best.yaml").read_text())
            settings = {**best["models"][model], **{k: v for k, v in best.get("training", {}).items()}}
            rows.append({"fold": fold, "trials": len(trials), "pruned": int((trials.state == "PRUNED").sum()),
                         "failed": int((trials.state == "FAIL").sum()),
                         "best inner PR-AUC": done.value.max() if len(done) else np.nan,
                         "chosen settings": ", ".join(f"{k}={v}" for k, v in sorted(settings.items()))})
            imp = path.parent / "importances.csv"
            if imp.exists() and imp.stat().st_size > 30:
                importances.append(pd.read_csv(imp).set_index("parameter")["importance"])
        ax.set(xlabel="trial", ylabel="best inner-fold PR-AUC so far", title=f"{model}: tuning studies")
        ax.legend(fontsize=7)
        name = f"tuning_{model}.png"
        save_figure(fig, out / name)
        table = pd.DataFrame(rows)
        mean_imp = (pd.concat(importances, axis=1).mean(axis=1).sort_values(ascending=False).rename("importance")
                    .rename_axis("parameter").reset_index()) if importances else None
        parts.append({"model": model, "table": _table_html(table), "figure": name,
                      "importances": _table_html(mean_imp) if mean_imp is not None else None})
    return parts


def run_summary(results: str | Path, since: float) -> str | None:
    """A closing line for a run that (re)wrote the report after ``since`` (epoch seconds): how
    many TCEs could not be scored, by stage, and where they are listed; None otherwise."""
    report = Path(RunLayout(results).report_dir())
    failures_csv = report / "failures.csv"
    if not failures_csv.exists() or failures_csv.stat().st_mtime < since:
        return None
    failures = pd.read_csv(failures_csv, dtype=str)
    files = failures[failures.stage == "file"]
    failures = failures[failures.tce_id.notna() & (failures.stage != FLAGGED_STAGE)]
    skipped = (f" {len(files)} light-curve file(s) on {files.star_id.nunique()} star(s) were skipped and their "
               "stars' other files used (listed there too)." if len(files) else "")
    catalog_csv = report / "vetted_catalog.csv"
    n_flagged = (int((pd.read_csv(catalog_csv, usecols=["status"]).status == "flagged").sum())
                 if catalog_csv.exists() else 0)
    if n_flagged:
        skipped += (f" {n_flagged} TCE(s) were scored with a flag (their views may not hold their transit, or they "
                    "are unlike what the models learned from; the vetted catalog's column flag says why).")
    if failures.empty:
        return f"ExoSieve: every TCE was scored.{skipped} Report: {report / 'index.html'}"
    stages = failures.groupby("stage")["tce_id"].nunique()
    by_stage = ", ".join(f"{stage}: {n}" for stage, n in stages.items())
    return (f"ExoSieve: {failures.tce_id.nunique()} TCE(s) on {failures.star_id.nunique()} star(s) could not be "
            f"scored ({by_stage}); the rest were. They are listed in {failures_csv} and in the report, "
            f"{report / 'index.html'}.{skipped}")

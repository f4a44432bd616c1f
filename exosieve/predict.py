"""Scoring named targets with a finished run: from KIC or TIC ids to scores, as ExoMiner's pipeline
goes from TIC ids to scores. The targets' TCEs come from the run's catalog source, their light
curves are read, downloaded or generated as the run's were, preprocessed with the same code and
config, and scored by every fold model of every model: the mean and spread across folds of their
calibrated probabilities, beside the mean uncalibrated score."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from .catalog.sources import build_catalog, get_source, target_ids
from .evaluation import ensemble_scores, load_fold_models
from .layout import RunLayout
from .model_files import FoldModel, run_model_paths
from .domain import merged_domain, source_mission, unlike_training, with_reasons
from .preprocess import assemble, preprocess_stars
from .utils import atomic_output

log = logging.getLogger(__name__)


def run_models(cfg: dict, names=None) -> dict[str, list[FoldModel]]:
    """Every enabled model's fold models: those of ``models.from`` (a bundle or another run), else
    the configured run's, exactly folds 0..cv.folds-1 (never leftovers of an earlier run with more
    folds); each checked to read inputs made as this configuration makes them."""
    from .model_files import load_models
    names = [m for m in cfg["models"]["enabled"] if names is None or m in names]
    if cfg["models"].get("from"):
        model_set = load_models(cfg["models"]["from"], names)
        out = {name: model_set.fold_models(name) for name in model_set.models}
        for models in out.values():
            for m in models:
                m.check(cfg, same_run=False)
        return out
    # Exactly this configuration's folds; a model it does not train (raw_flux on a views source) is
    # simply absent.
    paths = run_model_paths(cfg["results"], cfg["cv"]["folds"], names)
    out = {model: load_fold_models(paths[model], cfg) for model in names if model in paths}
    if not out:
        raise FileNotFoundError(f"no trained models under {RunLayout(cfg['results']).models_dir()}; run the workflow "
                                "first (snakemake --cores N) with this configuration, or name models with models.from")
    return out


def predict_targets(cfg: dict, targets, out_csv: str | Path, progress: bool = True) -> pd.DataFrame:
    source = get_source(cfg)
    files = source.raw_catalog_files()
    if not all(Path(f).exists() for f in files.values()):
        source.write_raw_catalog()
    cfg = {**cfg, "catalog": {**cfg["catalog"], "targets": sorted(target_ids(targets))}}
    tces, _ = build_catalog(cfg, files)
    fold_models = run_models(cfg)
    index, failures = source.obtain_lightcurves(sorted(tces.star_id.unique()), progress)
    files_of = index.groupby("star_id")["path"].apply(list).to_dict()
    errors = {f["star_id"]: f["error"] for f in failures}
    results, fail = preprocess_stars(tces, files_of, set(errors), cfg, progress=progress)
    errors.update({f["tce_id"]: f["error"] for f in fail})
    out = tces[["tce_id", "star_id", "period", "epoch", "duration", "depth", "disposition"]].copy()
    out["flag"] = out.tce_id.map({t.tce_id: feats.get("flag", "") for t, _, feats in results}).fillna("")
    if results:
        data = assemble(results, cfg)
        unlike = dict(zip(data.meta.tce_id, unlike_training(
            merged_domain([m.domain for ms in fold_models.values() for m in ms]), source_mission(cfg), data)))
        why = out.tce_id.map(unlike).fillna("")
        out["flag"] = with_reasons(out["flag"], why)
        for model, models in fold_models.items():
            scores = ensemble_scores(models, data).set_index("tce_id")
            out[f"score_{model}"] = out.tce_id.map(scores["score"])
            out[f"score_{model}_std"] = out.tce_id.map(scores["score_std"])
            out[f"score_{model}_raw"] = out.tce_id.map(scores["score_raw"])
            out[f"n_models_{model}"] = len(models)
    out["error"] = [errors.get(t, errors.get(s, np.nan)) for t, s in zip(out.tce_id, out.star_id)]
    with atomic_output(out_csv, ".csv") as tmp:
        out.to_csv(tmp, index=False, float_format="%.6g")
    return out

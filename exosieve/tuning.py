"""Hyperparameter search that cannot leak: one Optuna study per (CNN, outer fold).

A study of outer fold k sees only that fold's training TCEs (every fold but k, as its training
job does): it splits them into ``tune.inner_folds`` folds, stratified by label and grouped by
star, and scores a trial by the mean validation PR-AUC of the models it trains on them. No trial
ever sees fold k's test TCEs, so the report's out-of-fold metrics of a model trained with the
study's best settings (``models.<name>.from_tuning``) stay honest.

The study lives in a journal file (Optuna's JournalStorage) under ``results/tune/<model>/fold_K/``:
a killed or extended study resumes where it stopped, and several workers may share it (each stops
when the study holds ``tune.trials`` finished trials). Its name is a hash of the search space,
the budget and the data, so that a changed space or budget starts a fresh study in the same file.
A trial's validation PR-AUC is reported after every epoch, so that the pruner (median or
Hyperband) stops one whose curve lags; a trial that fails is recorded with its error and the
study goes on. The same inputs and seed give the same trials (TPE, seeded, one worker).

Written beside the study: ``best.yaml`` (the best trial's settings as a config snippet),
``trials.csv`` (every trial: state, value, parameters, error) and ``importances.csv``.
Optuna is imported here only: jobs that do not tune never load it.
"""

from __future__ import annotations

import copy
import logging
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from .config import load, read_yaml, stable_hash
from .utils import atomic_output

log = logging.getLogger(__name__)

MODEL_PARAMS = ("conv_blocks", "filters", "kernel_size", "dropout", "fc_units")
TRAINING_PARAMS = ("learning_rate", "weight_decay", "batch_size")
AUGMENT_PARAMS = ("mirror", "noise")
LOG_SCALE = ("learning_rate", "weight_decay", "filters")


def suggest(trial, space: dict) -> dict:
    """One trial's settings from the search space: {"model": {...}, "training": {...}}."""
    out: dict = {"model": {}, "training": {}}
    for name, values in space.items():
        if not values:                     # [] is not searched: the model's own setting stays
            continue
        if name == "fc_units":
            choice = trial.suggest_categorical(name, [",".join(map(str, units)) for units in values])
            value = [int(u) for u in choice.split(",")]
        elif name in ("kernel_size", "batch_size"):
            value = trial.suggest_categorical(name, list(values))
        elif isinstance(values[0], int) and isinstance(values[1], int) and name not in ("dropout", "mirror", "noise"):
            value = trial.suggest_int(name, values[0], values[1], log=name in LOG_SCALE)
        else:
            value = trial.suggest_float(name, float(values[0]), float(values[1]), log=name in LOG_SCALE)
        if name in MODEL_PARAMS:
            out["model"][name] = value
        elif name in AUGMENT_PARAMS:
            out["training"].setdefault("augment", {})[name] = value
        else:
            out["training"][name] = value
    return out


def with_settings(cfg: dict, model: str, settings: dict) -> dict:
    """``cfg`` with a trial's (or a study's best) settings for ``model``."""
    out = copy.deepcopy(cfg)
    out["models"][model].update(settings.get("model", {}))
    training = settings.get("training", {})
    for key, value in training.items():
        if key == "augment":
            out["training"]["augment"].update(value)
        else:
            out["training"][key] = value
    return out


def best_settings_path(results: str | Path, model: str, fold: int) -> Path:
    from .layout import RunLayout
    return Path(RunLayout(results).tune_file(model, fold, "best.yaml"))


def tuned_config(cfg: dict, model: str, fold: int) -> dict:
    """The configuration fold ``fold`` of ``model`` trains under: with its study's best settings
    when ``models.<model>.from_tuning`` is set."""
    if not cfg["models"][model].get("from_tuning"):
        return cfg
    path = best_settings_path(cfg["results"], model, fold)
    if not path.exists():
        raise FileNotFoundError(f"models.{model}.from_tuning is set, but {path} does not exist: run the study first "
                                "(snakemake --cores N tune, or exosieve tune)")
    snippet = read_yaml(path.read_text())
    tuned = with_settings(cfg, model, {"model": snippet["models"][model], "training": snippet.get("training", {})})
    # Checked against the schema as a configuration of its own: ``cfg`` may be a stage's part of one.
    checked = load({"models": {model: tuned["models"][model]}, "training": tuned["training"]}, check_paths=False)
    return {**tuned, "models": {**tuned["models"], model: checked["models"][model]}, "training": checked["training"]}


class _PruneOnEpoch:
    """A Lightning callback reporting each epoch's validation PR-AUC to the trial (as step
    ``offset + epoch``) and stopping the trial when the pruner says so."""

    def __init__(self, trial, offset: int):
        import lightning as L

        class Callback(L.Callback):
            def on_validation_epoch_end(cb, trainer, module):
                import optuna
                value = trainer.callback_metrics.get("val_pr_auc")
                if value is None:
                    return
                step = offset + trainer.current_epoch
                trial.report(float(value), step)
                if trial.should_prune():
                    raise optuna.TrialPruned(f"pruned at epoch {trainer.current_epoch} of inner fold {offset}")

        self.callback = Callback()


def _pool_and_splits(shards, labels, fold_of, fold: int, inner_folds: int, seed: int):
    """Outer fold ``fold``'s training TCEs (labelled, in no test fold but their own) and their
    inner (train, validation) splits, stratified by label and grouped by star."""
    from sklearn.model_selection import StratifiedGroupKFold
    pool = np.flatnonzero((fold_of != fold) & (fold_of >= 0) & (labels >= 0))
    groups = shards.meta["star_id"].to_numpy()[pool]
    splitter = StratifiedGroupKFold(n_splits=inner_folds, shuffle=True, random_state=seed + fold)
    return pool, [(pool[a], pool[b]) for a, b in splitter.split(np.zeros(pool.size), labels[pool], groups)]


def tune_fold(shard_paths: list[str], folds_csv: str, fold: int, cfg: dict, model: str, out_dir: str | Path,
              progress: bool = False) -> dict:
    """Run (or resume) the study of ``model`` for outer fold ``fold``; writes best.yaml,
    trials.csv and importances.csv in ``out_dir``. Returns a summary."""
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    from .cnn_training import train_cnn
    from .folds import labels_and_folds, read_folds
    from .model_inputs import CNN_MODELS
    from .shards import ShardSet, check_settings
    from .training import model_inputs_of
    if model not in CNN_MODELS:
        raise ValueError(f"tune.models: {model} is not a CNN; the search space is a CNN's")
    tune = cfg["tune"]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    arrays, names = model_inputs_of(shard_paths, cfg, model)
    with ShardSet(shard_paths, list(arrays)) as shards:
        check_settings(shards.attrs, cfg, f"tuning {model} fold {fold}")
        labels, fold_of = labels_and_folds(shards.meta.tce_id, read_folds(folds_csv))
        pool, splits = _pool_and_splits(shards, labels, fold_of, fold, tune["inner_folds"], tune["seed"])
        cols = [shards.scalar_names.index(n) for n in names]
        data_digest = stable_hash({"tces": shards.meta.tce_id.to_numpy()[pool].tolist(),
                                   "labels": labels[pool].tolist()})
        study_name = f"{model}-fold{fold}-" + stable_hash({k: tune[k] for k in ("space", "trials", "inner_folds",
                                                                               "max_epochs", "pruner", "seed")}
                                                          | {"data": data_digest, "model": cfg["models"][model]})
        storage = JournalStorage(JournalFileBackend(str(out / "study.journal")))
        pruner = {"median": optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=3),
                  "hyperband": optuna.pruners.HyperbandPruner(min_resource=3, max_resource=tune["max_epochs"]),
                  "none": optuna.pruners.NopPruner()}[tune["pruner"]]
        study = optuna.create_study(study_name=study_name, storage=storage, direction="maximize",
                                    sampler=optuna.samplers.TPESampler(seed=tune["seed"] + fold), pruner=pruner,
                                    load_if_exists=True)

        def objective(trial) -> float:
            settings = suggest(trial, tune["space"])
            trial_cfg = with_settings(cfg, model, settings)
            trial_cfg["training"]["max_epochs"] = tune["max_epochs"]
            values = []
            work = out / "trials" / f"{trial.number}"
            try:
                for i, (train, val) in enumerate(splits):
                    prune = _PruneOnEpoch(trial, i * tune["max_epochs"]).callback
                    _, info = train_cnn(model, shards, labels, train, val, arrays, names, cols, fold, trial_cfg,
                                        work / f"inner_{i}", progress, callbacks=[prune])
                    values.append(info["best_val_pr_auc"])
            except optuna.TrialPruned:
                raise
            except Exception as exc:      # a failed trial is recorded, not fatal
                trial.set_user_attr("error", f"{type(exc).__name__}: {exc}"[:500])
                log.warning("%s fold %d trial %d failed: %s", model, fold, trial.number, exc)
                raise
            finally:
                shutil.rmtree(work, ignore_errors=True)
            return float(np.mean(values))

        finished = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED, optuna.trial.TrialState.FAIL)
        done = len(study.get_trials(states=finished))
        started = time.perf_counter()
        if done < tune["trials"]:
            study.optimize(objective, n_trials=tune["trials"] - done, catch=(Exception,),
                           timeout=tune["timeout_min"] * 60 if tune["timeout_min"] else None,
                           callbacks=[optuna.study.MaxTrialsCallback(tune["trials"], states=finished)])
    summary = write_study(study, out, model, cfg)
    log.info("%s fold %d: study %s, %d trials (%d new, %.1f min), best inner PR-AUC %.4f", model, fold, study_name,
             summary["trials"], summary["trials"] - done, (time.perf_counter() - started) / 60,
             summary["best_value"] if summary["best_value"] is not None else float("nan"))
    return summary


def write_study(study, out: Path, model: str, cfg: dict) -> dict:
    """best.yaml, trials.csv and importances.csv of a study."""
    import optuna
    rows = []
    for t in study.trials:
        rows.append({"number": t.number, "state": t.state.name, "value": t.value,
                     "error": t.user_attrs.get("error", ""), **{f"param_{k}": v for k, v in t.params.items()}})
    trials = pd.DataFrame(rows)
    with atomic_output(out / "trials.csv", ".csv") as tmp:
        trials.to_csv(tmp, index=False)
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    importances = {}
    if len(complete) >= 3 and len(complete[0].params) > 1:
        try:
            importances = optuna.importance.get_param_importances(study)
        except (RuntimeError, ValueError) as exc:      # e.g. every trial the same value
            log.info("no parameter importances: %s", exc)
    with atomic_output(out / "importances.csv", ".csv") as tmp:
        pd.DataFrame({"parameter": list(importances), "importance": list(importances.values())}).to_csv(tmp, index=False)
    if not complete:
        raise RuntimeError(f"no trial of the {model} study finished ({len(study.trials)} tried; see "
                           f"{out / 'trials.csv'} for their errors); widen tune.timeout_min or fix what they say")
    best = study.best_trial
    settings = suggest(optuna.trial.FixedTrial(best.params), cfg["tune"]["space"])
    snippet = {"models": {model: settings["model"]}, "training": settings["training"]}
    header = (f"# Best of {len(study.trials)} trials (study {study.study_name}): mean inner-fold validation PR-AUC "
              f"{best.value:.4f}, trial {best.number}.\n# models.{model}.from_tuning: true trains this fold with it; "
              "or merge it into config.yaml.\n")
    with atomic_output(out / "best.yaml", ".yaml") as tmp:
        tmp.write_text(header + yaml.safe_dump(snippet, sort_keys=True))
    return {"model": model, "trials": len(study.trials), "complete": len(complete),
            "pruned": int((trials.state == "PRUNED").sum()), "failed": int((trials.state == "FAIL").sum()),
            "best_value": best.value, "best": snippet}

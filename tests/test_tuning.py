"""Hyperparameter studies that cannot leak (exosieve/tuning.py): a study of outer fold k trains
only on that fold's training TCEs, resumes from its journal, records a failed trial and goes on,
gives the same trials for the same inputs and seed, and its best settings train the fold."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from exosieve.config import load
from exosieve.folds import labels_and_folds, read_folds
from exosieve.layout import RunLayout
from exosieve.model_files import load_model_file
from exosieve.training import train_fold
from helpers import REPO, make_views, views_run

SPACE = {"filters": [4, 16], "dropout": [0.0, 0.4], "learning_rate": [0.0005, 0.005], "fc_units": [[16], [32, 16]],
         "conv_blocks": [], "kernel_size": [], "weight_decay": [], "batch_size": [], "mirror": [], "noise": []}


def study_config(cfg, trials=4, **extra):
    return load({**cfg, "tune": {"models": ["astronet"], "trials": trials, "inner_folds": 2, "max_epochs": 3,
                                 "space": SPACE, "timeout_min": None, **extra}})


@pytest.fixture
def views(tmp_path):
    return views_run(tmp_path / "run", make_views(160, seed=4))


def test_a_study_sees_only_its_fold_s_training_tces_and_resumes(views, tmp_path, monkeypatch):
    from exosieve import tuning
    cfg, shards, folds_csv = views
    cfg = study_config(cfg)
    import exosieve.cnn_training as cnn
    seen = []
    real = cnn.train_cnn

    def recording(model, shards_, labels, train, val, *args, **kwargs):
        seen.append(np.concatenate([train, val]))
        return real(model, shards_, labels, train, val, *args, **kwargs)
    monkeypatch.setattr(cnn, "train_cnn", recording)
    out = tmp_path / "tune" / "astronet" / "fold_1"
    summary = tuning.tune_fold(shards, folds_csv, 1, cfg, "astronet", out)
    assert summary["trials"] == 4 and summary["complete"] + summary["pruned"] == 4
    from exosieve.shards import ShardSet
    with ShardSet(shards, []) as s:
        _, fold_of = labels_and_folds(s.meta.tce_id, read_folds(folds_csv))
    rows = np.unique(np.concatenate(seen))
    assert not (fold_of[rows] == 1).any() and (fold_of[rows] == 0).all()      # never a test-fold TCE
    best = yaml.safe_load((out / "best.yaml").read_text())
    assert set(best["models"]["astronet"]) == {"filters", "dropout", "fc_units"}
    assert set(best["training"]) == {"learning_rate"}
    trials = pd.read_csv(out / "trials.csv")
    assert len(trials) == 4 and (out / "study.journal").stat().st_size > 0
    # Resumed: the same budget adds nothing, a larger one adds the difference.
    seen.clear()
    assert tuning.tune_fold(shards, folds_csv, 1, cfg, "astronet", out)["trials"] == 4 and not seen
    assert tuning.tune_fold(shards, folds_csv, 1, study_config(views[0], trials=6), "astronet", out)["trials"] == 6


def test_the_same_inputs_and_seed_give_the_same_trials(views, tmp_path):
    from exosieve.tuning import tune_fold
    cfg, shards, folds_csv = views
    cfg = study_config(cfg, trials=3)
    tables = []
    for name in ("a", "b"):
        tune_fold(shards, folds_csv, 0, cfg, "astronet", tmp_path / name)
        tables.append(pd.read_csv(tmp_path / name / "trials.csv"))
    params = [c for c in tables[0].columns if c.startswith("param_")]
    pd.testing.assert_frame_equal(tables[0][params + ["value"]], tables[1][params + ["value"]])


def test_a_failed_trial_is_recorded_and_the_study_goes_on(views, tmp_path, monkeypatch):
    from exosieve import tuning
    import exosieve.cnn_training as cnn
    cfg, shards, folds_csv = views
    real = cnn.train_cnn
    calls = []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:                      # the second trial's first inner fold
            raise MemoryError("out of memory on this trial's batch size")
        return real(*args, **kwargs)
    monkeypatch.setattr(cnn, "train_cnn", flaky)
    summary = tuning.tune_fold(shards, folds_csv, 0, study_config(cfg, trials=3), "astronet", tmp_path / "t")
    trials = pd.read_csv(tmp_path / "t" / "trials.csv")
    assert summary["failed"] == 1 and summary["trials"] == 3
    assert trials.error.fillna("").str.contains("MemoryError: out of memory").sum() == 1


def test_from_tuning_trains_each_fold_with_its_study_s_best_settings(views, tmp_path):
    from exosieve.tuning import tune_fold, tuned_config
    cfg, shards, folds_csv = views
    cfg = study_config(cfg, trials=2)
    tune_fold(shards, folds_csv, 0, cfg, "astronet", tmp_path / "run" / "results" / "tune" / "astronet" / "fold_0")
    tuned = load({**cfg, "models": {**cfg["models"], "astronet": {**cfg["models"]["astronet"], "from_tuning": True}}})
    train_fold(shards, folds_csv, 0, tuned_config(tuned, "astronet", 0), tmp_path / "m", model="astronet",
               progress=False)
    best = yaml.safe_load((tmp_path / "run" / "results" / "tune" / "astronet" / "fold_0" / "best.yaml").read_text())
    model_cfg = load_model_file(tmp_path / "m" / "model.pt")["model_cfg"]
    assert all(model_cfg[k] == v for k, v in best["models"]["astronet"].items())
    with pytest.raises(FileNotFoundError, match="run the study first"):
        tuned_config(tuned, "astronet", 1)


def test_jobs_that_do_not_tune_never_import_optuna():
    code = ("import sys, exosieve.training, exosieve.cnn_training, exosieve.evaluation, exosieve.report, "
            "exosieve.predict, exosieve.scoring; print('optuna' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert out.stdout.strip() == "False", out.stderr


@pytest.mark.slow
def test_snakemake_tune_then_a_run_trained_with_the_studies(tmp_path):
    """`snakemake tune` runs a study per fold; models.<name>.from_tuning trains each fold with its
    study's best settings and the report shows the studies; a new search space reruns only the
    studies and what depends on them."""
    np.savez(tmp_path / "views.npz", **make_views(200, seed=6))
    cfg = {"catalog": {"source": "views", "path": str(tmp_path / "views.npz"),
                       "labels": {"positive": ["PC", "EB"], "negative": ["NTP"]}},
           "cv": {"folds": 2}, "shards": 1, "report": {"sheets": 0},
           "models": {"enabled": ["astronet", "trees"], "primary": "astronet"},
           "training": {"max_epochs": 4, "patience": 2, "min_epochs": 1},
           "tune": {"models": ["astronet"], "trials": 3, "max_epochs": 3, "space": {**SPACE}, "timeout_min": 10}}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    base = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(tmp_path),
            "--cores", "2"]

    def snakemake(*args):
        run = subprocess.run([*base, *args], capture_output=True, text=True)
        assert run.returncode == 0, run.stderr[-4000:]
        return run.stdout + run.stderr
    snakemake("tune")
    for fold in (0, 1):
        assert Path(RunLayout(tmp_path / "results").tune_file("astronet", fold, "best.yaml")).exists()
    tuned = {**cfg, "models": {**cfg["models"], "astronet": {"from_tuning": True}}}
    (tmp_path / "tuned.yaml").write_text(yaml.safe_dump(tuned))
    snakemake("--configfile", str(tmp_path / "tuned.yaml"))
    html = (tmp_path / "results" / "report" / "index.html").read_text()
    assert "Hyperparameter tuning" in html and 'src="tuning_astronet.png"' in html
    # A changed search space: the studies, the tuned model's training and the report rerun; trees do not.
    changed = {**tuned, "tune": {**tuned["tune"], "space": {**SPACE, "dropout": [0.1, 0.2]}}}
    (tmp_path / "changed.yaml").write_text(yaml.safe_dump(changed))
    plan = snakemake("-n", "--configfile", str(tmp_path / "changed.yaml"))
    assert "rule tune_fold:" in plan and "rule report:" in plan
    assert "wildcards: model=trees" not in plan

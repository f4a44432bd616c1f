"""End-to-end runs of the Snakemake workflow in temporary directories (minutes, marked slow)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from exosieve.shards import shard_of
from helpers import SHARED_DATA, SNAKEMAKE, job_counts, snakemake

pytestmark = pytest.mark.slow


def planned_wildcards(dry_run_output: str, rule: str) -> list[str]:
    blocks = re.split(r"\n\s*(?=(?:local)?rule \w+:)", dry_run_output)   # group jobs indent theirs
    return [re.search(r"wildcards: (\S+)", b).group(1) for b in blocks
            if re.match(rf"(?:local)?rule {rule}:", b.strip()) and "wildcards:" in b]


# The default workflow (all four models) on a tiny simulated survey: one run, read by the tests below.
DEFAULT_RUN = {"survey": {"stars": 260, "quarters": 4, "seed": 5}, "shards": 3, "cv": {"folds": 3},
               "training": {"max_epochs": 25, "patience": 8}, "report": {"sheets": 2}}


# Session-scoped: pytest-xdist may send other modules' tests to this worker between these, which
# would tear a module-scoped run down and build it again.
@pytest.fixture(scope="session")
def default_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("default_run")
    (folder / "config.yaml").write_text(yaml.safe_dump(DEFAULT_RUN))
    snakemake(folder)
    return folder


def _vetted(run: Path) -> pd.DataFrame:
    return pd.read_csv(run / "results" / "report" / "vetted_catalog.csv", dtype={"tce_id": str})


def _tces(run: Path) -> pd.DataFrame:
    return pd.read_csv(run / "results" / "catalog" / "tces.csv", dtype={"tce_id": str})


@pytest.mark.xdist_group("default_run")
def test_the_default_workflow_reports_models_that_learned_and_are_calibrated(default_run):
    tmp_path = default_run
    report = tmp_path / "results" / "report"
    for name in ("index.html", "metrics.csv", "vetted_catalog.csv", "pr_curve.png", "roc_curve.png",
                 "score_histogram.png", "training_curves.png", "confusion_matrix.png", "by_true_class.csv",
                 "model_comparison.csv", "model_pr_curves.png", "by_label.csv"):
        assert (report / name).stat().st_size > 0, name
    metrics = pd.read_csv(report / "metrics.csv", dtype={"fold": str})
    assert list(metrics.model.unique()) == ["exominer", "astronet", "raw_flux", "trees"]
    assert list(metrics[metrics.model == "exominer"].fold) == ["0", "1", "2", "mean", "std"]
    mean = metrics[metrics.fold == "mean"].set_index("model")
    # The models must have learned: chance is 0.5 ROC-AUC and ~0.22 PR-AUC here (DR24's mix, ~56
    # planets in 3 folds: the CNNs see few); more than twice chance PR-AUC.
    for model in ("exominer", "astronet", "trees"):
        assert mean.loc[model, "roc_auc"] > 0.8, metrics
        assert mean.loc[model, "pr_auc"] > 0.5, metrics
    catalog, tces = _vetted(tmp_path), _tces(tmp_path)
    assert set(catalog.tce_id) == set(tces.tce_id)
    scored = catalog[catalog.status.isin(["scored", "flagged"])]     # flagged: scored, with a reason beside
    assert scored.score.between(0, 1).all() and len(scored) >= 0.95 * len(catalog)
    flagged = catalog[catalog.status == "flagged"]
    assert flagged.flag.str.len().gt(0).all() and catalog[catalog.status == "scored"].flag.isna().all()
    assert sorted(scored["rank"]) == list(range(1, len(scored) + 1))
    assert scored[scored.label < 0].n_models.eq(3).all()  # unlabelled: every fold model
    # Explanations: an attribution per exominer branch for every scored TCE, and the top branch.
    attrs = [c for c in catalog.columns if c.startswith("attr_")]
    assert {"attr_global", "attr_odd_even", "attr_centroid", "attr_unfolded", "attr_scalars"} <= set(attrs)
    assert scored[attrs].notna().all().all()
    assert (scored.top_branch == scored[attrs].abs().idxmax(axis=1).str[5:]).all()
    assert {"score_astronet", "score_raw_flux", "score_trees"} <= set(catalog.columns)
    # Scores are calibrated probabilities, and the report says how well, per model.
    assert (report / "reliability_diagram.png").stat().st_size > 0
    cal = pd.read_csv(report / "calibration.csv").set_index("model")
    assert list(cal.index) == ["exominer", "astronet", "raw_flux", "trees"]
    # A tiny run: each fold's calibration fit sees ~22 validation TCEs (5 planets), so the fit's own error
    # adds to the sampling noise (the 99th percentile of ECE for perfectly calibrated scores alone is
    # ~0.08 at 254 TCEs). Loose bounds here; the default run's figures are in the README.
    assert (cal.ece < 0.15).all(), cal
    # Class-weighted raw scores are not probabilities: where a CNN's raw ECE is beyond that noise,
    # calibration cuts it by at least 40%, and over the CNNs it helps on average. (A CNN whose raw
    # scores happen to land within the noise may come out a little either side of it.)
    cnns = cal.loc[["exominer", "astronet", "raw_flux"]]
    off = cnns[cnns.ece_uncalibrated > 0.12]
    assert len(off) and (off.ece < 0.6 * off.ece_uncalibrated).all(), cal
    assert cnns.ece.mean() < 0.7 * cnns.ece_uncalibrated.mean(), cal
    assert (scored.above_threshold == (scored.score >= 0.5)).all() and scored.score_raw.between(0, 1).all()
    assert not np.allclose(scored.score, scored.score_raw)
    html = (report / "index.html").read_text()
    for img in ("pr_curve.png", "training_curves.png", "model_pr_curves.png", "reliability_diagram.png"):
        assert f'src="{img}"' in html
    sheets = sorted(p.name for p in (report / "sheets").glob("*.png"))
    assert any(s.startswith("top_") for s in sheets) and any(s.startswith("false_positive_") for s in sheets)
    assert all(f'href="sheets/{s}"' in html for s in sheets)
    # Every (model, fold)'s log and every rule's benchmark exist.
    assert len(list((tmp_path / "results" / "models").glob("*/fold_*/metrics.csv"))) == 12
    assert (tmp_path / "results" / "benchmarks" / "preprocess").is_dir()


@pytest.mark.xdist_group("default_run")
def test_a_finished_run_has_nothing_to_do_and_report_settings_redo_only_the_report(default_run):
    tmp_path = default_run
    # A threshold for a target precision is a report setting: only the report is redone.
    plan = snakemake(tmp_path, "-n", "--config", "report={threshold_precision: 0.95}")
    assert set(job_counts(plan)) - {"all", "total"} == {"report"}, plan
    # So is the primary model (behind the vetted catalog): the report, and nothing else, is redone.
    plan = snakemake(tmp_path, "-n", "--config", "models={primary: astronet}")
    assert set(job_counts(plan)) - {"all", "total"} == {"report"}, plan
    # A second run has nothing to do.
    assert "Nothing to be done" in snakemake(tmp_path, "-n")
    # `snakemake --report`: the registered tables and figures, each with its caption.
    snakemake(tmp_path, "--report", str(tmp_path / "snakemake_report.html"))
    page = (tmp_path / "snakemake_report.html").read_text()
    for text in ("The models side by side on the same folds", "model_comparison.csv", "reliability_diagram.png",
                 "Observed planet fraction against predicted probability"):
        assert text in page, text


@pytest.mark.xdist_group("default_run")
def test_named_stars_are_scored_by_every_fold_model_of_the_finished_run(default_run):
    tmp_path = default_run
    catalog, tces = _vetted(tmp_path), _tces(tmp_path)
    stars = sorted(tces[tces.label < 0].star_id.astype(str).unique())[:2]  # stars with unlabelled TCEs
    out = subprocess.run([sys.executable, "-m", "exosieve.cli", "predict", *stars, "--config",
                          str(tmp_path / "config.yaml"), "--out", str(tmp_path / "pred.csv")],
                         cwd=tmp_path, capture_output=True, text=True)
    pred = pd.read_csv(tmp_path / "pred.csv", dtype={"tce_id": str, "star_id": str})
    assert set(pred.star_id) == set(stars) and len(pred) == tces.star_id.astype(str).isin(stars).sum(), out.stderr
    for model in ("exominer", "astronet", "raw_flux", "trees"):
        assert pred[f"score_{model}"].between(0, 1).all() and (pred[f"n_models_{model}"] == 3).all()
    # The same TCEs' mean fold-model score equals the run's own for unlabelled ones.
    unl = catalog[catalog.label < 0].set_index("tce_id")["score"]
    both = pred.set_index("tce_id")["score_exominer"].reindex(unl.index).dropna()
    assert len(both) >= 2 and np.allclose(both, unl.reindex(both.index), atol=1e-4)
    # TIC ids too: WASP-126 (TOI 114.01), its real SPOC light curve read in place in MAST's tid
    # layout, the TOI table as the TCE list; scored by the same fold models.
    toi, tid = SHARED_DATA / "catalogs" / "toi.csv", SHARED_DATA / "tess" / "tid"
    if not (toi.exists() and tid.is_dir()):
        pytest.skip(f"the TESS half needs {toi} and {tid} (../shared/data)")
    columns = {"star_id": "tid", "period": "pl_orbper", "epoch": "pl_tranmid", "duration": "pl_trandurh",
               "depth": "pl_trandep", "disposition": "tfopwg_disp"}
    tess = {**DEFAULT_RUN, "catalog": {"source": "local", "path": str(toi), "lightcurve_dir": str(tid),
                                       "columns": columns, "epoch_offset": 2457000, "mission": "tess"}}
    (tmp_path / "tess.yaml").write_text(yaml.safe_dump(tess))
    out = subprocess.run([sys.executable, "-m", "exosieve.cli", "predict", "25155310", "--config",
                          str(tmp_path / "tess.yaml"), "--out", str(tmp_path / "tess.csv")],
                         cwd=tmp_path, capture_output=True, text=True)
    pred = pd.read_csv(tmp_path / "tess.csv", dtype={"tce_id": str, "star_id": str})
    assert list(pred.tce_id) == ["25155310_1"] and pred.error.isna().all(), out.stderr
    assert pred.score_exominer.between(0, 1).all() and (pred.n_models_exominer == 3).all()


@pytest.mark.xdist_group("default_run")
def test_the_runs_models_as_a_bundle_score_another_catalog_training_nothing(default_run):
    """The run's models as one bundle, scoring a catalog in another results folder (models.from):
    nothing trains there, and each unlabelled TCE gets the run's own fold-ensemble score."""
    tmp_path = default_run
    catalog, tces = _vetted(tmp_path), _tces(tmp_path)
    out = subprocess.run([sys.executable, "-m", "exosieve.cli", "export-models", "--config",
                          str(tmp_path / "config.yaml"), "--out", str(tmp_path / "run.exosieve")],
                         cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0 and "exominer (3 folds)" in out.stdout, out.stderr
    # Part of the catalog (its first 60 stars, unlabelled TCEs among them), two of the four models
    # (the shipped bundles' tests score with trees) and no sheets keep the run short. raw_flux
    # stays on: its views are part of the preprocessing the bundle's models were trained on.
    stars = sorted(tces.star_id.astype(str).unique())[:60]
    (tmp_path / "from.yaml").write_text(yaml.safe_dump({
        **DEFAULT_RUN, "results": "results_from", "catalog": {"targets": stars}, "report": {"sheets": 0},
        "models": {"from": str(tmp_path / "run.exosieve"), "enabled": ["exominer", "raw_flux"]}}))
    log = snakemake(tmp_path, "--configfile", str(tmp_path / "from.yaml"))
    assert "rule train:" not in log and "score_with_models" in log
    again = pd.read_csv(tmp_path / "results_from" / "report" / "vetted_catalog.csv", dtype={"tce_id": str})
    assert "trained elsewhere" in (tmp_path / "results_from" / "report" / "index.html").read_text()
    unl = catalog[(catalog.label < 0) & catalog.tce_id.isin(again.tce_id)].set_index("tce_id")["score"]
    assert len(unl) >= 3 and len(again) == tces.star_id.astype(str).isin(stars).sum()
    mine = again.set_index("tce_id").score.reindex(unl.index)
    assert np.allclose(mine, unl, atol=1e-4)


@pytest.fixture(scope="module")
def local_survey(tmp_path_factory):
    """A simulated survey written to disk, used through the `local` source like a bulk download."""
    from helpers import write_survey
    written = write_survey(tmp_path_factory.mktemp("data"), 70, 2, 21)
    return written["dir"], written["survey"]


def _catalog_text(df: pd.DataFrame) -> str:
    return "# catalog update\n" + df.to_csv(index=False)


def test_catalog_updates_rerun_only_the_changed_stars_as_exosieve_plan_says(tmp_path, local_survey, monkeypatch):
    """Each update reruns only the shard it touches, that shard preprocesses only the changed star
    (the others keep their rows), and `exosieve plan` says so beforehand: its per-shard counts are
    checked against what the preprocess jobs log. A new label mapping reruns no preprocessing; a
    replaced light-curve file in the local folder reruns its star."""
    import os
    from exosieve.config import load
    from exosieve.plan import plan_update
    data, survey = local_survey
    catalog = survey.catalog.copy()
    new_star = int(catalog.kepid.iloc[-1])
    base = catalog[catalog.kepid != new_star]
    cat_path = tmp_path / "tces.csv"
    cat_path.write_text(_catalog_text(base))
    n_shards = 6
    cfg = {"catalog": {"source": "local", "path": str(cat_path), "stellar_path": str(data / "keplerstellar.csv"),
                       "lightcurve_dir": str(data / "lightcurves")},
           "shards": n_shards, "cv": {"folds": 2}, "models": {"enabled": ["trees"], "primary": "trees"}}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    snakemake(tmp_path)
    monkeypatch.chdir(tmp_path)                       # plan reads results/ as snakemake does

    def check_update(star: int) -> None:
        plan = plan_update(load(tmp_path / "config.yaml"))
        shard = f"{shard_of(str(star), n_shards):03d}"
        rerun = plan.shards[plan.shards.rerun]
        assert list(rerun.shard) == [shard] and list(rerun.stars_preprocessed) == [1], plan.format()
        assert plan.retrain
        snakemake(tmp_path, "results/shards/manifest.csv")  # catalog + shard assignment only
        dry = snakemake(tmp_path, "-n")
        counts = job_counts(dry)
        assert counts.get("preprocess") == 1 and counts.get("lightcurves") == 1, dry
        assert planned_wildcards(dry, "preprocess") == [f"shard={shard}"]
        assert counts.get("folds") == 1 and counts.get("train") == 2 and "evaluate" not in counts
        assert counts.get("shard_list") == 1
        assert counts.get("report") == 1
        # Only the shards are brought up to date between updates (the dry run above is what a full
        # run would do); the last step below runs everything.
        snakemake(tmp_path, *(f"results/shards/{s}.h5" for s in plan.shards.shard))
        log = (tmp_path / "results" / "logs" / "preprocess" / f"{shard}.log").read_text()
        n = int(rerun.stars.iloc[0])
        assert f"stars preprocessed: 1 of {n} ({n - 1} kept, inputs unchanged)" in log, log

    # 1. One TCE on a new star.
    added = pd.concat([base, catalog[catalog.kepid == new_star].head(1)], ignore_index=True)
    cat_path.write_text(_catalog_text(added))
    check_update(new_star)
    # 2. On one star, one TCE removed and another's period changed (one update, to keep the test short).
    star = int(added.kepid[added.kepid.duplicated()].iloc[0])
    first, second = added.index[added.kepid == star][:2]
    changed = added.copy()
    changed.loc[second, "tce_period"] = changed.loc[second, "tce_period"] * 1.001
    changed = changed.drop(index=first).reset_index(drop=True)
    cat_path.write_text(_catalog_text(changed))
    check_update(star)
    # 3. One light-curve file of the local folder replaced (a repaired download: new modification time).
    other = int(changed.kepid.iloc[0])
    fits = sorted((data / "lightcurves").glob(f"*/{other:09d}/*.fits"))[0]
    os.utime(fits, ns=(fits.stat().st_atime_ns, fits.stat().st_mtime_ns + 10**9))
    check_update(other)
    # 4. A new label mapping (NTP no longer a negative): no light curve, no shard is redone.
    relabelled = {**cfg, "catalog": {**cfg["catalog"], "labels": {"positive": ["PC"], "negative": ["AFP"]}}}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(relabelled))
    plan = plan_update(load(tmp_path / "config.yaml"))
    assert plan.stars_preprocessed == 0 and not plan.shards.rerun.any() and plan.retrain
    assert plan.catalog["relabelled"] == int((changed.av_training_set == "NTP").sum()) > 0, plan.format()
    snakemake(tmp_path, "results/shards/manifest.csv")
    counts = job_counts(snakemake(tmp_path, "-n"))
    assert "preprocess" not in counts and "lightcurves" not in counts, counts
    assert counts.get("folds") == 1 and counts.get("train") == 2
    snakemake(tmp_path)
    assert "Nothing to be done" in snakemake(tmp_path, "-n")


def _archive_with_bad_stars(data: Path, out: Path, bad: set[str]) -> Path:
    """A copy of the survey's light-curve folder (links) in which every file of the ``bad`` stars
    is an HTML error page saved under the FITS name, as a failed bulk download leaves it."""
    from exosieve.lightcurves.mast import find_kepler_lightcurves, kepler_star_dir
    root = out / "lightcurves"
    for star_dir in sorted((data / "lightcurves").glob("*/*")):
        sid = str(int(star_dir.name))
        dest = kepler_star_dir(root, sid)
        dest.mkdir(parents=True)
        for f in find_kepler_lightcurves(data / "lightcurves", sid):
            if sid in bad:
                (dest / f.name).write_text("<html><body>503 Service Unavailable</body></html>\n")
            else:
                (dest / f.name).symlink_to(f)
    return root


def test_a_shard_of_bad_stars_still_ends_in_a_report_and_only_a_run_with_nothing_scored_fails(tmp_path, local_survey):
    data, survey = local_survey
    n_shards, bad_shard = 4, 2
    stars = [str(k) for k in survey.catalog.kepid.unique()]
    bad = {s for s in stars if shard_of(s, n_shards) == bad_shard}
    assert 0 < len(bad) < len(stars)
    cfg = {"catalog": {"source": "local", "path": str(data / "q1_q17_dr24_tce.csv"),
                       "lightcurve_dir": str(_archive_with_bad_stars(data, tmp_path / "a", bad))},
           "shards": n_shards, "cv": {"folds": 2}, "training": {"max_epochs": 2, "patience": 1},
           "models": {"enabled": ["trees"], "primary": "trees"}}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    out = snakemake(tmp_path)

    shard = tmp_path / "results" / "shards" / f"{bad_shard:03d}"
    manifest = pd.read_csv(f"{shard}.failures.csv", dtype=str)
    tces = pd.read_csv(tmp_path / "results" / "catalog" / "tces.csv", dtype={"tce_id": str, "star_id": str})
    bad_tces = set(tces.tce_id[tces.star_id.isin(bad)])
    assert set(manifest.tce_id.dropna()) == bad_tces
    assert manifest.error.str.contains("none of its 2 file(s) is usable", regex=False).all()
    report = tmp_path / "results" / "report"
    failures = pd.read_csv(report / "failures.csv", dtype=str)
    assert bad_tces <= set(failures.tce_id)
    catalog = pd.read_csv(report / "vetted_catalog.csv", dtype={"tce_id": str})
    scored = catalog[catalog.score.notna()]
    assert set(scored.tce_id) == set(tces.tce_id) - bad_tces        # every other TCE was scored
    assert f"ExoSieve: {len(bad_tces)} TCE(s) on {len(bad)} star(s) could not be scored" in out
    assert (report / "index.html").stat().st_size > 0

    # Every star bad: nothing can be scored, and the run says why and what to do.
    run2 = tmp_path / "all_bad"
    run2.mkdir()
    cfg["catalog"]["lightcurve_dir"] = str(_archive_with_bad_stars(data, run2, set(stars)))
    (run2 / "config.yaml").write_text(yaml.safe_dump(cfg))
    result = subprocess.run([*SNAKEMAKE, "--directory", str(run2)], capture_output=True, text=True)
    assert result.returncode != 0
    log = "".join(p.read_text() for p in (run2 / "results" / "logs" / "train").rglob("*.log"))
    labelled = int((tces.label >= 0).sum())
    assert (f"nothing to train on: the shards hold no labelled TCE outside this fold. {labelled} of the "
            f"catalog's {labelled} labelled TCEs could not be preprocessed (preprocess: {labelled}; first: star") in log
    assert "/*.failures.csv: fix what those rows name" in log
    assert all(pd.read_csv(m).shape[0] for m in (run2 / "results" / "shards").glob("*.failures.csv"))
    assert not (run2 / "results" / "report" / "index.html").exists()

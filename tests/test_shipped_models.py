"""The models ExoSieve ships (exosieve/bundles/): small enough to ship, loaded weights-only, used
by default by exosieve score and exosieve.score() for their mission, each with a model card, and
rebuilt from the recipe its card gives (the run's folds table, digest for digest); a light curve
of another mission, or a single transit, is scored with a flag."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml

from exosieve.cli import main
from exosieve.model_files import SHIPPED_FOR_MISSION, load_models, shipped_bundles, shipped_for
from helpers import (HELD_OUT_LC, KEPLER_LC, REPO, SHARED_DATA, TOI_COLUMNS, needs_held_out_stars,
                     needs_shared_data, real_kepler_tces, score_real_tces, star_folders, tess_stars)

BUNDLES = shipped_bundles()
# Each shipped bundle, its mission and the config its recipe runs.
SHIPPED = {"kepler_simulated": ("kepler", "config.yaml"),
           "tess_simulated": ("tess", "exosieve/bundles/tess_simulated.yaml")}
TESS_LC = SHARED_DATA / "tess" / "tid"
# WASP-126 b = TOI-114.01 (KP), in sector 1: its TOI ephemeris on BTJD.
WASP126 = {"tic": "25155310", "period": 3.2887898, "epoch": 1327.51996, "duration_hours": 3.43677}
needs_tess_data = pytest.mark.skipif(not TESS_LC.is_dir(), reason=f"real TESS light curves not found at {TESS_LC}")


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_each_bundle_is_small_and_says_what_it_learned_from(name, capsys):
    mission, _ = SHIPPED[name]
    path = BUNDLES[name]
    assert path.stat().st_size <= 2_000_000
    assert shipped_for(mission) == path and SHIPPED_FOR_MISSION[mission] == name
    models = load_models(name)                            # a shipped bundle by name
    about = models.about
    assert set(models.models) == {"trees", "raw_flux"} and all(len(f) == 5 for f in models.models.values())
    assert about["source"] == "simulated" and about["training_data"]["positive"] > 200
    # The card states the cross-validated metrics the bundle records.
    card = " ".join(about["card"].split())
    for model in ("trees", "raw_flux"):
        metrics = about["metrics"][model]
        assert f"{model} ROC-AUC {metrics['roc_auc']}, average precision {metrics['pr_auc']}" in card
    for fold in (f for folds in models.models.values() for f in folds):
        domain = fold["domain"]
        assert domain["mission"] == mission and {"period", "depth"} <= set(domain["ranges"])
        assert domain["views"]["names"] == ["global", "local"] and domain["views"]["nearest_limit"] > 0
    assert main(["info", name]) == 0
    out = capsys.readouterr().out
    assert "model card:" in out and "Known limits" in out and "BSD-3-Clause" in out
    # The card beside the bundle is the one inside it, and the folder's README lists it.
    assert (path.parent / f"{name}.md").read_text().strip() == about["card"].strip()
    assert f"[{name}.md]({name}.md)" in (path.parent / "README.md").read_text()


def test_a_mission_without_a_bundle_gets_an_error_saying_what_to_do():
    from exosieve.model_files import ModelMismatchError
    with pytest.raises(ModelMismatchError, match="ships no models for k2 light curves yet; name some"):
        shipped_for("k2")


@needs_shared_data
def test_exosieve_score_vets_a_real_signal_with_no_models_named(tmp_path, capsys):
    """The README's quick-start line: a real Kepler planet scored with the shipped models."""
    args = ["score", "--kic", "757450", "--period", "8.884923", "--t0", "134.452", "--duration", "2.078h",
            "--lightcurves", str(KEPLER_LC), "--sheet", str(tmp_path / "kepler75.png")]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "kepler_simulated.exosieve (shipped with ExoSieve" in out
    assert "trees" in out and "raw_flux" in out and (tmp_path / "kepler75.png").stat().st_size > 10000


@needs_tess_data
def test_a_tess_planet_is_scored_by_the_tess_bundle_and_flagged_by_the_kepler_one(capsys):
    """WASP-126 b from its real SPOC file: the TESS bundle by default, unflagged and confident;
    the Kepler bundle scores it too, flagged as another mission's light curve."""
    from exosieve.lightcurves.mast import find_tess_lightcurves
    from exosieve.scoring import score
    args = ["score", "--tic", WASP126["tic"], "--period", str(WASP126["period"]), "--t0", str(WASP126["epoch"]),
            "--duration", f"{WASP126['duration_hours']}h", "--lightcurves", str(TESS_LC)]
    assert main(args) == 0
    assert "tess_simulated.exosieve (shipped with ExoSieve" in capsys.readouterr().out
    files = find_tess_lightcurves(TESS_LC, WASP126["tic"])
    signal = {k: WASP126[k] for k in ("period", "epoch", "duration_hours")}
    own = score(files, signal)
    assert own.attrs["models"].endswith("tess_simulated.exosieve")
    assert own.status[0] == "scored" and own.trees[0] > 0.8 and own.raw_flux[0] > 0.5
    other = score(files, signal, "kepler_simulated")
    assert other.status[0] == "flagged"
    assert other.flag[0].startswith("a TESS light curve, and the models learned from Kepler ones")
    assert np.isfinite(other.trees[0])                    # flagged, not refused


@needs_shared_data
def test_a_single_transit_is_scored_with_a_flag_and_a_planet_without_one():
    """Kepler-75 b's files with its ephemeris, and with a period so long that one transit falls
    in them: the shipped models score both, the second flagged."""
    from exosieve.lightcurves.mast import find_kepler_lightcurves
    from exosieve.scoring import score
    files = find_kepler_lightcurves(KEPLER_LC, 757450)
    out = score(files, [{"tce_id": "b", "period": 8.884923, "epoch": 134.452, "duration_hours": 2.078},
                        {"tce_id": "once", "period": 2000.0, "epoch": 134.452, "duration_hours": 2.078}])
    out = out.set_index("tce_id")
    assert out.status["b"] == "scored" and out.flag["b"] == ""
    assert out.status["once"] == "flagged" and "a single transit in the light curve" in out.flag["once"]
    assert np.isfinite(out.trees["once"])


@pytest.mark.slow
@needs_held_out_stars
# One quarter of KIC 2860114 is truncated at its source: astropy says so, and the reader skips it.
@pytest.mark.filterwarnings("ignore:File may have been truncated")
def test_the_kepler_bundle_ranks_the_held_out_real_stars_as_its_card_says():
    """The 89 labelled DR24 TCEs of 71 real stars no setting was tuned on: the card's ROC-AUCs and
    standard errors, and no planet candidate below 0.1."""
    from sklearn.metrics import roc_auc_score

    from exosieve.evaluation import star_bootstrap_roc_auc
    models = load_models("kepler_simulated")
    scored = score_real_tces(*real_kepler_tces(HELD_OUT_LC), models)
    labelled = scored[scored.disposition.isin(["PC", "AFP", "NTP"])]
    y = (labelled.disposition == "PC").to_numpy()
    assert (scored.star_id.nunique(), len(labelled), y.sum(), labelled.star_id.nunique()) == (71, 89, 11, 51)
    draws = star_bootstrap_roc_auc(y, {m: labelled[m] for m in ("trees", "raw_flux")}, labelled.star_id)
    card = " ".join(models.about["card"].split())
    figures = {m: f"{roc_auc_score(y, labelled[m]):.3f} ± {draws[m].std():.3f} ({m})" for m in ("trees", "raw_flux")}
    assert f"ROC-AUC {figures['trees']} and {figures['raw_flux']}" in card, figures
    assert (labelled[y][["trees", "raw_flux"]] > 0.1).all().all()


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_each_bundle_was_trained_on_what_its_recipe_makes(name, tmp_path):
    """The recipe is a run of the workflow with the card's config: its folds table (catalog and
    folds, from the seeds) must be the one whose digest the bundle records."""
    _, config = SHIPPED[name]
    for item in ("Snakefile", "config.yaml"):
        shutil.copy(REPO / item, tmp_path / item)
    for item in ("rules", "workflow_scripts", "report", "envs"):
        shutil.copytree(REPO / item, tmp_path / item)
    results, options = "results", []
    if config != "config.yaml":          # --configfile takes several files: the target goes before it
        results, options = yaml.safe_load((REPO / config).read_text())["results"], ["--configfile", str(REPO / config)]
    subprocess.run([sys.executable, "-m", "snakemake", "--cores", "1", f"{results}/folds/folds.csv", *options],
                   cwd=tmp_path, check=True, capture_output=True)
    digest = hashlib.sha256((tmp_path / results / "folds" / "folds.csv").read_bytes()).hexdigest()[:16]
    assert load_models(BUNDLES[name]).about["training_data"]["digest"] == digest


# The real stars of ../shared/data as a local catalog: Kepler's DR24 table, or the TOI table through
# a column mapping (TOI CP/KP planets, FP/FA not).
REAL_CATALOGS = {
    "kepler_simulated": lambda: {"source": "local", "path": str(SHARED_DATA / "catalogs" / "q1_q17_dr24_tce.csv"),
                                 "lightcurve_dir": str(KEPLER_LC),
                                 "targets": sorted(star_folders(KEPLER_LC))},
    "tess_simulated": lambda: {"source": "local", "path": str(SHARED_DATA / "catalogs" / "toi.csv"),
                               "lightcurve_dir": str(TESS_LC), "columns": TOI_COLUMNS, "epoch_offset": 2457000,
                               "mission": "tess", "labels": {"positive": ["CP", "KP"], "negative": ["FP", "FA"]},
                               "targets": sorted(tess_stars(TESS_LC))},
}


@needs_shared_data
@needs_tess_data
@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_a_real_catalog_is_vetted_by_a_shipped_bundle_training_nothing(name, tmp_path):
    """models={from: <shipped name>}: the real stars' catalog through the workflow into a vetted
    catalog and a report, scored by the shipped fold ensembles; no rule trains. The TESS run names
    the trees alone: its shards skip the raw-flux arrays, which the trees never read."""
    models = ["trees", "raw_flux"] if name == "kepler_simulated" else ["trees"]
    cfg = {"catalog": REAL_CATALOGS[name](), "shards": 1, "cv": {"folds": 2}, "report": {"sheets": 1},
           "models": {"from": name, "enabled": models, "primary": "trees"}}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    done = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--cores", "2",
                           "--configfile", str(tmp_path / "config.yaml")], cwd=tmp_path, capture_output=True,
                          text=True)
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-3000:]
    assert "rule train:" not in log and "score_with_models" in log
    catalog = pd.read_csv(tmp_path / "results" / "report" / "vetted_catalog.csv", dtype={"tce_id": str})
    assert len(catalog) >= 8 and (catalog.score_raw_flux.notna().any() if "raw_flux" in models
                                  else "score_raw_flux" not in catalog)
    assert list((tmp_path / "results" / "report" / "sheets").glob("top_*.png"))
    assert (catalog.status != "failed").sum() >= 7 and catalog.score.dropna().between(0, 1).all()
    assert "trained elsewhere" in (tmp_path / "results" / "report" / "index.html").read_text()

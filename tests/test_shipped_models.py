"""The models ExoSieve ships (exosieve/bundles/): small enough to ship, loaded weights-only, used
by default by exosieve score and exosieve.score() for their mission, each with a model card, and
rebuilt from the recipe its card gives (the run's folds table, digest for digest); a light curve
of another mission, or a single transit, is scored with a flag."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml

from exosieve.cli import main
from exosieve.model_files import SHIPPED_FOR_MISSION, load_models, shipped_bundles, shipped_for
from helpers import (HELD_OUT_LC, KEPLER_LC, REPO, SHARED_DATA, TOI_COLUMNS, confirmed_shares, kepler_signals,
                     needs_held_out_stars, needs_shared_data, real_kepler_tces, score_confirmed_planets,
                     score_real_tces, snakemake, star_folders, tess_stars)

BUNDLES = shipped_bundles()
# Each shipped bundle: its mission, the config its recipe runs, its models, the source it learned
# from and the licence of what it learned from.
SHIPPED = {"kepler_dr24": ("kepler", "exosieve/bundles/kepler_dr24.yaml", {"astronet"}, "views", "GPL-3.0"),
           "tess_yu2019": ("tess", "exosieve/bundles/tess_yu2019.yaml", {"trees"}, "views", "GPL-3.0"),
           "kepler_simulated": ("kepler", "config.yaml", {"trees", "raw_flux"}, "simulated", "BSD-3-Clause"),
           "tess_simulated": ("tess", "exosieve/bundles/tess_simulated.yaml", {"trees", "raw_flux"}, "simulated",
                              "BSD-3-Clause")}
# What exosieve score uses for each mission when no models are named: the bundles of real labels.
DEFAULT = {"kepler": "kepler_dr24", "tess": "tess_yu2019"}
TESS_LC = SHARED_DATA / "tess" / "tid"
# WASP-126 b = TOI-114.01 (KP), in sector 1: its TOI ephemeris on BTJD.
WASP126 = {"tic": "25155310", "period": 3.2887898, "epoch": 1327.51996, "duration_hours": 3.43677}
needs_tess_data = pytest.mark.skipif(not TESS_LC.is_dir(), reason=f"real TESS light curves not found at {TESS_LC}")


def test_every_bundle_is_tested_and_the_defaults_are_the_real_label_ones():
    assert set(BUNDLES) == set(SHIPPED)
    assert SHIPPED_FOR_MISSION == DEFAULT
    assert all(shipped_for(mission) == BUNDLES[name] for mission, name in DEFAULT.items())


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_each_bundle_is_small_and_says_what_it_learned_from(name, capsys):
    mission, _, names, source, licence = SHIPPED[name]
    path = BUNDLES[name]
    assert path.stat().st_size <= 10_000_000
    models = load_models(name)                            # a shipped bundle by name
    about = models.about
    assert set(models.models) == names and all(len(f) == 5 for f in models.models.values())
    assert about["source"] == source and about["training_data"]["positive"] > 200
    # The card states the cross-validated metrics the bundle records.
    card = " ".join(about["card"].split())
    for model in names:
        metrics = about["metrics"][model]
        assert f"{model} ROC-AUC {metrics['roc_auc']}, average precision {metrics['pr_auc']}" in card
    for fold in (f for folds in models.models.values() for f in folds):
        domain = fold["domain"]
        assert domain["mission"] == mission
        # Views carry no measured features: only a light-curve source's models know their ranges.
        assert {"period", "depth"} <= set(domain["ranges"]) if source == "simulated" else not domain["ranges"]
        assert domain["views"]["names"] == ["global", "local"] and domain["views"]["nearest_limit"] > 0
    assert main(["info", name]) == 0
    out = capsys.readouterr().out
    assert "model card:" in out and "Known limits" in out and licence in out
    # The card beside the bundle is the one inside it, and the folder's README lists it.
    assert (path.parent / f"{name}.md").read_text().strip() == about["card"].strip()
    assert f"[{name}.md]({name}.md)" in (path.parent / "README.md").read_text()
    if licence == "GPL-3.0":        # learned from GPL-3.0 data: that licence beside the bundle
        assert "GNU GENERAL PUBLIC LICENSE" in (path.parent / "GPL-3.0.txt").read_text()
        assert "GPL-3.0.txt" in card
    if name == "tess_yu2019":       # trained on every TCE of a survey, scored for TOIs (its card says why)
        assert about["planet_fraction"]["scored_for"] == 0.5 and about["planet_fraction"]["trained"] < 0.05
        assert "probabilities for a catalog of 50% planets" in out and "--planet-fraction 0.5" in card
        shift = about["planet_fraction"]["log_odds_shift"]
        assert all(f.calibration.prior_shift == pytest.approx(shift, abs=1e-3) for f in models.fold_models("trees"))
    if source == "views":           # calibrated on real labels: the reliability diagram beside the card
        assert (path.parent / f"{name}_reliability.png").stat().st_size > 10_000
        assert f"{name}_reliability.png" in card


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
    assert "kepler_dr24.exosieve (shipped with ExoSieve" in out
    # The lines the README shows.
    shown = re.search(r"```text\n(.*?)```", (REPO / "README.md").read_text(), flags=re.S).group(1).splitlines()
    assert all(line in out for line in shown[1:]) and shown[0].split("...")[1] in out, (shown, out) and (tmp_path / "kepler75.png").stat().st_size > 10000


@needs_tess_data
def test_a_tess_planet_is_scored_by_the_tess_bundle_and_flagged_by_the_kepler_one(capsys):
    """WASP-126 b from its real SPOC file: the TESS bundle by default, unflagged and confident;
    the Kepler bundle scores it too, flagged as another mission's light curve."""
    from exosieve.lightcurves.mast import find_tess_lightcurves
    from exosieve.scoring import score
    args = ["score", "--tic", WASP126["tic"], "--period", str(WASP126["period"]), "--t0", str(WASP126["epoch"]),
            "--duration", f"{WASP126['duration_hours']}h", "--lightcurves", str(TESS_LC)]
    assert main(args) == 0
    assert "tess_yu2019.exosieve (shipped with ExoSieve" in capsys.readouterr().out
    files = find_tess_lightcurves(TESS_LC, WASP126["tic"])
    signal = {k: WASP126[k] for k in ("period", "epoch", "duration_hours")}
    own = score(files, signal)
    assert own.attrs["models"].endswith("tess_yu2019.exosieve")
    assert own.status[0] == "scored" and own.trees[0] > 0.9
    other = score(files, signal, "kepler_dr24")
    assert other.status[0] == "flagged"
    assert other.flag[0].startswith("a TESS light curve, and the models learned from Kepler ones")
    assert np.isfinite(other.astronet[0])                 # flagged, not refused


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
    assert np.isfinite(out.astronet["once"])


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
@needs_held_out_stars
@pytest.mark.filterwarnings("ignore:File may have been truncated")
def test_the_kepler_default_scores_the_real_confirmed_planets_as_its_card_says():
    """What a user reads: of the confirmed planets with 2+ transits on the 79 real stars whose
    light curves are at hand, and of their real false positives, the shares its card states."""
    models = load_models("kepler_dr24")
    table = score_confirmed_planets(*kepler_signals([KEPLER_LC, HELD_OUT_LC]), models)
    s = confirmed_shares(table, "astronet")
    card = " ".join(models.about["card"].split())
    assert (f"{s['planets_at_half']} of {s['planets']} confirmed planets at p >= 0.5" in card
            and f"{s['false_above_half']} of {s['false_positives']} false positives above 0.5" in card), s


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_each_bundle_was_trained_on_what_its_recipe_makes(name, tmp_path):
    """The recipe is a run of the workflow with the card's config: its folds table (catalog and
    folds, from the seeds) must be the one whose digest the bundle records."""
    _, config, _, source, _ = SHIPPED[name]
    if source == "views":
        data = yaml.safe_load((REPO / config).read_text())["catalog"]["path"]
        if not list((REPO / data).parent.glob((REPO / data).name)):
            pytest.skip(f"{name}: its recipe's views ({data}) are not at hand; its card says how to fetch them")
    for item in ("Snakefile", "config.yaml"):
        shutil.copy(REPO / item, tmp_path / item)
    for item in ("rules", "workflow_scripts", "report", "envs"):
        shutil.copytree(REPO / item, tmp_path / item)
    results, options = "results", []
    if config != "config.yaml":          # --configfile takes several files: the target goes before it
        recipe = yaml.safe_load((REPO / config).read_text())
        for key in ("path", "exclude"):  # the recipe's paths are the checkout's, run here from elsewhere
            if isinstance(recipe.get("catalog", {}).get(key), str):
                recipe["catalog"][key] = str(REPO / recipe["catalog"][key])
        (tmp_path / "recipe.yaml").write_text(yaml.safe_dump(recipe))
        results, options = recipe["results"], ["--configfile", str(tmp_path / "recipe.yaml")]
    subprocess.run([sys.executable, "-m", "snakemake", "--cores", "1", f"{results}/folds/folds.csv", *options],
                   cwd=tmp_path, check=True, capture_output=True)
    digest = hashlib.sha256((tmp_path / results / "folds" / "folds.csv").read_bytes()).hexdigest()[:16]
    assert load_models(BUNDLES[name]).about["training_data"]["digest"] == digest


# The real stars of ../shared/data as a local catalog, for the default bundles: Kepler's DR24 table,
# or the TOI table through a column mapping (TOI CP/KP planets, FP/FA not), preprocessed at the
# views geometry each bundle learned (models.from refuses any other).
REAL_CATALOGS = {
    "kepler_dr24": lambda: ({"source": "local", "path": str(SHARED_DATA / "catalogs" / "q1_q17_dr24_tce.csv"),
                             "lightcurve_dir": str(KEPLER_LC), "targets": sorted(star_folders(KEPLER_LC))},
                            "dartvetter_dr24"),
    "tess_yu2019": lambda: ({"source": "local", "path": str(SHARED_DATA / "catalogs" / "toi.csv"),
                             "lightcurve_dir": str(TESS_LC), "columns": TOI_COLUMNS, "epoch_offset": 2457000,
                             "mission": "tess", "labels": {"positive": ["CP", "KP"], "negative": ["FP", "FA"]},
                             "targets": sorted(tess_stars(TESS_LC))},
                            "yu2019_tess"),
}


@needs_shared_data
@needs_tess_data
@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(DEFAULT.values()))
def test_a_real_catalog_is_vetted_by_a_shipped_bundle_training_nothing(name, tmp_path):
    """models={from: <shipped name>}: the real stars' catalog through the workflow into a vetted
    catalog and a report, scored by the shipped fold ensembles; no rule trains, and the shards skip
    the raw-flux arrays, which neither bundle's model reads."""
    catalog, preset = REAL_CATALOGS[name]()
    model = next(iter(SHIPPED[name][2]))
    cfg = {"catalog": catalog, "views": {"preset": preset}, "shards": 1, "cv": {"folds": 2}, "report": {"sheets": 1},
           "models": {"from": name, "enabled": [model], "primary": model}}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    log = snakemake(tmp_path, "--configfile", str(tmp_path / "config.yaml"))
    assert "rule train:" not in log and "score_with_models" in log
    catalog = pd.read_csv(tmp_path / "results" / "report" / "vetted_catalog.csv", dtype={"tce_id": str})
    assert len(catalog) >= 8 and "score_raw_flux" not in catalog
    assert list((tmp_path / "results" / "report" / "sheets").glob("top_*.png"))
    assert (catalog.status != "failed").sum() >= 7 and catalog.score.dropna().between(0, 1).all()
    assert "trained elsewhere" in (tmp_path / "results" / "report" / "index.html").read_text()

"""The models ExoSieve ships (exosieve/bundles/): small enough to ship, loaded weights-only, used
by default by exosieve score and exosieve.score(), with a model card, and rebuilt from the recipe
its card gives (the default run's folds table, digest for digest)."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys

import pytest

from conftest import KEPLER_LC, REPO, needs_shared_data
from exosieve.cli import main
from exosieve.model_files import SHIPPED_FOR_MISSION, load_models, shipped_bundles, shipped_for

KEPLER = shipped_bundles()["kepler_simulated"]


def test_the_kepler_bundle_is_small_and_says_what_it_learned_from(capsys):
    assert KEPLER.stat().st_size <= 2_000_000
    assert shipped_for("kepler") == KEPLER and SHIPPED_FOR_MISSION["kepler"] == "kepler_simulated"
    models = load_models("kepler_simulated")              # a shipped bundle by name
    about = models.about
    assert set(models.models) == {"trees", "raw_flux"} and all(len(f) == 5 for f in models.models.values())
    assert about["source"] == "simulated" and about["training_data"]["positive"] > 200
    # The card states the cross-validated metrics the bundle records.
    card = " ".join(about["card"].split())
    for model in ("trees", "raw_flux"):
        metrics = about["metrics"][model]
        assert f"{model} ROC-AUC {metrics['roc_auc']}, average precision {metrics['pr_auc']}" in card
    for fold in (f for folds in models.models.values() for f in folds):
        assert fold["domain"]["mission"] == "kepler" and {"period", "depth"} <= set(fold["domain"]["ranges"])
    assert main(["info", "kepler_simulated"]) == 0
    out = capsys.readouterr().out
    assert "model card:" in out and "Known limits" in out and "BSD-3-Clause" in out
    # The card beside the bundle is the one inside it.
    assert (KEPLER.parent / "README.md").read_text().strip() == about["card"].strip()


def test_no_tess_bundle_is_shipped_yet_and_the_error_says_what_to_do():
    from exosieve.model_files import ModelMismatchError
    with pytest.raises(ModelMismatchError, match="ships no models for TESS light curves yet; name some"):
        shipped_for("tess")


@needs_shared_data
def test_exosieve_score_vets_a_real_signal_with_no_models_named(tmp_path, capsys):
    """The README's quick-start line: a real Kepler planet scored with the shipped models."""
    args = ["score", "--kic", "757450", "--period", "8.884923", "--t0", "134.452", "--duration", "2.078h",
            "--lightcurves", str(KEPLER_LC), "--sheet", str(tmp_path / "kepler75.png")]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "kepler_simulated.exosieve (shipped with ExoSieve" in out
    assert "trees" in out and "raw_flux" in out and (tmp_path / "kepler75.png").stat().st_size > 10000


@pytest.mark.slow
def test_the_bundle_was_trained_on_what_its_recipe_makes(tmp_path):
    """The recipe is the default run: its folds table (catalog and folds, from the seeds in
    config.yaml) must be the one whose digest the bundle records."""
    for name in ("Snakefile", "config.yaml"):
        shutil.copy(REPO / name, tmp_path / name)
    for name in ("rules", "workflow_scripts", "report", "envs"):
        shutil.copytree(REPO / name, tmp_path / name)
    subprocess.run([sys.executable, "-m", "snakemake", "--cores", "1", "results/folds/folds.csv"], cwd=tmp_path,
                   check=True, capture_output=True)
    digest = hashlib.sha256((tmp_path / "results" / "folds" / "folds.csv").read_bytes()).hexdigest()[:16]
    assert load_models(KEPLER).about["training_data"]["digest"] == digest

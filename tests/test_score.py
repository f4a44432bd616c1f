"""Scoring anything: the Python API (lightkurve objects, FITS paths, arrays; one or many
ephemerides), `exosieve score` for one ephemeris, and portable model bundles (export, info,
refusals). Models are a small trees run on synthetic shards whose features ExoSieve measures from
any light curve; the real files are those of ../shared/data."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from exosieve.cli import main
from exosieve.config import load
from exosieve.layout import RunLayout
from exosieve.model_files import (ModelMismatchError, export_bundle, load_model_file, load_models, models_from,
                                  save_model_file)
from exosieve.scoring import ScoreError, score
from exosieve.training import train_fold
from helpers import KEPLER_LC, imbalanced_shards, needs_shared_data

# Kepler-75 b (KIC 757450): DR24 TCE 1, P = 8.884923 d, epoch 134.452 BKJD, 2.078 h.
KEPLER75 = {"period": 8.884923, "epoch": 134.452, "duration": 2.078 / 24}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A finished 3-fold trees run on features measured from any light curve."""
    tmp = tmp_path_factory.mktemp("run")
    cfg = load({"results": str(tmp / "results"), "features": ["snr", "depth", "period"], "cv": {"folds": 3},
                "models": {"enabled": ["trees"], "primary": "trees"}})
    shards, folds_csv = imbalanced_shards(tmp, cfg, n=900, planet_fraction=0.3)
    for fold in range(3):
        out = Path(RunLayout(tmp / "results").model_dir("trees", fold))
        train_fold(shards, folds_csv, fold, cfg, out, model="trees", progress=False)
        # Its features are synthetic numbers, whose ranges say nothing of a real light curve's
        # period or depth: only the mission is kept of what it learned from.
        contents = load_model_file(out / "model.pt")
        assert contents["domain"]["mission"] == "kepler" and set(contents["domain"]["ranges"]) == {"depth", "period"}
        save_model_file(out / "model.pt", {**contents, "domain": {"mission": "kepler", "ranges": {}}})
    os.makedirs(tmp / "results" / "folds")
    pd.read_csv(folds_csv).to_csv(tmp / "results" / "folds" / "folds.csv", index=False)
    return tmp, cfg


def kepler75_files():
    from exosieve.lightcurves.mast import find_kepler_lightcurves
    return find_kepler_lightcurves(KEPLER_LC, 757450)[:5]


def test_a_bundle_holds_the_run_and_scores_as_the_run_does(run, tmp_path, capsys):
    folder, cfg = run
    bundle = export_bundle(folder, tmp_path / "models.exosieve", cfg)
    model_set = load_models(bundle)
    assert list(model_set.models) == ["trees"] and len(model_set.models["trees"]) == 3
    about = model_set.about
    assert about["training_data"]["tces"] == 900 and about["labels"]["positive"] == ["PC"]
    assert about["folds"] == 3 and len(about["training_data"]["digest"]) == 16
    assert main(["info", str(bundle)]) == 0
    out = capsys.readouterr().out
    assert "trees (3 folds)" in out and "training data: 900 TCEs" in out and "scalar features snr, depth, period" in out
    # The bundle and the run's folder are the same models: the same scores.
    from exosieve.shards import read_shards
    data = read_shards([str(folder / "000.h5")], [])
    from_folder = np.mean([m.score(data) for m in load_models(folder).fold_models("trees")], axis=0)
    from_bundle = np.mean([m.score(data) for m in model_set.fold_models("trees")], axis=0)
    np.testing.assert_array_equal(from_folder, from_bundle)


def test_a_crafted_pickle_in_a_bundle_is_refused_unopened(tmp_path):
    marker = tmp_path / "pwned"

    class RunsCode:
        def __reduce__(self):
            return os.system, (f"touch {marker}",)

    torch.save({"kind": "exosieve-bundle", "bundle_version": 1, "models": {"trees": [RunsCode()]}, "about": {}},
               tmp_path / "evil.exosieve")
    with open(tmp_path / "plain.exosieve", "wb") as fh:
        pickle.dump(RunsCode(), fh)
    for path in ("evil.exosieve", "plain.exosieve"):
        with pytest.raises(ModelMismatchError, match="not a weights-only ExoSieve model bundle, refused without running"):
            load_models(tmp_path / path)
    assert not marker.exists()


def test_a_bundle_of_other_preprocessing_is_refused_naming_the_differences(run, tmp_path):
    folder, cfg = run
    bundle = export_bundle(folder, tmp_path / "models.exosieve", cfg)
    models_from(bundle, cfg, ["trees"])                              # the run's own settings: fine
    other = load({**cfg, "detrend": {**cfg["detrend"], "knot_spacing": 0.5}, "cv": {"folds": 5}})
    with pytest.raises(ModelMismatchError, match=r"detrend.knot_spacing: 1.0 there, 0.5 here"):
        models_from(bundle, other, ["trees"])
    # another run's models need not share its folds: only the inputs must mean the same
    models_from(bundle, load({**cfg, "cv": {"folds": 5}}), ["trees"])


@needs_shared_data
def test_score_takes_fits_paths_lightkurve_objects_and_arrays_alike(run):
    folder, _ = run
    files = kepler75_files()
    by_path = score(files, KEPLER75, folder)
    assert by_path.status.tolist() == ["scored"] and 0 <= by_path.trees.iloc[0] <= 1
    assert by_path.measured_depth.iloc[0] > 10000                     # a 1.6% transit, measured

    import lightkurve as lk
    collection = lk.LightCurveCollection([lk.read(str(f)) for f in files])
    by_lightkurve = score(collection, KEPLER75, folder)
    assert by_lightkurve.trees.iloc[0] == pytest.approx(by_path.trees.iloc[0], abs=0.02)

    arrays = {"time": [], "flux": [], "flux_err": [], "quality": [], "segment": []}
    for i, lc in enumerate(collection):
        arrays["time"].append(lc.time.value + 2454833.0)               # on BJD
        arrays["flux"].append(lc.flux.value)
        arrays["flux_err"].append(lc.flux_err.value)
        arrays["quality"].append(np.asarray(lc.quality))
        arrays["segment"].append(np.full(len(lc), i))
    arrays = {k: np.concatenate(v) for k, v in arrays.items()}
    by_arrays = score({**arrays, "time_system": "BJD"}, {**KEPLER75, "epoch": 134.452 + 2454833.0}, folder,
                      star_id="757450", time_system="BJD")
    assert by_arrays.epoch.iloc[0] == pytest.approx(134.452)
    assert by_arrays.trees.iloc[0] == pytest.approx(by_path.trees.iloc[0], abs=0.02)


@needs_shared_data
def test_bad_ephemerides_are_named_with_what_to_change_and_the_rest_are_scored(run):
    folder, _ = run
    signals = [KEPLER75,
               {**KEPLER75, "tce_id": "bjd", "epoch": 134.452 + 2454833.0},   # read as BJD: no BKJD is that large
               {**KEPLER75, "tce_id": "typo", "epoch": (134.452 + 2454833.0) / 10},  # a BJD's digit lost: no system's
               {**KEPLER75, "tce_id": "long", "period": 900.0},        # one transit in the files: flagged
               {**KEPLER75, "tce_id": "gone", "period": 900.0, "epoch": 134.452 + 450.0},   # none in them
               {**KEPLER75, "tce_id": "days", "duration": 24.0},      # hours given as days
               {"period": 8.884923, "epoch": 134.452, "duration_hours": 2.078, "tce_id": "hours"}]
    out = score(kepler75_files(), signals, folder).set_index("tce_id")
    assert out.status.to_dict() == {"757450_1": "scored", "bjd": "scored", "typo": "failed", "long": "flagged",
                                    "gone": "failed", "days": "failed", "hours": "scored"}
    assert out.epoch["bjd"] == pytest.approx(134.452) and out.trees["bjd"] == pytest.approx(out.trees["757450_1"])
    assert out.epoch_read_as.to_dict() == {**{t: "BKJD" for t in out.index}, "bjd": "BJD"}
    assert "looks like another time system; give it in BKJD" in out.error["typo"]
    assert "a single transit in the light curve" in out.flag["long"] and np.isfinite(out.trees["long"])
    assert "longer than the" in out.error["gone"] and "add quarters or sectors" in out.error["gone"]
    assert "durations are in days (or give duration_hours)" in out.error["days"]
    assert out.trees["hours"] == pytest.approx(out.trees["757450_1"])
    # A named time system is read as named, even for an epoch only a BJD can be; one named BJD that
    # is still far from the light curve is not of another system: the error says to check its value.
    named = score(kepler75_files(), [{**KEPLER75, "tce_id": "bjd", "epoch": 134.452 + 2454833.0},
                                     {**KEPLER75, "tce_id": "far", "epoch": 134.452 + 2454833.0 + 2e5}], folder,
                  time_system="BKJD").set_index("tce_id")
    assert named.status["bjd"] == "failed" and "looks like another time system; give it in BKJD" in named.error["bjd"]
    far = score(kepler75_files(), {**KEPLER75, "epoch": 134.452 + 2454833.0 + 2e5}, folder, time_system="BJD")
    assert far.status.iloc[0] == "failed" and "check the epoch's value" in far.error.iloc[0]
    assert "say it is BJD" not in far.error.iloc[0]
    with pytest.raises(ScoreError, match="name the arrays' time system"):
        score({"time": [1.0, 2.0], "flux": [1.0, 1.0]}, KEPLER75, folder)
    with pytest.raises(ScoreError, match="needs period"):
        score(kepler75_files(), {"period": 3.0}, folder)


@needs_shared_data
def test_a_signal_whose_transit_is_not_in_its_views_is_scored_with_a_flag_not_a_verdict(run):
    """Issue 28: a transit the views do not hold (a depth far below the one given, or one transit
    that nothing confirms, or no dip at all where no depth is given: a wrong epoch) is scored,
    flagged, with the reason; Kepler-75 b is not flagged, with its depth or without."""
    folder, _ = run
    from exosieve.lightcurves.reader import read_kepler_lightcurve
    lc = read_kepler_lightcurve(kepler75_files(), "757450")
    start, span = float(lc.time[0]), float(lc.time[-1] - lc.time[0])
    signals = [{**KEPLER75, "depth": 16000.0},
               # half a period from Kepler-75 b's transits, where the light curve is flat
               {**KEPLER75, "tce_id": "nothing_there", "epoch": 134.452 + 8.884923 / 2, "depth": 16000.0},
               {"tce_id": "one_transit", "period": 0.6 * span, "epoch": start + 0.5 * span, "duration": 0.2},
               {**KEPLER75, "tce_id": "no_depth"},
               {**KEPLER75, "tce_id": "wrong_epoch", "epoch": 134.452 + 8.884923 / 2}]
    out = score(kepler75_files(), signals, folder).set_index("tce_id")
    assert out.status.to_dict() == {"757450_1": "scored", "nothing_there": "flagged", "one_transit": "flagged",
                                    "no_depth": "scored", "wrong_epoch": "flagged"}
    assert out.flag["757450_1"] == out.flag["no_depth"] == ""
    assert "is far below the catalog's 16000 ppm" in out.flag["nothing_there"]
    assert out.flag["wrong_epoch"].startswith("no dip at this ephemeris") and "check the period, epoch" in out.flag["wrong_epoch"]
    assert "a single transit" in out.flag["one_transit"]
    assert out.trees.notna().all()                       # scored all the same


@needs_shared_data
def test_a_tess_light_curve_given_to_kepler_models_is_flagged_and_so_is_a_value_outside_their_range(run):
    """Issue 29: a score says when its inputs are unlike what the models learned from."""
    from exosieve.model_files import ModelSet
    from helpers import SHARED_DATA
    folder, _ = run
    wasp126 = sorted((SHARED_DATA / "tess" / "tid").rglob("*0000000025155310-*_lc.fits"))
    out = score(wasp126, {"period": 3.28880, "epoch": 1326.5055, "duration_hours": 3.2, "star_id": "25155310"},
                folder)
    assert out.status.tolist() == ["flagged"] and out.trees.notna().all()
    assert "a TESS light curve, and the models learned from Kepler ones" in out.flag.iloc[0]
    models = load_models(folder)
    narrow = ModelSet({n: [{**c, "domain": {"mission": "kepler", "ranges": {"depth": [10.0, 2000.0],
                                                                                "period": [1.0, 100.0]}}}
                           for c in folds] for n, folds in models.models.items()}, models.about, models.where)
    kepler75 = score(kepler75_files(), KEPLER75, narrow)
    assert kepler75.status.tolist() == ["flagged"]
    assert kepler75.flag.iloc[0].startswith("its depth ") and "is outside the training TCEs' 10-2000" in kepler75.flag.iloc[0]


@needs_shared_data
def test_exosieve_score_prints_the_scores_and_writes_the_sheet(run, tmp_path, capsys):
    folder, _ = run
    args = ["score", "--kic", "757450", "--period", "8.884923", "--t0", "134.452", "--duration", "2.078h",
            "--lightcurves", str(KEPLER_LC), "--models", str(folder)]
    assert main([*args, "--sheet", str(tmp_path / "sheet.png")]) == 0
    out = capsys.readouterr().out
    assert "KIC 757450: P = 8.88492 d" in out and "trees" in out and (tmp_path / "sheet.png").stat().st_size > 10000
    assert main([*args[:-4], "--lightcurves", str(tmp_path), "--models", str(folder)]) == 2
    assert "no light curve of KIC 757450" in capsys.readouterr().err
    # An epoch above 2,400,000 can only be a BJD: read as one, and said so; one on no system is refused.
    assert main(["score", "--kic", "757450", "--period", "8.884923", "--t0", "2454967.452", "--duration", "0.0866",
                 "--lightcurves", str(KEPLER_LC), "--models", str(folder)]) == 0
    said = capsys.readouterr().out
    assert "epoch 134.45200 (BKJD)" in said
    assert "epoch 2454967.45 read as BJD (above 2,400,000); name --time-system to say otherwise" in said
    assert main(["score", "--kic", "757450", "--period", "8.884923", "--t0", "245496.7452", "--duration", "0.0866",
                 "--lightcurves", str(KEPLER_LC), "--models", str(folder)]) == 1
    said = capsys.readouterr()
    assert "--time-system BJD" in said.err and "read as BJD" not in said.err
    assert main([*args[:-2], "--models", str(tmp_path / "none")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_exosieve_score_is_the_api_and_importing_the_package_stays_light():
    import subprocess
    import sys
    code = ("import sys, exosieve; light = 'torch' not in sys.modules and 'astropy' not in sys.modules; "
            "from exosieve.scoring import score; print(light, exosieve.score is score)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.split() == ["True", "True"], out.stderr

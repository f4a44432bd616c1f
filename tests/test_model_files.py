"""Model files: weights-only (a crafted pickle is refused without running), trees stored as
arrays that predict exactly as scikit-learn does, and every model file refusing to score under a
configuration other than its own; predict takes exactly the configured run's folds."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
import torch

from exosieve.config import load
from exosieve.layout import RunLayout
from exosieve.model_files import FoldModel, ModelMismatchError
from exosieve.models import BoostedTrees, build_trees
from exosieve.predict import run_models
from exosieve.shards import ShardError, read_shards
from exosieve.training import train_fold
from helpers import imbalanced_shards

FEATURES = ["snr", "depth", "period"]


class _RunsCode:
    """What a malicious model.pt would hold: unpickling it calls os.system."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_a_crafted_pickle_in_model_pt_is_refused_without_running(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "model.pt"
    torch.save({"format": 2, "kind": "trees", "model": "trees", "payload": _RunsCode(marker)}, path)
    with open(tmp_path / "plain.pt", "wb") as fh:            # and a bare pickle, not even torch's zip format
        pickle.dump(_RunsCode(marker), fh)
    for p in (path, tmp_path / "plain.pt"):
        with pytest.raises(ModelMismatchError, match="not a weights-only ExoSieve model file, refused without running"):
            FoldModel(p)
    assert not marker.exists()


def test_trees_stored_as_arrays_predict_exactly_as_scikit_learn():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4000, 6))
    x[rng.random(x.shape) < 0.15] = np.nan                  # missing features go where training sent them
    y = (np.nan_to_num(x[:, 0]) + 0.5 * np.nan_to_num(x[:, 1]) + rng.normal(size=4000) > 1.2).astype(int)
    clf = build_trees({"max_iter": 80, "learning_rate": 0.1, "max_leaf_nodes": 31}, seed=1).fit(x, y)
    trees = BoostedTrees({k: v.numpy() for k, v in BoostedTrees.from_estimator(clf).to_tensors().items()})
    np.testing.assert_allclose(trees.predict_proba(x), clf.predict_proba(x)[:, 1], rtol=0, atol=1e-12)


@pytest.fixture
def run(tmp_path):
    """A finished 3-fold trees run (results/models/trees/fold_K/model.pt) on synthetic shards."""
    cfg = load({"results": str(tmp_path / "results"), "features": FEATURES, "cv": {"folds": 3},
                "models": {"enabled": ["trees"], "primary": "trees"}})
    shards, folds_csv = imbalanced_shards(tmp_path, cfg, n=900, planet_fraction=0.3)
    for fold in range(3):
        train_fold(shards, folds_csv, fold, cfg, RunLayout(tmp_path / "results").model_dir("trees", fold),
                   model="trees", progress=False)
    return cfg, shards, folds_csv


def test_a_model_refuses_other_preprocessing_settings_and_other_runs(run):
    cfg, shards, _ = run
    cfg_path = os.path.join(cfg["results"], "models", "trees", "fold_0", "model.pt")
    model = FoldModel(cfg_path)
    model.check(cfg)                                        # its own configuration: fine
    other = load({**cfg, "views": {**cfg["views"], "global_bins": 101}})
    with pytest.raises(ModelMismatchError) as err:
        model.check(other)
    assert "views.global_bins: 301 there, 101 here" in str(err.value) and cfg_path in str(err.value)
    assert "Retrain under this configuration" in str(err.value)
    with pytest.raises(ModelMismatchError, match="belongs to a 3-fold run with cv.seed 17, this configuration has "
                                                 "cv.folds 5 and cv.seed 17"):
        model.check(load({**cfg, "cv": {**cfg["cv"], "folds": 5}}))
    # the model file itself is plain: tensors and values, loadable weights-only
    bundle = torch.load(cfg_path, weights_only=True)
    assert bundle["settings"]["preprocessing"]["views"]["global_bins"] == 301 and "estimator" not in bundle
    # and it says which training code made it, as a shard says which preprocessing code made it
    from exosieve.code_version import code_hash
    assert bundle["settings"]["code_hash"] == code_hash("exosieve.training")


def test_predict_uses_exactly_the_configured_folds(run):
    cfg, _, _ = run
    layout = RunLayout(cfg["results"])
    # leftovers of an earlier 5-fold run must not be averaged in
    for k in (3, 4):
        os.makedirs(layout.model_dir("trees", k))
        torch.save({"format": 2}, layout.model_file("trees", k))
    loaded = run_models(cfg)["trees"]
    assert [str(m.path) for m in loaded] == [layout.model_file("trees", k) for k in range(3)]
    os.remove(layout.model_file("trees", 1))
    with pytest.raises(FileNotFoundError, match=r"trees: fold 1 of 3 is missing .*finish the run first"):
        run_models(cfg)


def test_training_and_evaluation_refuse_shards_of_other_settings(run, tmp_path):
    cfg, shards, folds_csv = run
    other = load({**cfg, "detrend": {**cfg["detrend"], "knot_spacing": 0.75}})
    with pytest.raises(ShardError, match=r"other preprocessing settings .*detrend.knot_spacing: 1.0 there, 0.75 here"
                                         r".*--forcerun preprocess"):
        train_fold(shards, folds_csv, 0, other, tmp_path / "x", model="trees", progress=False)
    from exosieve.evaluation import evaluate_fold
    with pytest.raises(ModelMismatchError, match="detrend.knot_spacing"):
        evaluate_fold(os.path.join(cfg["results"], "models", "trees", "fold_0", "model.pt"), shards, folds_csv, 0,
                      tmp_path / "s.csv", other)
    assert len(read_shards(shards, [])) == 900


def test_a_views_trained_model_takes_light_curves_made_at_its_geometry_and_with_its_detrending_only():
    """A model trained on precomputed views knows only how they were made (views.preset): light
    curves preprocessed the same way may use it; another geometry or another detrending is
    refused by name."""
    from exosieve.model_files import check_model_settings, model_settings
    views_run = load({"catalog": {"source": "views", "path": "views.npz"}, "views": {"preset": "dartvetter_dr24"}},
                     check_paths=False)
    settings = model_settings(views_run)
    check_model_settings(settings, load({"views": {"preset": "dartvetter_dr24"}}), "m.pt", same_run=False)
    spline = load({"views": {"preset": "dartvetter_dr24"}, "detrend": {"method": "spline"}})
    with pytest.raises(ModelMismatchError, match="detrend.method: 'savgol' there, 'spline' here"):
        check_model_settings(settings, spline, "m.pt", same_run=False)
    with pytest.raises(ModelMismatchError, match="global_bins: 201 there, 301 here"):
        check_model_settings(settings, load({}), "m.pt", same_run=False)


def test_only_a_raw_flux_reader_cares_whether_raw_flux_was_made():
    """raw_flux (models.enabled) only adds the raw-flux arrays to a shard: a model trained beside
    the raw_flux model scores shards made without them, unless it reads them."""
    from exosieve.model_files import check_model_settings, model_settings
    with_raw = model_settings(load({"models": {"enabled": ["trees", "raw_flux"], "primary": "trees"}}))
    trees_only = load({"models": {"enabled": ["trees"], "primary": "trees"}})
    check_model_settings(with_raw, trees_only, "trees.pt", same_run=False, reads_raw_flux=False)
    with pytest.raises(ModelMismatchError, match="raw_flux: True there, False here"):
        check_model_settings(with_raw, trees_only, "raw_flux.pt", same_run=False, reads_raw_flux=True)
    knots = load({"models": {"enabled": ["trees"], "primary": "trees"}, "detrend": {"knot_spacing": 0.75}})
    with pytest.raises(ModelMismatchError, match="knot_spacing: 1.0 there, 0.75 here"):
        check_model_settings(with_raw, knots, "trees.pt", same_run=False, reads_raw_flux=False)


def test_a_cnn_without_a_scalar_branch_scores_inputs_that_lack_its_scalers_features():
    """astronet trained on a views dataset fits a scaler on the dataset's own features but never
    reads them: light curves, which lack those features, must still be scored."""
    import pandas as pd

    from exosieve.calibration import Calibration
    from exosieve.features import ScalarScaler
    from exosieve.models import build_cnn
    from exosieve.shards import ShardData
    cfg = load({"views": {"preset": "astronet"}})
    arrays = {"global": (2001,), "local": (201,)}
    net = build_cnn("astronet", arrays, 2, cfg["models"]["astronet"])
    assert net.scalar_branch is None
    bundle = {"kind": "cnn", "model": "astronet", "arrays": arrays, "fold": 0, "model_cfg": cfg["models"]["astronet"],
              "scaler": ScalarScaler(["tce_period", "tce_model_snr"]).to_dict(), "state_dict": net.state_dict(),
              "medians": {a: np.zeros(shape, np.float32) for a, shape in arrays.items()},
              "calibration": Calibration(1.0, 1.0, 0.0, "validation", 100, 30).to_dict()}
    model = FoldModel(bundle=bundle)
    rng = np.random.default_rng(0)
    data = ShardData(meta=pd.DataFrame({"tce_id": ["1_1", "2_1"], "star_id": ["1", "2"]}),
                     views={a: rng.normal(size=(2, *shape)).astype(np.float32) for a, shape in arrays.items()},
                     scalars=np.zeros((2, 1), np.float32), scalar_names=["snr"])
    model.require_inputs(data)
    scores = model.calibrate(model.raw_score(data))
    assert scores.shape == (2,) and np.isfinite(scores).all()
    assert set(model.occlude(data, scores)) == {"global", "local"}


def test_a_bundles_card_is_replaced_and_nothing_else(tmp_path):
    """A shipped bundle's card can change after export (another became the default): the same card
    back gives the same bytes, another changes the card alone."""
    import shutil

    from exosieve.model_files import load_models, replace_card, shipped_bundles
    bundle = tmp_path / "b.exosieve"
    shutil.copy(shipped_bundles()["kepler_simulated"], bundle)
    before = load_models(bundle)
    (tmp_path / "same.md").write_text(before.about["card"])
    replace_card(bundle, tmp_path / "same.md")
    assert bundle.read_bytes() == shipped_bundles()["kepler_simulated"].read_bytes()
    (tmp_path / "new.md").write_text("# another card\n")
    replace_card(bundle, tmp_path / "new.md")
    after = load_models(bundle)
    assert after.about["card"] == "# another card\n"
    assert {k: v for k, v in after.about.items() if k != "card"} == {k: v for k, v in before.about.items() if k != "card"}

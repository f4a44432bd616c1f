"""Scores as probabilities: Platt calibration on each fold's validation split, the calibration
metrics, thresholds for a target precision, and the whole train -> evaluate path on a
deliberately imbalanced set (3% planets), where uncalibrated scores fail."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from exosieve.calibration import PlattCalibration, fit_platt
from exosieve.config import load
from exosieve.evaluation import FoldModel, evaluate_fold, expected_calibration_error, reliability, threshold_for_precision
from exosieve.folds import assign_folds
from exosieve.shards import ShardData, provenance, write_shard
from exosieve.training import train_fold


def test_platt_turns_class_weighted_scores_back_into_probabilities():
    """A model trained with pos_weight w shifts every log-odds by log(w): at 3% planets it says
    0.5 where 3% are planets. Platt scaling fitted on a held-out split undoes that."""
    rng = np.random.default_rng(0)
    n = 40000
    z = rng.normal(-4.2, 2.0, n)                       # true log-odds: about 3% planets
    y = (rng.random(n) < expit(z)).astype(int)
    w = (y == 0).sum() / (y == 1).sum()
    raw = expit(1.3 * z + np.log(w))                  # class-weighted and over-confident
    val, test = slice(0, 4000), slice(4000, None)
    cal = fit_platt(raw[val], y[val])
    prob = cal(raw[test])
    assert 0.02 < y.mean() < 0.07
    assert expected_calibration_error(y[test], raw[test]) > 0.1       # left alone: far off
    assert expected_calibration_error(y[test], prob) < 0.01
    above = prob >= 0.5
    assert abs(y[test][above].mean() - prob[above].mean()) < 0.05
    assert cal.a == pytest.approx(1 / 1.3, rel=0.1) and cal.b == pytest.approx(-np.log(w) / 1.3, rel=0.15)


def test_platt_is_finite_and_deterministic_on_perfectly_separated_scores():
    raw = np.array([0.01, 0.02, 0.03, 0.97, 0.99, 0.999])
    y = np.array([0, 0, 0, 1, 1, 1])
    a, b = fit_platt(raw, y), fit_platt(raw, y)
    assert a == b and np.isfinite([a.a, a.b]).all()
    p = a(raw)
    # The weak prior keeps the slope finite where maximum likelihood alone would make it infinite.
    assert (p[:3] < 0.5).all() and (p[3:] > 0.5).all() and ((p > 0) & (p < 1)).all() and a.a < 20
    assert PlattCalibration.from_dict(a.to_dict()) == a
    with pytest.raises(ValueError, match="both classes"):
        fit_platt(raw[:3], y[:3])


def test_calibration_metrics_on_known_cases():
    y = np.array([1] * 3 + [0] * 7)
    assert expected_calibration_error(y, np.full(10, 0.3)) == pytest.approx(0.0)
    assert expected_calibration_error(y, np.full(10, 0.9)) == pytest.approx(0.6)
    table = reliability(y, np.full(10, 0.9))
    assert table.n.sum() == 10 and table.loc[9, "planet_fraction"] == pytest.approx(0.3)
    score = np.array([0.1, 0.2, 0.35, 0.4, 0.6, 0.7, 0.8, 0.9])
    label = np.array([0, 0, 1, 0, 1, 0, 1, 1])
    assert threshold_for_precision(label, score, 0.75) == pytest.approx(0.6)   # 3 of 4 above 0.6
    assert threshold_for_precision(label, score, 1.0) == pytest.approx(0.8)
    assert threshold_for_precision(label, score, 0.6) == pytest.approx(0.35)   # 4 of 6
    assert threshold_for_precision(label, score, 0.5) == pytest.approx(0.1)    # everything


def _imbalanced_shards(tmp_path, cfg, n=5000, planet_fraction=0.03, seed=3):
    """Scalar features that tell planets apart only noisily, 3% planets, one TCE per star."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < planet_fraction).astype(int)
    x = np.column_stack([rng.normal(2.6 * y, 1.0), rng.normal(1.2 * y, 1.0), rng.normal(0, 1, n)])
    meta = pd.DataFrame({"tce_id": [f"{i + 1}_1" for i in range(n)], "star_id": [str(i + 1) for i in range(n)],
                         "disposition": np.where(y == 1, "PC", "AFP"), "label": y,
                         "period": 5.0, "epoch": 131.0, "duration": 0.1})
    data = ShardData(meta=meta, views={}, scalars=x.astype(np.float32), scalar_names=["snr", "depth", "period"])
    write_shard(tmp_path / "000.h5", data, provenance(cfg, "000"))
    folds = assign_folds(meta.assign(star_id=meta.star_id), 3, seed=1)
    folds.to_csv(tmp_path / "folds.csv", index=False)
    return [str(tmp_path / "000.h5")], str(tmp_path / "folds.csv")


@pytest.mark.parametrize("imbalance", ["class_weight", "none"])
def test_out_of_fold_scores_are_probabilities_on_an_imbalanced_set(tmp_path, imbalance):
    """The real training and evaluation path (trees: seconds on CPU), 3% planets: out of fold, the
    precision observed above 0.5 matches the mean calibrated probability there, where the raw
    scores promise far more than they deliver; the mean probability is the planet fraction."""
    cfg = load({"features": ["snr", "depth", "period"], "training": {"imbalance": imbalance}, "cv": {"folds": 3}})
    shards, folds_csv = _imbalanced_shards(tmp_path, cfg)
    oof = []
    for fold in range(3):
        train_fold(shards, folds_csv, fold, cfg, tmp_path / f"fold_{fold}", model="trees", progress=False)
        model = FoldModel(tmp_path / f"fold_{fold}" / "model.pt")
        assert model.calibration.fitted_on == "validation" and model.calibration.n > 100
        oof.append(evaluate_fold(tmp_path / f"fold_{fold}" / "model.pt", shards, folds_csv, fold,
                                 tmp_path / f"scores_{fold}.csv", cfg))
    oof = pd.concat(oof)
    oof = oof[oof.role == "test"]
    assert len(oof) == 5000 and 0.02 < oof.label.mean() < 0.04
    assert expected_calibration_error(oof.label, oof.score) < 0.02
    assert oof.score.mean() == pytest.approx(oof.label.mean(), abs=0.005)
    # Each validation split holds about 18 planets, which pin the top of the map to about +-0.1.
    above = oof[oof.score >= 0.5]
    assert len(above) >= 80 and abs(above.label.mean() - above.score.mean()) < 0.15
    raw_above = oof[oof.score_raw >= 0.5]                   # left uncalibrated: 0.86-0.9 promised, 0.6-0.75 found
    assert raw_above.score_raw.mean() - raw_above.label.mean() > 0.1


def test_a_model_file_without_calibration_is_refused_with_what_to_do(tmp_path):
    cfg = load({"features": ["snr", "depth", "period"], "cv": {"folds": 3}})
    shards, folds_csv = _imbalanced_shards(tmp_path, cfg, n=600, planet_fraction=0.3)
    train_fold(shards, folds_csv, 0, cfg, tmp_path / "f", model="trees", progress=False)
    import torch
    bundle = torch.load(tmp_path / "f" / "model.pt", weights_only=True)
    del bundle["calibration"]
    model = FoldModel(bundle=bundle)
    from exosieve.shards import read_shards
    with pytest.raises(ValueError, match="no calibration.*retrain it.*--forcerun train"):
        model.score(read_shards(shards, []))


def test_a_few_extreme_logits_neither_set_the_slope_nor_lose_the_order():
    """An over-confident network: most validation logits are moderate, a few are enormous."""
    rng = np.random.default_rng(5)
    z = rng.normal(-1.2, 2.0, 600)
    y = (rng.random(600) < expit(z)).astype(int)
    logits = 3.0 * z
    logits[np.argsort(logits)[-8:]] = 20.0 + np.arange(8)          # a handful far beyond the rest
    raw = expit(logits)
    cal = fit_platt(raw, y)
    assert cal.a == pytest.approx(1 / 3.0, rel=0.25)              # the bulk sets the slope
    prob = cal(raw)
    top = np.argsort(logits)[-8:]
    assert np.all(np.diff(prob[top]) > 0)                          # no ties at the top: order kept


def test_the_map_is_platts_with_many_tces_and_less_sure_with_few():
    """The calibrated probability averages Platt's map over its parameters' uncertainty: from a few
    dozen validation TCEs it keeps the extremes away from 0 and 1 by what those TCEs leave unknown;
    from thousands it is Platt's map; either way it keeps the scores' order."""
    rng = np.random.default_rng(11)

    def split(n):
        z = rng.normal(-1.2, 2.5, n)
        return expit(z), (rng.random(n) < expit(z)).astype(int)

    raw_few, y_few = split(60)
    raw_many, y_many = split(20000)
    few, many = fit_platt(raw_few, y_few), fit_platt(raw_many, y_many)
    grid = expit(np.linspace(-12, 12, 2001))
    plain_few = expit(few.a * np.log(grid / (1 - grid)) + few.b)
    plain_many = expit(many.a * np.log(grid / (1 - grid)) + many.b)
    assert np.max(np.abs(many(grid) - plain_many)) < 0.005
    top, bottom = grid > 0.99, grid < 0.01
    assert (few(grid[top]) < plain_few[top]).all() and (few(grid[bottom]) > plain_few[bottom]).all()
    assert np.all(np.diff(few(grid)) >= 0) and np.all(np.diff(many(grid)) >= 0)
    old = PlattCalibration.from_dict({k: v for k, v in few.to_dict().items() if k != "cov"})
    assert old.cov == (0.0, 0.0, 0.0) and np.allclose(old(grid), plain_few)     # files written before it

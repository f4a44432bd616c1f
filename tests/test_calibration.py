"""Scores as probabilities: beta calibration on each fold's validation split, the calibration
metrics, thresholds for a target precision, and the whole train -> evaluate path on a
deliberately imbalanced set (3% planets), where uncalibrated scores fail."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from exosieve.calibration import (Calibration, MultiplicityRatio, apply_multiplicity, fit_calibration,
                                  multiplicity_ratio)
from exosieve.config import load
from exosieve.evaluation import (evaluate_fold, expected_calibration_error, reliability, star_bootstrap_roc_auc,
                                 threshold_for_precision)
from exosieve.layout import RunLayout
from exosieve.model_files import FoldModel
from exosieve.training import train_fold
from helpers import imbalanced_shards


def test_calibration_turns_class_weighted_scores_back_into_probabilities():
    """A model trained with pos_weight w shifts every log-odds by log(w): at 3% planets it says
    0.5 where 3% are planets. Calibration fitted on a held-out split undoes that; with Platt's
    one slope the truth, it finds equal slopes at both ends."""
    rng = np.random.default_rng(0)
    n = 40000
    z = rng.normal(-4.2, 2.0, n)                       # true log-odds: about 3% planets
    y = (rng.random(n) < expit(z)).astype(int)
    w = (y == 0).sum() / (y == 1).sum()
    raw = expit(1.3 * z + np.log(w))                  # class-weighted and over-confident
    val, test = slice(0, 4000), slice(4000, None)
    cal = fit_calibration(raw[val], y[val])
    prob = cal(raw[test])
    assert 0.02 < y.mean() < 0.07
    assert expected_calibration_error(y[test], raw[test]) > 0.1       # left alone: far off
    assert expected_calibration_error(y[test], prob) < 0.01
    above = prob >= 0.5
    assert abs(y[test][above].mean() - prob[above].mean()) < 0.05
    assert cal.a == pytest.approx(1 / 1.3, rel=0.1) and cal.b == pytest.approx(1 / 1.3, rel=0.1)
    assert cal.c == pytest.approx(-np.log(w) / 1.3, rel=0.15)


def test_calibration_is_finite_and_deterministic_on_perfectly_separated_scores():
    raw = np.array([0.01, 0.02, 0.03, 0.97, 0.99, 0.999])
    y = np.array([0, 0, 0, 1, 1, 1])
    a, b = fit_calibration(raw, y), fit_calibration(raw, y)
    assert a == b and np.isfinite([a.a, a.b, a.c]).all()
    p = a(raw)
    # The weak prior keeps the slope finite where maximum likelihood alone would make it infinite.
    assert (p[:3] < 0.5).all() and (p[3:] > 0.5).all() and ((p > 0) & (p < 1)).all() and a.a < 20 and a.b < 20
    assert Calibration.from_dict(a.to_dict()) == a
    with pytest.raises(ValueError, match="both classes"):
        fit_calibration(raw[:3], y[:3])


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


def test_the_star_bootstrap_draws_whole_stars_and_pairs_the_scores():
    rng = np.random.default_rng(3)
    # Two stars, each of one class: a draw of one star twice holds one class and is left out,
    # which happens to half the draws only if whole stars are drawn.
    y = np.array([1] * 5 + [0] * 7)
    stars = ["a"] * 5 + ["b"] * 7
    draws = star_bootstrap_roc_auc(y, {"perfect": y + 0.1, "noise": rng.random(12)}, stars, resamples=400)
    assert 150 < len(draws) < 250 and (draws.perfect == 1.0).all()
    # Many stars: the same draws for every score, so equal scores differ by exactly zero.
    y = rng.integers(0, 2, 300)
    stars = np.repeat(np.arange(100), 3)
    score = y + rng.normal(0, 1, 300)
    draws = star_bootstrap_roc_auc(y, {"one": score, "same": score.copy(), "other": -score}, stars, resamples=200)
    assert (draws.one == draws.same).all() and np.allclose(draws.one + draws.other, 1)
    assert draws.equals(star_bootstrap_roc_auc(y, {"one": score, "same": score, "other": -score}, stars, resamples=200))
    assert 0.01 < draws.one.std() < 0.1


@pytest.mark.parametrize("imbalance", ["class_weight", "none"])
def test_out_of_fold_scores_are_probabilities_on_an_imbalanced_set(tmp_path, imbalance):
    """The real training and evaluation path (trees: seconds on CPU), 3% planets: out of fold, the
    precision observed above 0.5 matches the mean calibrated probability there, where the raw
    scores promise far more than they deliver; the mean probability is the planet fraction."""
    cfg = load({"features": ["snr", "depth", "period"], "training": {"imbalance": imbalance}, "cv": {"folds": 3}})
    shards, folds_csv = imbalanced_shards(tmp_path, cfg)
    layout = RunLayout(tmp_path / "results")
    oof = []
    for fold in range(3):
        train_fold(shards, folds_csv, fold, cfg, layout.model_dir("trees", fold), model="trees", progress=False)
        model = FoldModel(layout.model_file("trees", fold))
        assert model.calibration.fitted_on == "validation" and model.calibration.n > 100
        oof.append(evaluate_fold(layout.model_file("trees", fold), shards, folds_csv, fold,
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
    shards, folds_csv = imbalanced_shards(tmp_path, cfg, n=600, planet_fraction=0.3)
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
    cal = fit_calibration(raw, y)
    assert cal.a == pytest.approx(1 / 3.0, rel=0.3) and cal.b == pytest.approx(1 / 3.0, rel=0.3)  # the bulk sets them
    prob = cal(raw)
    top = np.argsort(logits)[-8:]
    assert np.all(np.diff(prob[top]) > 0)                          # no ties at the top: order kept


def test_two_slopes_fit_a_model_sure_of_itself_at_one_end_only():
    """A model whose high scores are over-confident and whose low scores are not: one slope (Platt)
    cannot fit both ends, beta calibration can; the map never reverses two scores; model files
    written with a Platt map (a, b) read as the same map."""
    rng = np.random.default_rng(11)
    z = rng.normal(-1.0, 2.0, 40000)
    y = (rng.random(z.size) < expit(z)).astype(int)
    raw = expit(np.where(z > 0, 2.5 * z, z))             # too sure above 0.5 only
    val, test = slice(0, 8000), slice(8000, None)
    cal = fit_calibration(raw[val], y[val])
    x = np.log(raw / (1 - raw))
    from sklearn.linear_model import LogisticRegression
    platt = LogisticRegression(C=1e6).fit(x[val, None], y[val]).predict_proba(x[test, None])[:, 1]
    beta_ece, platt_ece = expected_calibration_error(y[test], cal(raw[test])), expected_calibration_error(y[test], platt)
    assert beta_ece < 0.015 and platt_ece > 2 * beta_ece
    assert expected_calibration_error(y[test], raw[test]) > 0.03
    assert cal.b < 0.6 < 0.8 < cal.a                       # the high end flattened, the low end kept
    grid = np.linspace(0, 1, 20001)
    assert np.all(np.diff(cal(grid)) >= 0)
    old = Calibration.from_dict({"a": 0.7, "b": -1.2, "fitted_on": "validation", "n": 90, "n_positive": 20})
    assert np.allclose(old(grid[1:-1]), expit(0.7 * np.log(grid[1:-1] / (1 - grid[1:-1])) - 1.2))


def _multiplicity_sample(rng, n, planet_fraction=0.3, q_pc=0.45, q_not=0.15, separation=1.5):
    """Labels, multiplicity (multi-TCE star with probability q_pc for PCs, q_not otherwise) and a
    calibrated score from a feature independent of multiplicity given the class: P(PC | x) exactly."""
    y = (rng.random(n) < planet_fraction).astype(int)
    multi = rng.random(n) < np.where(y == 1, q_pc, q_not)
    x = rng.normal(separation * y, 1.0)
    prior = np.log(planet_fraction / (1 - planet_fraction))
    return y, multi, expit(prior + separation * x - separation ** 2 / 2)


def test_multiplicity_ratio_recovers_the_class_conditional_likelihood_ratios():
    """Multis three times as common among planets (45% against 15%): LR 3 on multi-TCE stars and
    0.55 / 0.85 on single ones; pseudo-counts keep tiny or one-class samples finite."""
    rng = np.random.default_rng(31)
    y, multi, _ = _multiplicity_sample(rng, 40000)
    r = multiplicity_ratio(y, multi)
    assert r.multi == pytest.approx(3.0, rel=0.08) and r.single == pytest.approx(0.55 / 0.85, rel=0.05)
    assert (r.n_positive, r.n_negative) == (int(y.sum()), int((y == 0).sum()))
    # Unlabelled rows (-1) are ignored.
    assert multiplicity_ratio(np.r_[y, [-1] * 500], np.r_[multi, [True] * 500]) == r
    # Laplace's pseudo-counts: (k + 1) / (n + 2) for each class.
    tiny = multiplicity_ratio([1, 1, 0], [True, True, False])
    assert tiny.multi == pytest.approx((3 / 4) / (1 / 3)) and tiny.single == pytest.approx((1 / 4) / (2 / 3))
    assert multiplicity_ratio([], []) == MultiplicityRatio(1.0, 1.0, 0, 0)
    assert np.isfinite([multiplicity_ratio([1, 1], [True, True]).multi, multiplicity_ratio([0], [True]).single]).all()


def test_the_multiplicity_update_keeps_calibrated_scores_calibrated_and_ranks_better():
    from sklearn.metrics import roc_auc_score
    rng = np.random.default_rng(7)
    y, multi, prob = _multiplicity_sample(rng, 60000)
    train, test = slice(0, 20000), slice(20000, None)
    ratio = multiplicity_ratio(y[train], multi[train])
    updated = apply_multiplicity(prob[test], multi[test], ratio)
    yt = y[test]
    before, after = expected_calibration_error(yt, prob[test]), expected_calibration_error(yt, updated)
    assert after < before + 0.005 and after < 0.015
    assert updated.mean() == pytest.approx(yt.mean(), abs=0.01)
    assert roc_auc_score(yt, updated) > roc_auc_score(yt, prob[test]) + 0.02
    # Both sides move: multi-TCE stars up, single-TCE stars down; the order within each kept.
    m, p = multi[test], prob[test]
    assert (updated[m] > p[m]).all() and (updated[~m] < p[~m]).all()
    # Probabilities of exactly 0 or 1 are clipped before taking odds; NaN stays NaN.
    edge = apply_multiplicity([0.0, 1.0, np.nan], [True, False, True], ratio)
    assert np.isfinite(edge[:2]).all() and 0 < edge[0] < 1e-4 and 1 - 1e-4 < edge[1] < 1 and np.isnan(edge[2])
    # Multiplicity that carries nothing leaves calibrated scores as they were (ratios near 1).
    y, multi, prob = _multiplicity_sample(rng, 40000, q_pc=0.2, q_not=0.2)
    flat = apply_multiplicity(prob, multi, multiplicity_ratio(y, multi))
    assert np.abs(flat - prob).max() < 0.03


def _fold_tables(fold0_labels):
    """Three folds grouped by star. In fold 0 every PC is on a two-TCE star and every other TCE
    alone (its own labels would give an enormous ratio); in folds 1 and 2 multiplicity tells
    nothing. Star 900 holds one labelled TCE and one unlabelled one: multi, counted over every TCE."""
    rows = []
    for i in range(20):
        rows += [(f"{i}_1", str(i), fold0_labels, 0), (f"{i}_2", str(i), fold0_labels, 0)]
        rows += [(f"{100 + i}_1", str(100 + i), 1 - fold0_labels, 0)]
    for fold in (1, 2):
        for i in range(20):
            star = str(200 * fold + i)
            rows += [(f"{star}_1", star, 1, fold), (f"{star}_2", star, 0, fold)]
            rows += [(f"{star}9_1", f"{star}9", 1, fold), (f"{star}8_1", f"{star}8", 0, fold)]
    rows += [("900_1", "900", 1, 1), ("900_2", "900", -1, -1), ("901_1", "901", -1, -1)]
    folds = pd.DataFrame(rows, columns=["tce_id", "star_id", "label", "fold"])
    tces = folds[["tce_id", "star_id"]].copy()
    tces["period"] = np.where(tces.tce_id.str.endswith("_1"), 10.0, 3.7)     # a star's two TCEs: distinct periods
    rng = np.random.default_rng(2)
    test = folds[folds.label >= 0].assign(role="test")
    unl = pd.concat([folds[folds.label < 0].assign(fold=k, role="unlabelled") for k in range(3)])
    scores = pd.concat([test, unl], ignore_index=True).drop(columns="star_id")
    scores["score"] = rng.uniform(0.05, 0.95, len(scores))
    scores["score_raw"] = scores["score"]
    return tces, folds, scores


def test_a_folds_multiplicity_ratio_never_uses_that_folds_labels():
    from exosieve.report import multiplicity_prior
    tces, folds, scores = _fold_tables(fold0_labels=1)
    multi = tces.star_id.map(tces.star_id.value_counts()).to_numpy() >= 2
    is_multi = dict(zip(tces.tce_id, multi))
    out, ratios = multiplicity_prior({"m": scores, "n": scores}, tces, folds)
    lab = folds[folds.label >= 0]
    lab_multi = lab.tce_id.map(is_multi).to_numpy(bool)
    in0 = (lab.fold == 0).to_numpy()
    assert multiplicity_ratio(lab.label[in0], lab_multi[in0]).multi > 10       # fold 0's own labels: enormous
    assert ratios[0] == multiplicity_ratio(lab.label[~in0], lab_multi[~in0])    # what it used: the other folds'
    assert ratios[0].multi == pytest.approx(1.0, abs=0.1)
    assert ratios[1].multi > 1.5 and ratios["unlabelled"] == multiplicity_ratio(lab.label, lab_multi)
    adjusted = out["m"]
    for key, ratio in ratios.items():
        rows = (scores.role == "unlabelled") if key == "unlabelled" else (scores.role == "test") & (scores.fold == key)
        m = scores.tce_id[rows].map(is_multi).to_numpy(bool)
        assert np.allclose(adjusted.score[rows], apply_multiplicity(scores.score[rows], m, ratio))
    assert is_multi["900_1"] and is_multi["900_2"] and not is_multi["901_1"]
    assert out["n"].score.equals(adjusted.score) and adjusted.score_raw.equals(scores.score_raw)
    # Flip every fold-0 label: fold 0's scores do not move; the other folds' (which learn from it) do.
    tces2, folds2, scores2 = _fold_tables(fold0_labels=0)
    out2, ratios2 = multiplicity_prior({"m": scores2}, tces2, folds2)
    f0 = (scores.role == "test") & (scores.fold == 0)
    assert ratios2[0] == ratios[0] and np.allclose(out2["m"].score[f0], adjusted.score[f0])
    f1 = (scores.role == "test") & (scores.fold == 1)
    assert not np.allclose(out2["m"].score[f1], adjusted.score[f1])


def test_a_prior_shift_gives_the_probabilities_of_a_catalog_at_another_planet_fraction():
    """Bayes' rule with the classes' distributions unchanged: a score's odds times the ratio of
    the two catalogs' prior odds; the order of the scores is kept."""
    from exosieve.calibration import Calibration, prior_shift
    cal = Calibration(1.3, 0.7, -2.0, "validation", 1000, 30)
    raw = np.linspace(0.01, 0.99, 50)
    shifted = Calibration(1.3, 0.7, -2.0, "validation", 1000, 30, prior_shift(0.03, 0.5))
    odds = lambda p: p / (1 - p)  # noqa: E731
    assert np.allclose(odds(shifted(raw)) / odds(cal(raw)), odds(0.5) / odds(0.03))
    assert (np.diff(shifted(raw)) > 0).all() and prior_shift(0.2, 0.2) == 0
    assert Calibration.from_dict(shifted.to_dict()) == shifted
    assert Calibration.from_dict({k: v for k, v in cal.to_dict().items() if k != "prior_shift"}) == cal
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        prior_shift(0.03, 1.0)

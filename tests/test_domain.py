"""The out-of-domain flags (exosieve/domain.py) on known answers: views from the training TCEs'
distribution pass, views unlike them are flagged with the reason, a model file keeps the summary
through its weights-only reader."""

import numpy as np

from exosieve.domain import (domain_flags, merged_domain, training_domain, view_distances, views_summary)
from exosieve.model_files import load_model_file, save_model_file


def transits(n: int, seed: int, sign: float = 1.0) -> dict[str, np.ndarray]:
    """Box-ish dips of random depth and width in white noise, at the default views' geometry."""
    rng = np.random.default_rng(seed)
    g, loc = np.linspace(-1, 1, 301), np.linspace(-1, 1, 31)
    depth, width = rng.uniform(0.2, 1.0, (n, 1)), rng.uniform(0.02, 0.1, (n, 1))
    return {"global": (-sign * depth * np.exp(-0.5 * (g / width) ** 2) + rng.normal(0, 0.05, (n, 301))).astype(np.float32),
            "local": (-sign * depth * np.exp(-0.5 * (loc / (5 * width)) ** 2)
                      + rng.normal(0, 0.05, (n, 31))).astype(np.float32)}


def test_views_like_the_training_ones_pass_and_unlike_ones_are_flagged():
    summary = views_summary(transits(1200, seed=1))
    near, residual = view_distances(summary, transits(500, seed=2))
    assert np.mean(near > 1) < 0.02 and np.mean(residual > 1) < 0.05
    near, _ = view_distances(summary, transits(500, seed=3, sign=-1.0))     # brightenings, not dips
    assert np.mean(near > 1) > 0.9
    wave = np.sin(np.linspace(0, 20, 301))[None] * 0.5
    _, residual = view_distances(summary, {"global": wave, "local": np.zeros((1, 31))})
    assert residual[0] > 3


def test_flags_name_the_mission_the_feature_and_the_views_and_pass_an_ordinary_signal():
    views = transits(600, seed=4)
    names = ["period", "depth", "snr"]
    rng = np.random.default_rng(5)
    scalars = np.column_stack([rng.uniform(1, 100, 600), rng.uniform(100, 5000, 600), rng.uniform(7, 50, 600)])
    domain = merged_domain([training_domain(scalars, names, views, "kepler")])
    signals = {k: np.concatenate([v[:1], transits(1, seed=6, sign=-1.0)[k]]) for k, v in views.items()}
    flags = domain_flags(domain, "kepler", [{"period": 10.0, "depth": 1000.0}, {"period": 400.0, "depth": 1000.0}],
                         signals)
    assert flags[0] == ""
    assert "its period 400 d is outside the training TCEs'" in flags[1] and "far from every training TCE" in flags[1]
    tess = domain_flags(domain, "tess", [{"period": 10.0}], {k: v[:1] for k, v in views.items()})
    assert tess[0].startswith("a TESS light curve, and the models learned from Kepler ones")
    # Views at another geometry than the summary's are not compared (no flag rather than a wrong one).
    assert domain_flags(domain, "kepler", [{"period": 10.0}], {"global": np.zeros((1, 201)),
                                                             "local": np.zeros((1, 61))}) == [""]


def test_an_ensemble_flags_views_when_most_of_its_training_sets_do_and_keeps_one_summary_per_set():
    a, b = training_domain(np.zeros((600, 0)), [], transits(600, seed=7), None), \
        training_domain(np.zeros((600, 0)), [], transits(600, seed=8), None)
    merged = merged_domain([a, a, b])
    assert len(merged["views"]) == 2 and merged["missions"] == set()
    assert domain_flags(merged, "kepler", [{}], transits(1, seed=9, sign=-1.0))[0] != ""
    assert domain_flags(merged, "kepler", [{}], transits(1, seed=10))[0] == ""


def test_a_model_file_keeps_its_views_summary_through_the_weights_only_reader(tmp_path):
    domain = training_domain(np.ones((300, 1)), ["period"], transits(300, seed=11), "tess")
    save_model_file(tmp_path / "model.pt", {"kind": "trees", "model": "trees", "domain": domain})
    back = load_model_file(tmp_path / "model.pt")["domain"]
    assert back["mission"] == "tess" and back["views"]["names"] == ["global", "local"]
    assert back["views"]["coords"].shape == (300, 8)
    probe = transits(5, seed=12)
    assert np.allclose(view_distances(back["views"], probe)[0], view_distances(domain["views"], probe)[0])


def _survey(n: int, seed: int) -> tuple[np.ndarray, list[str], dict[str, np.ndarray]]:
    """TCEs drawn as a survey's are: log-uniform periods over 0.5-500 d on a 500-day baseline,
    durations and depths log-normal, and their views."""
    rng = np.random.default_rng(seed)
    period = np.exp(rng.uniform(np.log(0.5), np.log(500), n))
    scalars = np.column_stack([period, np.exp(rng.normal(1.2, 0.5, n)), np.exp(rng.normal(6.5, 1.2, n)),
                               np.maximum(np.floor(500 / period), 1)])
    return scalars, ["period", "duration", "depth", "n_transits"], transits(n, seed)


def test_the_checks_fire_on_about_one_percent_of_tces_like_the_training_ones(monkeypatch):
    """The designed false-alarm rate: TCEs drawn as the training TCEs were are flagged about 1% of
    the time by all the checks together (four feature ranges and the views), where the earlier
    0.5th-99.5th percentile ranges and two 99th-percentile views limits flagged about 5%."""
    import exosieve.domain as dom
    scalars, names, views = _survey(1500, seed=21)
    probe_scalars, _, probe_views = _survey(6000, seed=22)
    features = dom.features_of(probe_scalars, names)

    def rate(domain):
        return np.mean([f != "" for f in domain_flags(merged_domain([domain]), "kepler", features, probe_views)])

    now = rate(training_domain(scalars, names, views, "kepler"))
    assert 0.002 < now < 0.015
    monkeypatch.setattr(dom, "RANGE_PERCENTILES", (0.5, 99.5))
    before = training_domain(scalars, names, views, "kepler")
    del before["views"]["combined_limit"]          # a model file written before the combined check
    assert rate(before) > 0.035


def test_a_views_dataset_has_a_mission_only_where_its_config_declares_one():
    """The real views in ../shared/data say nothing of their mission; a run declares it
    (catalog.views_mission), and then its models flag another mission's light curve."""
    from exosieve.config import load
    from exosieve.domain import source_mission
    views = {"source": "views", "path": "x.npz"}
    assert source_mission(load({"catalog": views}, check_paths=False)) is None
    assert source_mission(load({"catalog": {**views, "views_mission": "tess"}}, check_paths=False)) == "tess"
    local = {"source": "local", "path": "x.csv", "lightcurve_dir": "lc"}
    assert source_mission(load({"catalog": local}, check_paths=False)) is None

"""Diagnostic sheets: every axis in physical units read from the views' geometry, and every
model's probability, the ephemeris, the star and the flag in the title."""

import numpy as np
import pandas as pd
import pytest

from exosieve.config import load
from exosieve.features import measure_features
from exosieve.sheets import ModelScore, draw_sheet, write_sheets
from exosieve.views import ViewMaker, phase_fold, shard_arrays

CADENCE = 0.0204
PERIOD, EPOCH, DURATION = 4.3, 1.0, 0.15      # [d]
DEPTH, SECONDARY, SECONDARY_PHASE = 0.01, 0.003, 0.37


def _box(time, epoch, depth):
    return np.where(np.abs(phase_fold(time, PERIOD, epoch)) < 0.5 * DURATION, -depth, 0.0)


def _eb_views(vcfg):
    """An eclipsing binary's views and measured features: a 1% transit and a 0.3% secondary
    eclipse at phase 0.37."""
    rng = np.random.default_rng(0)
    time = np.arange(0.0, 200.0, CADENCE)
    flux = 1 + _box(time, EPOCH, DEPTH) + _box(time, EPOCH + SECONDARY_PHASE * PERIOD, SECONDARY)
    flux += rng.normal(0, 2e-4, time.size)
    zeros = np.zeros(time.size)
    phase = phase_fold(time, PERIOD, EPOCH)
    feats = measure_features(time, phase, flux, zeros, zeros, DURATION, PERIOD, EPOCH, np.zeros(time.size, bool))
    names = [n for n in shard_arrays({"views": vcfg, "models": {"enabled": []}})]
    return ViewMaker(time, flux, zeros, zeros, PERIOD, EPOCH, DURATION, vcfg).make(names, feats["secondary_phase"]), feats


def _row(feats, **kw):
    return pd.Series({"tce_id": "100000001_1", "star_id": "100000001", "period": PERIOD, "epoch": EPOCH,
                      "duration_hours": DURATION * 24, "depth_ppm": 9500.0, "measured_depth_ppm": feats["depth"],
                      "secondary_phase": feats["secondary_phase"], "flag": "", "attr_local": 0.2,
                      "attr_global": -0.05, **kw})


def _panel(fig, title):
    return next(ax for ax in fig.axes if ax.get_title().startswith(title))


# The default views, and Astronet's geometry (2001 global bins, 201 local bins each 0.16 durations
# wide over +-4 durations) on the transit-depth scale.
@pytest.mark.parametrize("views", [{}, {"preset": "astronet", "normalize": "depth"}])
def test_the_sheet_draws_each_view_in_physical_units_where_its_signal_is(tmp_path, views):
    vcfg = load({"views": views})["views"]
    views, feats = _eb_views(vcfg)
    scores = [ModelScore("exominer", 0.412, 0.051), ModelScore("trees", 0.954, 0.016), ModelScore("astronet", 0.03)]
    fig = draw_sheet(_row(feats), views, tmp_path / "sheet.png", "scored", vcfg, scores, "kepler")
    assert (tmp_path / "sheet.png").stat().st_size > 10000

    local = _panel(fig, "local view")
    x, y = local.lines[0].get_data()
    half = vcfg["local_durations"] * DURATION * 24            # hours either side of mid-transit
    assert local.get_xlabel() == "hours from mid-transit" and "transit depth = -1" in local.get_ylabel()
    assert -half <= x.min() < -0.8 * half and 0.8 * half < x.max() <= half
    assert abs(np.mean(x[y < -0.5])) < half / len(x)           # the transit centred on 0 h
    assert np.all(np.abs(x[y < -0.5]) < 0.6 * DURATION * 24)   # and as long as the duration
    right = [c for c in local.child_axes if c.get_ylabel() == "ppm"]
    assert right and right[0]._functions[0](-1.0) == pytest.approx(-feats["depth"])   # -1 reads the depth

    glob = _panel(fig, "global view")
    x, y = glob.lines[0].get_data()
    assert glob.get_xlabel().startswith("orbital phase (transit at 0)")
    assert x.min() > -0.5 and x.max() < 0.5 and abs(np.mean(x[y < -0.5])) < 1 / len(x)
    away = np.abs(x) > 0.1
    dip = away & (y < -0.5 * SECONDARY / DEPTH)
    assert np.mean(x[dip]) == pytest.approx(SECONDARY_PHASE, abs=1 / len(x))   # the secondary, at its phase
    assert np.median(y[dip]) == pytest.approx(-SECONDARY / DEPTH, abs=0.1)

    secondary = _panel(fig, "secondary eclipse")
    x, y = secondary.lines[0].get_data()
    assert feats["secondary_phase"] == pytest.approx(SECONDARY_PHASE, abs=0.01)
    assert secondary.get_xlabel() == f"hours from the secondary's centre at phase {feats['secondary_phase']:.3f}"
    # Centred on the measured phase: the true secondary sits where the two phases differ.
    offset = (SECONDARY_PHASE - feats["secondary_phase"]) * PERIOD * 24
    assert np.mean(x[y < -0.5 * SECONDARY / DEPTH]) == pytest.approx(offset, abs=0.25)

    double = _panel(fig, "folded at twice the period")
    x, y = double.lines[0].get_data()
    dips = [np.mean(x[(y < -0.5) & (x < 0)]), np.mean(x[(y < -0.5) & (x > 0)])]
    assert dips == pytest.approx([-0.5, 0.5], abs=2 / len(x))   # the even and the odd transit
    assert "σ" in _panel(fig, "centroid offset near the transit").get_ylabel()
    unfolded = _panel(fig, "individual transits")
    assert unfolded.get_xlabel() == "hours from mid-transit" and unfolded.images[0].get_extent()[:2] == \
        pytest.approx([-half, half])
    assert all(ax.get_xlabel() for ax in fig.axes if ax.get_visible() and ax.axison and ax.has_data()
               and ax not in [c for a in fig.axes for c in a.child_axes] and ax.get_label() != "<colorbar>")

    title = fig._suptitle.get_text()
    for piece in ("KIC 100000001", "TCE 100000001_1", "P = 4.3 d", "epoch 1.0000 BKJD", "duration 3.6 h",
                  "catalog 9500 ppm", f"measured {feats['depth']:.0f} ppm", "exominer 0.412 ± 0.051",
                  "trees 0.954 ± 0.016", "astronet 0.030", "not flagged"):
        assert piece in title
    assert "astronet 0.030 ±" not in title
    assert _panel(fig, "exominer: probability change").get_xlabel() == "probability change"


def test_a_flagged_signal_says_why_in_its_title_and_a_min_normalised_view_says_so(tmp_path):
    vcfg = load({"views": {"preset": "yu2019_tess"}})["views"]
    views, feats = _eb_views(vcfg)
    row = _row(feats, depth_ppm=np.nan, flag="a single transit in the light curve: nothing confirms its period")
    fig = draw_sheet(row, views, tmp_path / "sheet.png", "scored", vcfg, [ModelScore("trees", 0.5, 0.1)], "tess")
    title = fig._suptitle.get_text()
    assert "TIC 100000001" in title and "BTJD" in title and "(no catalog depth given)" in title
    assert "FLAGGED, no confident verdict: a single transit in the light curve" in title
    local = _panel(fig, "local view")
    assert local.get_ylabel() == "flux (view minimum = -1)" and not local.child_axes   # no ppm: not the depth
    assert "transit depth = -1" in _panel(fig, "odd (blue)").get_ylabel()      # still on the depth's scale


def test_the_reports_sheets_title_every_models_score(tmp_path, monkeypatch):
    """write_sheets (the report's): the primary's out-of-fold score with its spread, then the other
    models', the label and the rank, read with the measured depth from the shard."""
    from exosieve.shards import ShardData, provenance, write_shard
    cfg = load({})
    views, feats = _eb_views(cfg["views"])
    names = sorted(feats)
    meta = pd.DataFrame({"tce_id": ["100000001_1"], "star_id": ["100000001"], "period": [PERIOD], "epoch": [EPOCH],
                         "duration": [DURATION]})
    data = ShardData(meta=meta, views={k: v[None] for k, v in views.items()},
                     scalars=np.array([[feats[n] for n in names]], np.float32), scalar_names=names)
    write_shard(tmp_path / "000.h5", data, provenance(cfg, "000"))
    catalog = pd.DataFrame({"tce_id": ["100000001_1"], "star_id": ["100000001"], "period": [PERIOD],
                            "epoch": [EPOCH], "duration_hours": [DURATION * 24], "depth_ppm": [9800.0],
                            "disposition": ["AFP"], "label": [0], "score": [0.81], "score_std": [np.nan],
                            "score_raw": [0.9], "score_trees": [0.12], "score_astronet": [0.33],
                            "status": ["scored"], "rank": [1], "flag": [""]})
    import exosieve.sheets as sheets
    figures, draw = [], sheets.draw_sheet
    monkeypatch.setattr(sheets, "draw_sheet", lambda *a, **kw: figures.append(draw(*a, **kw)))
    # What the report stage reads: no views settings, the shard's record of them draws the axes.
    report_cfg = {"catalog": {"source": "simulated"}, "survey": {"mission": "kepler"},
                  "models": {"primary": "exominer"}}
    made = write_sheets(catalog, [str(tmp_path / "000.h5")], tmp_path / "sheets", 1, report_cfg)
    assert [name for _, name in made] == ["top_00_100000001_1.png", "false_positive_01_100000001_1.png"]
    assert all((tmp_path / "sheets" / name).stat().st_size > 10000 for _, name in made)
    title = figures[0]._suptitle.get_text()
    assert title.startswith("top-ranked (rank 1, catalog label AFP)\nKIC 100000001, TCE 100000001_1")
    assert "exominer 0.810, trees 0.120, astronet 0.330" in title
    assert f"catalog 9800 ppm, measured {feats['depth']:.0f} ppm" in title
    assert f"at phase {feats['secondary_phase']:.3f}" in _panel(figures[0], "secondary eclipse").get_xlabel()
    x = _panel(figures[0], "local view").lines[0].get_data()[0]
    assert x.max() == pytest.approx(cfg["views"]["local_durations"] * DURATION * 24 * (1 - 1 / len(x)))


def _texts(ax):
    return " ".join(t.get_text() for t in ax.texts)


def test_a_missing_centroid_branch_is_drawn_as_missing_not_as_zeros(tmp_path, monkeypatch):
    """A TGLC light curve has no centroids: its centroid views are zeros that the models read as
    missing (evaluation.read_as_missing), so the sheet draws no centroid curve but says the branch
    is missing, and so does the report's sheet read from a shard that records it."""
    vcfg = load({})["views"]
    views, feats = _eb_views(vcfg)
    views = {**views, "centroid_global": np.zeros_like(views["centroid_global"]),
             "centroid_local": np.zeros_like(views["centroid_local"])}
    row = _row(feats, missing="centroid_global,centroid_local", products="tglc", attr_centroid=0.0,
               flag="no centroid data (TGLC): centroid branch read as missing")
    fig = draw_sheet(row, views, tmp_path / "sheet.png", "scored", vcfg, [ModelScore("exominer", 0.6, 0.1)], "tess")
    for title in ("centroid offset, whole orbit", "centroid offset near the transit"):
        ax = _panel(fig, title)
        assert not ax.lines and not ax.collections and not ax.patches and not ax.has_data()   # no curve, no band
        text = _texts(ax)
        assert "no centroid data in these light curves (TGLC)" in text and "read as missing by the models" in text
        assert "σ" not in ax.get_ylabel()               # no scale to read off an empty panel
    assert _panel(fig, "local view").lines and not _texts(_panel(fig, "local view"))   # the rest drawn as before
    bars = [t.get_text() for t in _panel(fig, "exominer: probability change").get_yticklabels()]
    assert "centroid (read as missing)" in bars and "local" in bars

    # The report's sheet: the shard's ``missing`` marks draw the same empty panels.
    from exosieve.shards import ShardData, provenance, write_shard
    cfg = load({})
    names = sorted(k for k, v in feats.items() if np.isscalar(v))
    meta = pd.DataFrame({"tce_id": ["100000001_1"], "star_id": ["100000001"], "period": [PERIOD], "epoch": [EPOCH],
                         "duration": [DURATION], "missing": ["centroid_global,centroid_local"]})
    data = ShardData(meta=meta, views={k: v[None] for k, v in views.items()},
                     scalars=np.array([[feats[n] for n in names]], np.float32), scalar_names=names)
    write_shard(tmp_path / "000.h5", data, provenance(cfg, "000"))
    catalog = pd.DataFrame({"tce_id": ["100000001_1"], "star_id": ["100000001"], "period": [PERIOD],
                            "epoch": [EPOCH], "duration_hours": [DURATION * 24], "depth_ppm": [9800.0],
                            "disposition": ["PC"], "label": [1], "score": [0.81], "score_std": [np.nan],
                            "score_raw": [0.9], "status": ["flagged"], "rank": [1], "flag": [row.flag]})
    import exosieve.sheets as sheets
    figures, draw = [], sheets.draw_sheet
    monkeypatch.setattr(sheets, "draw_sheet", lambda *a, **kw: figures.append(draw(*a, **kw)))
    write_sheets(catalog, [str(tmp_path / "000.h5")], tmp_path / "sheets", 1,
                 {"catalog": {"source": "simulated"}, "survey": {"mission": "tess"}, "models": {"primary": "exominer"}})
    ax = _panel(figures[0], "centroid offset near the transit")
    assert not ax.lines and "no centroid data in these light curves: read as missing" in _texts(ax).replace("\n", " ")

import numpy as np
import pytest

from exosieve.detrend import detrend, segment_bounds, transit_mask
from exosieve.features import measure_features
from exosieve.views import binned_median, global_view, local_view, phase_fold
from helpers import synthetic_lightcurve


def test_binned_median_matches_numpy_per_bin():
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, 5000)
    y = rng.normal(size=5000)
    med, counts = binned_median(x, y, -1, 1, 37)
    edges = np.linspace(-1, 1, 38)
    for i in range(37):
        sel = (x >= edges[i]) & (x < edges[i + 1])
        assert counts[i] == sel.sum()
        assert med[i] == pytest.approx(np.median(y[sel]))


def test_phase_fold_centres_transits_on_zero():
    t = np.array([10.0, 13.7, 11.85, 12.0])
    ph = phase_fold(t, 3.7, 10.0)
    assert ph[0] == pytest.approx(0) and ph[1] == pytest.approx(0, abs=1e-9)
    assert abs(ph[2]) == pytest.approx(1.85)


def _fold(period=3.7, epoch=131.9, global_bins=301, local_bins=31, **kw):
    time, flux, depth, duration = synthetic_lightcurve(period=period, epoch=epoch, **kw)
    flat, _ = detrend(time, flux, [period], [epoch], [duration])
    ph = phase_fold(time, period, epoch)
    order = np.argsort(ph)
    ph, f = ph[order], flat[order]
    return (global_view(ph, f, period, global_bins), local_view(ph, f, duration, local_bins, 2.5),
            measure_features(time[order], ph, f, np.zeros(ph.size), np.zeros(ph.size), duration, period,
                             epoch, np.zeros(ph.size, bool)),
            depth)


@pytest.mark.parametrize("global_bins,local_bins", [(301, 31), (2001, 201)])
def test_simulated_transit_folds_to_the_right_phase_and_depth(global_bins, local_bins):
    gv, lv, stats, depth = _fold(global_bins=global_bins, local_bins=local_bins)
    assert gv.shape == (global_bins,) and lv.shape == (local_bins,)
    # Transit at the centre of both views, normalised to -1 there and ~0 out of transit.
    assert abs(int(np.argmin(lv)) - local_bins // 2) <= max(1, local_bins // 60)
    assert abs(int(np.argmin(gv)) - global_bins // 2) <= max(1, global_bins // 150)
    assert lv.min() == pytest.approx(-1)
    assert abs(np.median(lv[: local_bins // 6])) < 0.1
    assert stats["depth"] == pytest.approx(depth * 1e6, rel=0.1)
    assert stats["snr"] > 50


def test_wrong_epoch_moves_the_dip_off_centre():
    # A guard against a view that is centred by construction rather than by folding.
    time, flux, depth, duration = synthetic_lightcurve()
    flat, _ = detrend(time, flux, [3.7], [131.9], [duration])
    ph = phase_fold(time, 3.7, 131.9 + 0.9)
    order = np.argsort(ph)
    gv = global_view(ph[order], flat[order], 3.7, 301)
    assert abs(int(np.argmin(gv)) - 150) > 50


def test_detrending_removes_variability_but_keeps_the_transit():
    time, flux, depth, duration = synthetic_lightcurve(trend_amp=1e-2, noise=1e-4)
    flat, mask = detrend(time, flux, [3.7], [131.9], [duration])
    out = ~mask
    assert np.std(flux[out]) > 5e-3          # 1% sinusoid before
    assert np.std(flat[out]) < 3e-4          # gone after (noise is 1e-4)
    in_core = np.abs(phase_fold(time, 3.7, 131.9)) < 0.1 * duration
    assert 1 - np.median(flat[in_core]) == pytest.approx(depth, rel=0.1)


def test_segments_split_at_gaps_and_quarters():
    t = np.array([0, 0.02, 0.04, 2.0, 2.02, 2.04, 2.06])
    seg = np.array([0, 0, 0, 0, 0, 1, 1])
    assert segment_bounds(t, seg, 0.75) == [(0, 3), (3, 5), (5, 7)]


def test_transit_mask_width():
    t = np.linspace(0, 10, 10001)
    m = transit_mask(t, [5.0], [1.0], [0.2], width=1.5)
    assert m.sum() == pytest.approx(2 * 0.3 / 0.001, rel=0.02)  # two transits, 0.3 d each


@pytest.mark.parametrize("global_bins", [301, 2001])
def test_a_long_period_transit_keeps_its_depth_in_the_global_view(global_bins):
    """P = 300 d, D = 0.4 d, 1% deep, over Kepler's four years: a bin P/301 = 1 d wide holds the
    transit in under half its cadences, and a plain median would show no transit at all. Each
    global bin looks at most one duration around its centre, so at least 80% of the depth stays;
    the view is scaled by the depth the local view resolves, so its noise stays near 0."""
    from exosieve.config import load
    from exosieve.simulate.signals import KEPLER_LC_CADENCE, eclipse_signal, transit_duration
    from exosieve.views import ViewMaker
    rng = np.random.default_rng(4)
    period, epoch, k, b, a_rs = 300.0, 200.0, 0.1, 0.2, 262.0
    time = np.arange(131.5, 131.5 + 1470, KEPLER_LC_CADENCE)
    flux = 1 + eclipse_signal(time, period, epoch, k, a_rs, b, 0.4, 0.25) + rng.normal(0, 2e-4, time.size)
    duration = float(transit_duration(period, a_rs, k, b))
    assert duration == pytest.approx(0.4, abs=0.03)
    depth = -float(eclipse_signal(np.array([epoch]), period, epoch, k, a_rs, b, 0.4, 0.25, supersample=1)[0])
    vcfg = {**load({})["views"], "global_bins": global_bins, "local_bins": 201 if global_bins == 2001 else 31}
    maker = ViewMaker(time, flux, np.zeros(time.size), np.zeros(time.size), period, epoch, duration, vcfg)
    kept = -float(np.min(maker.global_raw - maker.global_level))
    assert kept >= 0.8 * depth
    view = maker.make(["global"], 0.5)["global"]
    assert np.argmin(view) == global_bins // 2 and -1.1 < view.min() < -0.8
    away = np.abs(np.arange(global_bins) - global_bins // 2) > 2
    assert np.abs(view[away]).max() < 0.2                    # noise, not stretched to -1
    if global_bins == 301:                                   # what a bin-wide median makes of it
        plain = binned_median(phase_fold(time, period, epoch), flux, -150, 150, global_bins)[0]
        assert np.median(plain) - np.nanmin(plain) < 0.3 * depth


def test_overlapping_global_bins_take_every_cadence_within_their_window():
    """global_bin_width 1.2 (Yu et al. 2019): each global bin is the median of the cadences within
    0.6 bin spacings of its centre, so neighbouring bins share cadences."""
    from exosieve.config import load
    from exosieve.views import ViewMaker, bin_centres
    rng = np.random.default_rng(4)
    period, n = 5.0, 201
    time = np.sort(rng.uniform(0, 60, 20000))
    flux = 1 + rng.normal(0, 1e-3, time.size)
    vcfg = load({"views": {"preset": "yu2019_tess"}})["views"]
    maker = ViewMaker(time, flux, np.zeros(time.size), np.zeros(time.size), period, 1.0, 0.2, vcfg)
    phase = phase_fold(time, period, 1.0)
    centres, half = bin_centres(-period / 2, period / 2, n), 0.6 * period / n
    for k in (0, 57, 100, 200):
        inside = np.abs(phase - centres[k]) < half
        assert maker.global_counts[k] == inside.sum()
        assert maker.global_raw[k] == pytest.approx(np.median(flux[inside]))
    assert maker.global_counts.sum() > 1.15 * time.size      # about 1.2 windows per cadence

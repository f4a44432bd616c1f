"""Known-answer tests of detrending: the transit mask's width, short segments, flux-error weights."""

import numpy as np
import pytest

from exosieve.config import load
from exosieve.detrend import _fit_segment, detrend, transit_mask
from exosieve.simulate.signals import KEPLER_LC_CADENCE
from exosieve.views import phase_fold
from helpers import synthetic_lightcurve


def test_the_default_mask_covers_the_whole_transit_even_when_the_catalog_duration_is_40_percent_short():
    time, flux, depth, duration = synthetic_lightcurve(period=10.0, epoch=132.3, trend_amp=1e-2, noise=1e-4)
    in_transit = np.abs(phase_fold(time, 10.0, 132.3)) < 0.5 * duration
    catalog_duration, catalog_epoch = 0.6 * duration, 132.3 + 0.1 * duration
    width = load({})["detrend"]["mask_durations"]
    assert width == 3.0                                            # +-1.5 durations
    mask = transit_mask(time, [10.0], [catalog_epoch], [catalog_duration], width)
    assert mask[in_transit].all()
    # The former default (+-0.75 durations) let ingress and egress into the fit.
    assert not transit_mask(time, [10.0], [catalog_epoch], [catalog_duration], 1.5)[in_transit].all()
    flat, _ = detrend(time, flux, [10.0], [catalog_epoch], [catalog_duration])
    core = np.abs(phase_fold(time, 10.0, 132.3)) < 0.1 * duration
    assert 1 - np.median(flat[core]) == pytest.approx(depth, rel=0.02)


def test_a_short_segment_after_a_gap_loses_its_thermal_ramp():
    """A 2.5 d stretch (too short for two 1.5 d knot intervals) starting with a 2,000 ppm
    exponential ramp, as after a safe mode: a constant would leave the ramp in to fake a dip."""
    rng = np.random.default_rng(0)
    t = np.arange(0, 2.5, KEPLER_LC_CADENCE)
    truth = 1 + 2e-3 * np.exp(-t / 0.5)
    flux = truth + rng.normal(0, 1e-4, t.size)
    trend = _fit_segment(t, flux, np.ones(t.size, bool), knot_spacing=1.5, sigma=3.0, iterations=3)
    left = flux / trend - 1
    assert np.std(left) < 1.5e-4                                   # white noise of 1e-4, ramp gone
    assert np.std(flux / np.median(flux) - 1) > 4e-4               # what a constant leaves


def test_flux_errors_weigh_the_fit():
    """Alternating half-day stretches with 10x the noise, and errors that say so: the weighted
    trend is closer to the truth than an unweighted one on every one of five noise draws, and by
    a factor of two on average."""
    rng = np.random.default_rng(1)
    t = np.arange(0, 20, KEPLER_LC_CADENCE)
    truth = 1 + 2e-3 * np.sin(2 * np.pi * t / 30)
    err = np.where((t // 0.5) % 2 == 0, 1e-4, 1e-3)
    ratios = []
    for _ in range(5):
        flux = truth + rng.normal(0, 1, t.size) * err
        weighted, _ = detrend(t, flux, [], [], [], flux_err=err)        # flux / trend
        plain, _ = detrend(t, flux, [], [], [])
        ratios.append(np.std(flux / plain - truth) / np.std(flux / weighted - truth))
    assert min(ratios) > 1.3 and np.mean(ratios) > 2.0, ratios


def test_savgol_detrending_is_lightkurves_flatten_and_keeps_a_masked_transit():
    """``method: savgol`` divides out the trend lightkurve's own flatten finds (the DR24 views'
    detrending), with the TCE's transits masked from the filter: the variability goes, the
    transit's depth stays."""
    import lightkurve as lk
    time, flux, depth, duration = synthetic_lightcurve(period=10.0, epoch=132.3, trend_amp=3e-3, noise=1e-4)
    flat, mask = detrend(time, flux, [10.0], [132.3], [duration], method="savgol", window_length=101,
                         mask_durations=1.0)
    expected = lk.LightCurve(time=time, flux=flux).flatten(window_length=101, mask=mask)
    np.testing.assert_allclose(flat, expected.flux.value, rtol=1e-12)
    phase = phase_fold(time, 10.0, 132.3)
    out = np.abs(phase) > duration
    assert np.std(flat[out] - 1) < 1.3e-4                  # 3,000 ppm of variability left as 100 ppm noise
    core = np.abs(phase) < 0.1 * duration
    assert 1 - np.median(flat[core]) == pytest.approx(depth, rel=0.05)


def test_with_mask_others_off_each_tce_is_detrended_with_only_its_own_transits_masked():
    """Two TCEs on one star: with ``detrend.mask_others`` off, each TCE's views are exactly those of
    the star detrended for that TCE alone; with it on (the default) one detrending masks both."""
    import pandas as pd
    from exosieve.lightcurves.reader import lightcurve_from_arrays
    from exosieve.preprocess import detrend_star, star_views, tce_views_and_features
    time, flux, _, duration = synthetic_lightcurve(period=10.0, epoch=132.3, trend_amp=3e-3, noise=1e-4)
    second = np.abs(phase_fold(time, 3.1, 131.7)) < 0.05
    flux = flux * np.where(second, 1 - 5e-4, 1.0)
    lc = lightcurve_from_arrays("42", time, flux, centroid_col=np.zeros(time.size), centroid_row=np.zeros(time.size))
    tces = pd.DataFrame({"tce_id": ["42_1", "42_2"], "star_id": ["42", "42"], "tce_num": [1, 2],
                         "period": [10.0, 3.1], "epoch": [132.3, 131.7], "duration": [duration, 0.1],
                         "mission": ["kepler", "kepler"]})
    cfg = load({"views": {"preset": "dartvetter_dr24"}})
    assert cfg["detrend"]["mask_others"] is False
    together, errors = star_views(lc, tces, cfg)
    assert not errors and [r[0].tce_id for r in together] == ["42_1", "42_2"]
    for i, (tce, views, _) in enumerate(together):
        alone = detrend_star(lc, tces.iloc[[i]], cfg)
        np.testing.assert_array_equal(views["global"], tce_views_and_features(alone, tce, tces, cfg)[0]["global"])
    shared, _ = star_views(lc, tces, load({"views": {"preset": "dartvetter_dr24"}, "detrend": {"mask_others": True}}))
    assert not np.array_equal(shared[0][1]["global"], together[0][1]["global"])

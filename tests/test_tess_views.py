"""ExoMiner++'s TESS branches, each with a known answer: momentum dumps that coincide with the
transits, a removed trend that lines up with them, and variability at a harmonic of the period."""

from __future__ import annotations

import numpy as np
import pytest

from exosieve.config import load
from exosieve.views import ViewMaker

PERIOD, EPOCH, DURATION = 2.5, 1.3, 0.12


def maker(flux=None, trend=None, dumps=None, seed=0):
    cfg = load({"views": {"enabled": ["global", "local", "momentum_dump", "flux_trend", "periodogram"]}})["views"]
    rng = np.random.default_rng(seed)
    time = np.arange(0.0, 54.0, 2.0 / 60 / 24)
    time = time[(time < 26.5) | (time > 27.6)]                # a TESS-like mid-sector gap
    base = 1 + rng.normal(0, 2e-4, time.size)
    phase = (time - EPOCH + 0.5 * PERIOD) % PERIOD - 0.5 * PERIOD
    base[np.abs(phase) < 0.5 * DURATION] -= 2e-3              # the transit, so that the depth is known
    f = base if flux is None else flux(time, base)
    zeros = np.zeros(time.size)
    return ViewMaker(time, f, zeros, zeros, PERIOD, EPOCH, DURATION, cfg,
                     trend=None if trend is None else trend(time), dump_times=dumps), time, cfg


def test_a_dump_at_every_transit_fills_the_middle_of_the_momentum_dump_view():
    transits = EPOCH + PERIOD * np.arange(22)
    view, _, cfg = maker(dumps=transits[(transits < 26.5) | (transits > 27.6)] + 0.01)
    dump = view.make(["momentum_dump"], 0.5)["momentum_dump"]
    middle = cfg["local_bins"] // 2
    assert dump.shape == (cfg["local_bins"],) and dump[middle - 1:middle + 2].max() == pytest.approx(1.0)
    assert dump[:middle - 3].sum() == 0 and dump[middle + 4:].sum() == 0
    # Dumps every 2.5 days but half a period away from the transits: nothing in the view.
    view, _, _ = maker(dumps=transits + 1.25)
    assert view.make(["momentum_dump"], 0.5)["momentum_dump"].sum() == 0


def test_a_trend_that_lines_up_with_the_transits_shows_in_the_flux_trend_view():
    amplitude = 1e-3                                          # half the transit depth
    aligned = lambda t: 1 - amplitude * np.exp(-0.5 * (((t - EPOCH + 1.25) % PERIOD - 1.25) / 0.2) ** 2)  # noqa: E731
    view, _, cfg = maker(trend=aligned)
    trend = view.make(["flux_trend"], 0.5)["flux_trend"]
    middle = cfg["global_bins"] // 2
    assert trend.shape == (cfg["global_bins"],)
    assert trend[middle] == pytest.approx(-0.5, abs=0.08)       # on the flux views' scale: depth -1
    assert abs(trend[:20]).max() < 0.05
    # A trend at an unrelated period averages out.
    slow = lambda t: 1 - amplitude * np.sin(2 * np.pi * t / 3.7)  # noqa: E731
    view, _, _ = maker(trend=slow)
    assert abs(view.make(["flux_trend"], 0.5)["flux_trend"]).max() < 0.25


def test_variability_at_half_the_period_peaks_at_its_bin_of_the_periodogram():
    view, _, cfg = maker(flux=lambda t, base: base + 5e-4 * np.sin(2 * np.pi * t / (PERIOD / 2)))
    spectrum = view.make(["periodogram"], 0.5)["periodogram"]
    n = cfg["periodogram_bins"]
    harmonic = int(round((n - 1) / 2 + (n - 1) / 6))            # frequency 2/P on the log2 grid
    assert spectrum.shape == (n,) and abs(int(np.argmax(spectrum)) - harmonic) <= 1
    quiet, _, _ = maker()
    flat = quiet.make(["periodogram"], 0.5)["periodogram"]
    assert flat.max() < 0.3 * spectrum.max()

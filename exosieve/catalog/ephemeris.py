"""Matching TCEs to catalog objects (KOIs, TOIs) on the same star by their ephemerides: one match
function for every label source and for merging one signal's TCEs across TESS sector runs."""

from __future__ import annotations

import numpy as np
import pandas as pd


def transit_offset(epoch_a, epoch_b, period_a, period_b):
    """Days between a transit of ephemeris b and the nearest transit of a. Projected over many
    cycles, a period error grows: a single-sector TESS period misses a transit seven years on by
    more than its duration. So project with each period and keep the closer: the better
    (longer-baseline) ephemeris of the two decides."""
    def offset(period):
        return np.abs((epoch_b - epoch_a + 0.5 * period) % period - 0.5 * period)
    return np.minimum(offset(period_a), offset(period_b))


def match_ephemerides(tces: pd.DataFrame, objects: pd.DataFrame, period_tol: float = 0.01,
                      min_window: float = 0.1, harmonics: tuple[float, ...] = (1.0,)) -> pd.Series:
    """For each TCE, the index label of its object (or NaN when none matches).

    Both frames hold ``star``, ``period`` [d] and ``epoch`` [d, same time system]; ``tces`` also
    ``duration`` [d]. An object matches when it is on the same star, its period times one of
    ``harmonics`` agrees with the TCE's within ``period_tol`` (relative) and its epoch falls within
    one transit duration (at least ``min_window`` d) of a transit of the TCE; a match at the same
    period beats one at a harmonic, then the closest period wins. (A TCE at twice or half an
    object's period, e.g. an eclipsing binary's two eclipses folded together, is the same signal.)
    """
    t = pd.DataFrame({"row": np.arange(len(tces)), "star": tces["star"].to_numpy(),
                      "p": pd.to_numeric(tces["period"], errors="coerce").to_numpy(),
                      "t0": pd.to_numeric(tces["epoch"], errors="coerce").to_numpy(),
                      "dur": pd.to_numeric(tces["duration"], errors="coerce").to_numpy()})
    o = pd.DataFrame({"obj": objects.index, "star": objects["star"].to_numpy(),
                      "op": pd.to_numeric(objects["period"], errors="coerce").to_numpy(),
                      "ot0": pd.to_numeric(objects["epoch"], errors="coerce").to_numpy()})
    m = t.merge(o, on="star", how="inner")
    # Each harmonic's relative period error; the rank of the harmonic breaks ties (same period first).
    rel = np.stack([np.abs(m["op"].to_numpy() * h / m["p"].to_numpy() - 1) for h in harmonics])
    which = np.where(rel < period_tol, np.arange(len(harmonics))[:, None], len(harmonics)).min(axis=0)
    matched = which < len(harmonics)
    score = np.where(matched, which + rel[np.minimum(which, len(harmonics) - 1), np.arange(len(m))], np.inf)
    # Transits of both ephemerides coincide at the shorter period's every cycle or the longer's.
    offset = transit_offset(m["t0"], m["ot0"], m["p"], m["op"])
    ok = matched & (offset < np.maximum(m["dur"], min_window)).to_numpy()
    m = m[ok].assign(score=score[ok])
    best = m.sort_values(["score", "obj"], kind="stable").drop_duplicates("row").set_index("row")["obj"]
    out = pd.Series(np.nan, index=np.arange(len(tces)), dtype=object)
    out[best.index] = best.to_numpy()
    return pd.Series(out.to_numpy(), index=tces.index, name="match")


# Period ratios at which another TCE of the star may be this TCE's own signal: the same period
# (an eclipsing binary's secondary eclipse, found as a TCE of its own), twice it or half it (an EB
# detected at half or twice its true period); within HARMONIC_TOLERANCE of it. The pipeline's
# periods of one EB's eclipses differ by up to 1e-4 (KIC 1162345's three TCEs at 0.8318 d),
# while planets near a 2:1 resonance sit 0.5-2% wide of it (Fabrycky et al. 2014).
HARMONIC_RATIOS = (1.0, 2.0, 0.5)
HARMONIC_TOLERANCE = 2e-3


def same_signal(period: float, other_periods) -> np.ndarray:
    """Which other TCEs may be this TCE's own signal: a period at one of HARMONIC_RATIOS of it."""
    ratio = np.asarray(other_periods, float)[:, None] / (period * np.asarray(HARMONIC_RATIOS))
    return (np.abs(ratio - 1.0) < HARMONIC_TOLERANCE).any(axis=1)


def has_distinct_neighbour(tces: pd.DataFrame) -> np.ndarray:
    """Per TCE (``star_id``, ``period``), whether its star has another TCE that cannot be its own
    signal (``same_signal``): a second periodic signal, as a planetary system shows and an
    eclipsing binary's harmonics and secondaries do not. A period that is not known counts as
    distinct. Vectorised over the pairs of TCEs of each star."""
    t = pd.DataFrame({"row": np.arange(len(tces)), "star": tces["star_id"].astype(str).to_numpy(),
                      "p": pd.to_numeric(tces["period"], errors="coerce").to_numpy(float)})
    pairs = t.merge(t, on="star", suffixes=("", "_other"))
    pairs = pairs[pairs.row != pairs.row_other]
    ratio = pairs.p_other.to_numpy()[:, None] / (pairs.p.to_numpy()[:, None] * np.asarray(HARMONIC_RATIOS))
    same = (np.abs(ratio - 1.0) < HARMONIC_TOLERANCE).any(axis=1)
    out = np.zeros(len(tces), bool)
    out[pairs.row.to_numpy()[~same]] = True
    return out

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
                      min_window: float = 0.1) -> pd.Series:
    """For each TCE, the index label of its object (or NaN when none matches).

    Both frames hold ``star``, ``period`` [d] and ``epoch`` [d, same time system]; ``tces`` also
    ``duration`` [d]. An object matches when it is on the same star, its period agrees within
    ``period_tol`` (relative) and its epoch falls within one transit duration (at least
    ``min_window`` d) of a transit of the TCE; the closest period wins.
    """
    t = pd.DataFrame({"row": np.arange(len(tces)), "star": tces["star"].to_numpy(),
                      "p": pd.to_numeric(tces["period"], errors="coerce").to_numpy(),
                      "t0": pd.to_numeric(tces["epoch"], errors="coerce").to_numpy(),
                      "dur": pd.to_numeric(tces["duration"], errors="coerce").to_numpy()})
    o = pd.DataFrame({"obj": objects.index, "star": objects["star"].to_numpy(),
                      "op": pd.to_numeric(objects["period"], errors="coerce").to_numpy(),
                      "ot0": pd.to_numeric(objects["epoch"], errors="coerce").to_numpy()})
    m = t.merge(o, on="star", how="inner")
    rel = np.abs(m["op"] / m["p"] - 1)
    offset = transit_offset(m["t0"], m["ot0"], m["p"], m["op"])
    m = m[(rel < period_tol) & (offset < np.maximum(m["dur"], min_window))].assign(score=rel)
    best = m.sort_values(["score", "obj"], kind="stable").drop_duplicates("row").set_index("row")["obj"]
    out = pd.Series(np.nan, index=np.arange(len(tces)), dtype=object)
    out[best.index] = best.to_numpy()
    return pd.Series(out.to_numpy(), index=tces.index, name="match")

"""TESS SPOC TCE tables (the per-sector-run DV statistics CSVs MAST publishes for 2-min targets)
and their labels from the TOI table's TFOPWG dispositions.

SPOC searches every sector alone and every span of sectors (``s0001-s0013``, ...), so one signal
is usually a TCE of many runs. ``one_per_signal`` keeps a single TCE per signal: the one from the
run with the longest span (best ephemeris), newest first among equals. TCE ids name the run they
come from, ``<tic>_<run>_<tce_plnt_num>``, so an id always means the same SPOC TCE; when a later,
longer run finds the same signal, its TCE takes the place of the shorter run's.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from .ephemeris import match_ephemerides, transit_offset
from .kepler import read_archive_csv
from .table import CatalogError, finalize, numeric_ids, require_columns, tce_frame

SPOC_REQUIRED = ["ticid", "tce_plnt_num", "tce_period", "tce_time0bt", "tce_duration", "tce_depth"]
SPOC_FIELDS = {"period": "tce_period", "epoch": "tce_time0bt", "duration": "tce_duration", "depth": "tce_depth"}
TOI_REQUIRED = ["tid", "tfopwg_disp", "pl_orbper", "pl_tranmid"]
BTJD_OFFSET = 2457000.0      # BTJD = BJD - 2457000: the TOI table gives BJD, SPOC tables BTJD
SOLAR_DENSITY = 1.408        # g/cm^3: DV gives stellar density in solar units, Kepler tables in g/cm^3
SOLAR_LOGG = 4.438
RUN_IN_NAME = re.compile(r"-(s\d{4}-s\d{4})_dvr-tcestats\.csv$")
RUN = re.compile(r"^s(\d{4})-s(\d{4})$")


def run_of_file(name: str) -> str | None:
    """'s0001-s0013' from a MAST TCE-table name such as tess2018206190142-s0001-s0013_dvr-tcestats.csv."""
    m = RUN_IN_NAME.search(name)
    return m.group(1) if m else None


def run_sectors(run: str) -> range:
    m = RUN.match(str(run))
    if not m:
        raise CatalogError(f"{run!r} is not a SPOC sector run (sNNNN-sNNNN)")
    return range(int(m.group(1)), int(m.group(2)) + 1)


def run_of_header(path: str | Path) -> str | None:
    """The run in a SPOC table's own header line ``#Sectors = s0001-s0096`` (MAST writes it into
    every table), or None."""
    try:
        with open(path, errors="replace") as fh:
            for line in fh:
                if not line.startswith("#"):
                    break
                m = re.match(r"^#\s*Sectors\s*=\s*(s\d{4}-s\d{4})\s*$", line.strip())
                if m:
                    return m.group(1)
    except OSError:
        return None
    return None


# A lower bound on when sector N began: sector 1 began at BTJD 1325.3, and no sector has lasted
# less than 20 days. Used only to catch a multi-sector table whose ``sectors`` column names its last
# sector alone (MAST's newer multi-sector tables write 's0096' where they mean 's0001-s0096').
FIRST_SECTOR_START, MIN_SECTOR_DAYS = 1325.0, 20.0


def _runs_from_sectors_column(raw: pd.DataFrame, path: Path) -> pd.Series:
    sectors = raw["sectors"].astype(str).str.strip()
    if not sectors.str.fullmatch(r"s\d{4}(-s\d{4})?").all():
        bad = sectors[~sectors.str.fullmatch(r"s\d{4}(-s\d{4})?")].iloc[0]
        raise CatalogError(f"SPOC TCE table {path}: 'sectors' value {bad!r} is not sNNNN or sNNNN-sNNNN")
    single = ~sectors.str.contains("-")
    first = sectors.str[1:5].astype(int)
    epoch = pd.to_numeric(raw["tce_time0bt"], errors="coerce")
    early = single & (epoch < FIRST_SECTOR_START + (first - 1) * MIN_SECTOR_DAYS)
    if early.any():
        i = early.idxmax()
        raise CatalogError(
            f"SPOC TCE table {path}: rows labelled {sectors[i]!r} in its 'sectors' column have epochs from "
            f"BTJD {epoch[early].min():.1f}, before that sector began, so it is a multi-sector table that "
            "names only its last sector there and its run cannot be told. Keep MAST's file name "
            "(tess<stamp>-sNNNN-sNNNN_dvr-tcestats.csv) or its '#Sectors = sNNNN-sNNNN' header line, or add "
            "a 'run' column.")
    return sectors.where(~single, sectors + "-" + sectors)


def read_spoc_table(path: str | Path, raw: pd.DataFrame | None = None) -> pd.DataFrame:
    """One SPOC TCE table (or several concatenated; ``raw`` when already read) with a ``run``
    column: kept if present, else from MAST's file name, else from the table's ``#Sectors =``
    header line, else from the ``sectors`` column, which newer multi-sector tables fill with their
    last sector alone ('s0096' for s0001-s0096): a single-sector label is taken as that sector
    only when no epoch precedes it."""
    path = Path(path)
    raw = read_archive_csv(path) if raw is None else raw
    require_columns(raw, SPOC_REQUIRED, f"SPOC TCE table {path}")
    if "run" in raw.columns:
        return raw
    run = run_of_file(path.name) or run_of_header(path)
    if run is not None:
        return raw.assign(run=run)
    if "sectors" not in raw.columns:
        raise CatalogError(f"SPOC TCE table {path}: cannot tell its sector run (no 'run' or 'sectors' column, "
                           "no '#Sectors =' header line, and the name is not MAST's *-sNNNN-sNNNN_dvr-tcestats.csv)")
    return raw.assign(run=_runs_from_sectors_column(raw, path))


def _signals(raw: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"star": pd.to_numeric(raw["ticid"], errors="coerce"), "period": raw["tce_period"],
                         "epoch": raw["tce_time0bt"],
                         "duration": pd.to_numeric(raw["tce_duration"], errors="coerce") / 24.0},
                        index=raw.index)


def one_per_signal(raw: pd.DataFrame, period_tol: float = 0.01) -> pd.DataFrame:
    """Drop every TCE that repeats (same star, matching ephemeris) a TCE of a preferred run."""
    span = raw["run"].map(lambda r: len(run_sectors(r)))
    end = raw["run"].map(lambda r: run_sectors(r).stop)
    ranked = raw.assign(_span=span, _end=end).sort_values(["_span", "_end", "run"], ascending=[False, False, True],
                                                          kind="stable")
    ranked = ranked.reset_index(drop=True)
    sig = _signals(ranked)
    rank = pd.Series(np.arange(len(ranked)), index=ranked.index)
    # pair every TCE with the better-ranked TCEs of its star; a match means it is a repeat
    pairs = sig.assign(rank=rank).reset_index().merge(sig.assign(rank=rank).reset_index(), on="star",
                                                      suffixes=("", "_b"))
    pairs = pairs[pairs["rank_b"] < pairs["rank"]]
    rel = np.abs(pairs["period_b"] / pairs["period"] - 1)
    offset = transit_offset(pairs["epoch"], pairs["epoch_b"], pairs["period"], pairs["period_b"])
    repeats = pairs.loc[(rel < period_tol) & (offset < np.maximum(pairs["duration"], 0.1)), "index"].unique()
    kept = ranked.drop(index=repeats).drop(columns=["_span", "_end"])
    return kept.sort_index(kind="stable").reset_index(drop=True)


def toi_dispositions(raw: pd.DataFrame, toi: pd.DataFrame, mapping: dict) -> pd.Series:
    """A disposition per SPOC TCE from its TOI (TIC id + ephemeris match) and ``mapping``
    (TFOPWG code -> disposition; ``no_toi`` for TCEs no TOI matches)."""
    return signal_dispositions(_signals(raw), toi, mapping)


def signal_dispositions(signals: pd.DataFrame, toi: pd.DataFrame, mapping: dict, harmonics=(1.0,),
                        sole_toi: bool = False) -> pd.Series:
    """A disposition per signal (``star`` = TIC id as a number, ``period``, ``epoch`` [BTJD],
    ``duration`` [d]) from the TOI it matches (``match_ephemerides`` with ``harmonics``) and
    ``mapping``. With ``sole_toi``, a signal that matches nothing on a star with exactly one TOI
    takes that TOI: for a list of TOIs, whose periods TFOPWG may since have revised."""
    require_columns(toi, TOI_REQUIRED, "TOI table")
    objects = pd.DataFrame({"star": pd.to_numeric(toi["tid"], errors="coerce"), "period": toi["pl_orbper"],
                            "epoch": pd.to_numeric(toi["pl_tranmid"], errors="coerce") - BTJD_OFFSET},
                           index=toi.index)
    match = match_ephemerides(signals, objects, harmonics=harmonics)
    if sole_toi:
        counts = objects["star"].value_counts()
        sole = objects[objects["star"].map(counts) == 1].reset_index().set_index("star")["index"]
        match = match.where(match.notna(), signals["star"].map(sole).astype(object))
    found = match.dropna()
    codes = toi.loc[found.to_numpy(), "tfopwg_disp"].fillna("").astype(str).str.strip().str.upper()
    out = pd.Series(mapping["no_toi"], index=signals.index, dtype=object, name="disposition")
    out[found.index] = codes.map(lambda c: mapping.get(c, mapping["no_toi"])).to_numpy()
    return out


def spoc_stellar(raw: pd.DataFrame) -> pd.DataFrame:
    """Stellar parameters from the TCE table's TIC columns, in the Kepler tables' units (density
    in g/cm^3; mass from logg and radius)."""
    col = lambda name: pd.to_numeric(raw[name], errors="coerce") if name in raw.columns else np.nan  # noqa: E731
    logg, radius = col("tce_slogg"), col("tce_sradius")
    out = pd.DataFrame({"star_id": numeric_ids(raw["ticid"]),
                        "teff": col("tce_steff"), "logg": logg, "feh": col("tce_smet"), "radius": radius,
                        "mass": 10 ** (logg - SOLAR_LOGG) * radius ** 2,
                        "dens": col("tce_sdensity") * SOLAR_DENSITY}, index=raw.index)
    return out.drop_duplicates("star_id")


def normalize_spoc(raw: pd.DataFrame, labels: dict, toi: pd.DataFrame | None = None,
                   toi_labels: dict | None = None, where: str = "SPOC TCE table"):
    """SPOC TCE table(s) with a ``run`` column -> (normalized table, rejected rows)."""
    require_columns(raw, SPOC_REQUIRED + ["run"], where)
    raw = one_per_signal(raw)
    num = pd.to_numeric(raw["tce_plnt_num"], errors="coerce").fillna(-1).astype(int)
    if toi is not None:
        disposition = toi_dispositions(raw, toi, toi_labels)
    elif "disposition" in raw.columns:
        disposition = raw["disposition"]
    else:
        disposition = pd.Series("UNK", index=raw.index)
    df = tce_frame(raw, SPOC_FIELDS, numeric_ids(raw["ticid"]), num, "tess", disposition, run=raw["run"])
    return finalize(df, spoc_stellar(raw), labels, where)


def load_spoc(path, labels: dict, toi_path=None, toi_labels: dict | None = None):
    toi = read_archive_csv(toi_path) if toi_path else None
    return normalize_spoc(read_spoc_table(path), labels, toi, toi_labels, where=f"SPOC TCE table {path}")

"""Catalogs from the NASA Exoplanet Archive's TAP service: the Kepler Q1-Q17 DR24 and DR25 TCE
tables, the KOI cumulative table (DR25 labels) and the Kepler stellar table.

Each table is fetched once as CSV (``{tap_url}/sync?query=...&format=csv``), validated (it must
parse and hold the columns its reader needs) and only then renamed into place.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..http import RetryPolicy, fetch
from ..utils import TargetError
from .kepler import DR24_REQUIRED, normalize_dr24, read_archive_csv
from .table import CatalogError, require_columns

# TAP queries per source: file name -> (query, columns the file must have).
STELLAR_QUERY = ("select kepid, teff, logg, feh, radius, mass, dens from {table}", ["kepid"])
KOI_REQUIRED = ["kepid", "koi_disposition", "koi_period", "koi_time0bk", "koi_fpflag_nt"]
QUERIES = {
    "kepler_dr24": {
        "catalog": ("select * from q1_q17_dr24_tce", DR24_REQUIRED),
        "stellar": (STELLAR_QUERY[0].format(table="q1_q17_dr24_stellar"), STELLAR_QUERY[1]),
    },
    "kepler_dr25": {
        "catalog": ("select * from q1_q17_dr25_tce", DR24_REQUIRED),
        "koi": ("select kepid, kepoi_name, koi_disposition, koi_period, koi_time0bk, koi_duration, "
                "koi_fpflag_nt from cumulative", KOI_REQUIRED),
        "stellar": (STELLAR_QUERY[0].format(table="q1_q17_dr25_stellar"), STELLAR_QUERY[1]),
    },
}


def tap_sync_url(tap_url: str) -> str:
    return tap_url.rstrip("/") + "/sync"


def _csv_validator(columns: list[str], what: str):
    def validate(path: Path) -> None:
        try:
            require_columns(read_archive_csv(path), columns, what)
        except CatalogError as exc:
            raise TargetError(str(exc)) from exc
    return validate


def download_tables(source: str, files: dict[str, Path], tap_url: str, policy: RetryPolicy) -> dict[str, Path]:
    """Fetch every table of ``source`` into ``files`` (keyed like QUERIES[source])."""
    for key, (query, columns) in QUERIES[source].items():
        fetch(tap_sync_url(tap_url), files[key], policy, params={"query": query, "format": "csv"},
              validate=_csv_validator(columns, f"{source} {key} table from {tap_url}"),
              what=f"{source} {key} table")
    return files


def dr25_dispositions(tces: pd.DataFrame, koi: pd.DataFrame, mapping: dict, period_tol: float = 0.01
                      ) -> pd.Series:
    """A disposition per DR25 TCE from the KOI table, as ExoMiner labels DR25: the TCE's KOI is
    the one on the same star whose period agrees within ``period_tol`` (relative) and whose epoch
    falls within one transit duration of a transit of the TCE (closest period first). CONFIRMED and CANDIDATE
    map to PC, FALSE POSITIVE to AFP unless flagged not transit-like (``false_alarm``), and a TCE
    with no KOI is ``no_koi`` (all per ``mapping``)."""
    require_columns(koi, KOI_REQUIRED, "KOI cumulative table")
    t = pd.DataFrame({"row": np.arange(len(tces)), "kepid": pd.to_numeric(tces["kepid"], errors="coerce"),
                      "p": pd.to_numeric(tces["tce_period"], errors="coerce"),
                      "t0": pd.to_numeric(tces["tce_time0bk"], errors="coerce"),
                      "dur": pd.to_numeric(tces["tce_duration"], errors="coerce") / 24.0})
    k = koi.assign(kepid=pd.to_numeric(koi["kepid"], errors="coerce"))
    m = t.merge(k, on="kepid", how="inner")
    rel = np.abs(m["koi_period"] / m["p"] - 1)
    phase = np.abs((m["koi_time0bk"] - m["t0"] + 0.5 * m["p"]) % m["p"] - 0.5 * m["p"])
    m = m[(rel < period_tol) & (phase < np.maximum(m["dur"], 0.1))].assign(score=rel)
    best = m.sort_values("score").drop_duplicates("row").set_index("row")
    disp = best["koi_disposition"].astype(str).str.strip().str.upper()
    nt = pd.to_numeric(best["koi_fpflag_nt"], errors="coerce").fillna(0) > 0
    label = disp.map({"CONFIRMED": mapping["CONFIRMED"], "CANDIDATE": mapping["CANDIDATE"],
                      "FALSE POSITIVE": mapping["FALSE POSITIVE"]}).fillna(mapping["no_koi"])
    label[(disp == "FALSE POSITIVE") & nt] = mapping["false_alarm"]
    out = pd.Series(mapping["no_koi"], index=np.arange(len(tces)), dtype=object)
    out[label.index] = label.to_numpy()
    return pd.Series(out.to_numpy(), index=tces.index, name="disposition")


def load_dr25(path, koi_path, labels: dict, koi_labels: dict, stellar_path=None):
    raw = read_archive_csv(path)
    require_columns(raw, DR24_REQUIRED, f"TCE table {path}")
    raw = raw.assign(av_training_set=dr25_dispositions(raw, read_archive_csv(koi_path), koi_labels))
    stellar = read_archive_csv(stellar_path) if stellar_path else None
    return normalize_dr24(raw, labels, stellar, where=f"DR25 TCE table {path}")

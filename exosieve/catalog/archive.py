"""Catalogs from the archives: the Kepler Q1-Q17 DR24 and DR25 TCE tables, the KOI cumulative table
(DR25 labels), the Kepler stellar table and the TOI table (TESS labels) from the NASA Exoplanet
Archive's TAP service; the TESS SPOC TCE tables from MAST (one CSV per sector run, listed on
MAST's bulk-download page and cached in ``cache_dir/tess/catalogs/tce``).

Each table is fetched once as CSV (``{tap_url}/sync?query=...&format=csv``), validated (it must
parse and hold the columns its reader needs) and only then renamed into place. Table names are
those the TAP service lists (its ``TAP_SCHEMA.tables``): the Kepler stellar tables are
``q1_q17_dr24_ks`` and ``q1_q17_dr25_ks``; the ``*_stellar`` names belong to the retired API.

The TAP service reports a query it cannot run (unknown table or column, bad ADQL) as HTTP 200
with a JSON body ``{"status": "error", "msg": ...}``; that answer is never retried and never
cached: it becomes one ``TapQueryError`` quoting the archive's message.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urljoin

import numpy as np
import pandas as pd

from ..http import DownloadError, RetryPolicy, fetch
from ..utils import TargetError, atomic_output
from .ephemeris import match_ephemerides
from .kepler import DR24_REQUIRED, normalize_dr24, read_archive_csv
from .table import CatalogError, require_columns
from .tess import SPOC_REQUIRED, TOI_REQUIRED, read_spoc_table, run_of_file

# TAP queries per source: file name -> (query, columns the file must have).
STELLAR_QUERY = ("select kepid, teff, logg, feh, radius, mass, dens from {table}",
                 ["kepid", "teff", "logg", "feh", "radius", "mass", "dens"])
KOI_REQUIRED = ["kepid", "koi_disposition", "koi_period", "koi_time0bk", "koi_fpflag_nt"]
QUERIES = {
    "kepler_dr24": {
        "catalog": ("select * from q1_q17_dr24_tce", DR24_REQUIRED),
        "stellar": (STELLAR_QUERY[0].format(table="q1_q17_dr24_ks"), STELLAR_QUERY[1]),
    },
    "kepler_dr25": {
        "catalog": ("select * from q1_q17_dr25_tce", DR24_REQUIRED),
        "koi": ("select kepid, kepoi_name, koi_disposition, koi_period, koi_time0bk, koi_duration, "
                "koi_fpflag_nt from cumulative", KOI_REQUIRED),
        "stellar": (STELLAR_QUERY[0].format(table="q1_q17_dr25_ks"), STELLAR_QUERY[1]),
    },
    "tess_spoc": {
        "toi": ("select tid, toi, tfopwg_disp, pl_orbper, pl_tranmid, pl_trandurh, pl_trandep from toi",
                TOI_REQUIRED),
    },
}
TESS_TCE_INDEX = "tess/bulk_downloads/bulk_downloads_tce.html"
SPOC_KEEP = set(SPOC_REQUIRED) | {"run", "sectors", "tce_model_snr", "tce_steff", "tce_slogg", "tce_smet",
                                  "tce_sradius", "tce_sdensity"}


def tap_sync_url(tap_url: str) -> str:
    return tap_url.rstrip("/") + "/sync"


class TapQueryError(DownloadError):
    """The TAP service answered and refused the query itself; asking again cannot help."""


def tap_error_message(path: str | Path) -> str | None:
    """The archive's message when ``path`` holds a TAP error answer, else None. The service writes
    ``msg`` unescaped, so a message with a quote in it is not valid JSON: read it leniently."""
    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
    text = head.decode("utf-8", errors="replace").strip()
    if not text.startswith("{"):
        return None
    try:
        doc = json.loads(text)
        if isinstance(doc, dict) and str(doc.get("status", "")).lower() == "error":
            return str(doc.get("msg", "")).strip() or "(no message)"
    except ValueError:
        pass
    m = re.search(r'"status"\s*:\s*"error"\s*,\s*"msg"\s*:\s*"(.*)"\s*}\s*$', text, re.DOTALL | re.IGNORECASE)
    return m.group(1).strip() if m else None


def _tap_validator(columns: list[str], what: str, query: str):
    def validate(path: Path) -> None:
        message = tap_error_message(path)
        if message is not None:
            raise TapQueryError(f"{what}: the archive refused the query: {message} (query: {query})")
        try:
            table = read_archive_csv(path)
        except CatalogError as exc:
            raise TargetError(str(exc)) from exc   # a garbled answer: worth another try
        try:
            require_columns(table, columns, what)
        except CatalogError as exc:                 # a whole answer without the columns: final
            raise TapQueryError(str(exc)) from exc
    return validate


def _csv_validator(columns: list[str], what: str):
    def validate(path: Path) -> None:
        try:
            require_columns(read_archive_csv(path), columns, what)
        except CatalogError as exc:
            raise TargetError(str(exc)) from exc
    return validate


def tap_query(tap_url: str, query: str, dest: Path, columns: list[str], policy: RetryPolicy, what: str) -> Path:
    """One TAP sync query into ``dest`` as CSV with ``columns``; raises TapQueryError when the
    archive refuses the query, DownloadError when it never answers."""
    return fetch(tap_sync_url(tap_url), dest, policy, params={"query": query, "format": "csv"},
                 validate=_tap_validator(columns, f"{what} from {tap_url}", query), what=what)


def download_tables(source: str, files: dict[str, Path], tap_url: str, policy: RetryPolicy) -> dict[str, Path]:
    """Fetch every TAP table of ``source`` into ``files`` (keyed like QUERIES[source])."""
    for key, (query, columns) in QUERIES[source].items():
        tap_query(tap_url, query, files[key], columns, policy, f"{source} {key} table")
    return files


DR25_DELIVERY = "q1_q17_dr25_tce"
KOI_DISPOSITIONS = ("CONFIRMED", "CANDIDATE", "FALSE POSITIVE")


def dr25_dispositions(tces: pd.DataFrame, koi: pd.DataFrame, mapping: dict, period_tol: float = 0.01,
                      delivery: str | None = DR25_DELIVERY, harmonics: tuple[float, ...] = (1.0, 2.0, 0.5)
                      ) -> pd.Series:
    """A disposition per TCE from the KOI table, as ExoMiner labels DR25.

    A TCE's KOI is, first, the one whose ``koi_tce_delivname`` is ``delivery`` and whose
    ``koi_tce_plnt_num`` is the TCE's number on the same star (the archive's own join; None skips
    it); otherwise its ephemeris match on the same star at the same period or at twice or half
    of it (``ephemeris.match_ephemerides``). CONFIRMED and CANDIDATE map to PC, FALSE POSITIVE to
    AFP unless flagged not transit-like (``false_alarm``); a KOI with any other disposition (NOT
    DISPOSITIONED) leaves its TCE unlabelled (``undispositioned``); a TCE with no KOI is
    ``no_koi`` (all per ``mapping``)."""
    require_columns(koi, KOI_REQUIRED, "KOI cumulative table")
    star = pd.to_numeric(tces["kepid"], errors="coerce")
    koi_star = pd.to_numeric(koi["kepid"], errors="coerce")
    found = pd.Series(np.nan, index=tces.index, dtype=object)
    if delivery and {"koi_tce_delivname", "koi_tce_plnt_num"} <= set(koi.columns):
        same = koi["koi_tce_delivname"].astype(str).str.strip() == delivery
        keys = pd.DataFrame({"star": koi_star[same], "num": pd.to_numeric(koi.loc[same, "koi_tce_plnt_num"],
                                                                           errors="coerce"), "koi": koi.index[same]})
        keys = keys.dropna().drop_duplicates(["star", "num"])
        joined = pd.DataFrame({"star": star, "num": pd.to_numeric(tces["tce_plnt_num"], errors="coerce"),
                               "row": tces.index}).merge(keys, on=["star", "num"], how="inner")
        found[joined["row"].to_numpy()] = joined["koi"].to_numpy()
    rest = found.isna()
    match = match_ephemerides(
        pd.DataFrame({"star": star[rest], "period": tces.loc[rest, "tce_period"], "epoch": tces.loc[rest, "tce_time0bk"],
                      "duration": pd.to_numeric(tces.loc[rest, "tce_duration"], errors="coerce") / 24.0}),
        pd.DataFrame({"star": koi_star, "period": koi["koi_period"], "epoch": koi["koi_time0bk"]}, index=koi.index),
        period_tol, harmonics=harmonics)
    found[match.index] = match.to_numpy()
    found = found.dropna()
    best = koi.loc[found.to_numpy()]
    disp = best["koi_disposition"].astype(str).str.strip().str.upper().to_numpy()
    nt = (pd.to_numeric(best["koi_fpflag_nt"], errors="coerce").fillna(0) > 0).to_numpy()
    label = pd.Series(disp).map({d: mapping[d] for d in KOI_DISPOSITIONS}).fillna(mapping["undispositioned"])
    label[(disp == "FALSE POSITIVE") & nt] = mapping["false_alarm"]
    out = pd.Series(mapping["no_koi"], index=tces.index, dtype=object, name="disposition")
    out[found.index] = label.to_numpy()
    return out


def load_dr25(path, koi_path, labels: dict, koi_labels: dict, stellar_path=None):
    raw = read_archive_csv(path)
    require_columns(raw, DR24_REQUIRED, f"TCE table {path}")
    raw = raw.assign(av_training_set=dr25_dispositions(raw, read_archive_csv(koi_path), koi_labels))
    stellar = read_archive_csv(stellar_path) if stellar_path else None
    return normalize_dr24(raw, labels, stellar, where=f"DR25 TCE table {path}")


def spoc_table_urls(index_html: str, index_url: str) -> dict[str, str]:
    """Sector run -> URL of its SPOC TCE table, from MAST's TCE bulk-download page."""
    urls = {}
    for href in re.findall(r'href="([^"]*_dvr-tcestats\.csv)"', index_html):
        run = run_of_file(href)
        if run:
            urls[run] = urljoin(index_url, href)
    return urls


def validate_tce_index(path: Path) -> None:
    if not spoc_table_urls(Path(path).read_text(errors="replace"), ""):
        raise TargetError("MAST's TCE bulk-download page links no *_dvr-tcestats.csv table")


def download_spoc_tables(out_csv: Path, runs: list[str] | None, mast_url: str, cache_dir: Path,
                         policy: RetryPolicy) -> Path:
    """The SPOC TCE tables of ``runs`` (None: every run MAST lists), each fetched once into the
    cache, concatenated into ``out_csv`` with a ``run`` column."""
    index_url = f"{mast_url.rstrip('/')}/{TESS_TCE_INDEX}"
    index = Path(out_csv).with_name("tce_index.html")
    fetch(index_url, index, policy, what="TESS TCE table list", validate=validate_tce_index)
    available = spoc_table_urls(index.read_text(errors="replace"), index_url)
    wanted = sorted(available) if runs is None else list(runs)
    unknown = [r for r in wanted if r not in available]
    if unknown:
        raise CatalogError(f"catalog.tess_runs: {', '.join(unknown)} not among the {len(available)} sector runs "
                           f"MAST lists at {index_url} (e.g. {', '.join(sorted(available)[:3])})")
    parts = []
    for run in wanted:
        url = available[run]
        dest = Path(cache_dir) / "tess" / "catalogs" / "tce" / url.rsplit("/", 1)[-1]
        if not dest.exists():
            fetch(url, dest, policy, what=f"SPOC TCE table {run}",
                  validate=_csv_validator(SPOC_REQUIRED, f"SPOC TCE table {run} from {url}"))
        table = read_spoc_table(dest)
        parts.append(table[[c for c in table.columns if c in SPOC_KEEP]])
    with atomic_output(out_csv, ".csv") as tmp:
        pd.concat(parts, ignore_index=True).to_csv(tmp, index=False)
    return Path(out_csv)

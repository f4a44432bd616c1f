"""The normalized internal TCE table that every catalog source produces.

One row per TCE. Ephemerides are in days in the mission's own time system (BKJD for Kepler,
BTJD for TESS); depth in ppm. ``label`` is 1 (positive), 0 (negative) or -1 (unlabelled), mapped
from the source's ``disposition`` by the config's ``catalog.labels``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..utils import TargetError, atomic_output, safe_id

NORMALIZED_COLUMNS = {
    "tce_id": "unique TCE id: <star_id>_<tce_num>",
    "star_id": "star identifier (KIC for Kepler)",
    "tce_num": "TCE number on that star (tce_plnt_num)",
    "mission": "kepler or tess",
    "period": "orbital period [d]",
    "epoch": "mid-time of the first transit [BKJD/BTJD, d]",
    "duration": "transit duration [d]",
    "depth": "catalog transit depth [ppm]",
    "disposition": "the source's label (e.g. PC, AFP, NTP, UNK)",
    "label": "1 positive, 0 negative, -1 unlabelled",
}
STELLAR_COLUMNS = ["teff", "logg", "feh", "radius", "mass", "dens"]


class CatalogError(ValueError):
    """A catalog as a whole cannot be used (missing column, duplicate ids, unreadable file)."""


def require_columns(df: pd.DataFrame, columns: list[str], where: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise CatalogError(f"{where}: missing required column(s) {', '.join(missing)}; "
                           f"found {', '.join(map(str, df.columns))}")


def map_labels(dispositions: pd.Series, positive: list[str], negative: list[str]) -> pd.Series:
    disp = dispositions.fillna("").astype(str).str.strip()
    label = np.full(len(disp), -1, dtype=np.int8)
    label[disp.isin(positive).to_numpy()] = 1
    label[disp.isin(negative).to_numpy()] = 0
    return pd.Series(label, index=dispositions.index, name="label")


def validate_rows(df: pd.DataFrame, where: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split a normalized table into usable rows and rejected rows (with a reason each).

    One bad TCE (a NaN period, a duration longer than its period, an unsafe id) must not sink
    the catalog: it is rejected, recorded, and the rest go on.
    """
    reasons = pd.Series("", index=df.index, dtype=object)

    def flag(mask: pd.Series, why: str) -> None:
        mask = mask & (reasons == "")
        reasons[mask] = why

    for col in ("period", "epoch", "duration", "depth"):
        flag(~np.isfinite(df[col].astype(float)), f"{col} is missing or not a number")
    flag(df["period"] <= 0, "period is not positive")
    flag(df["duration"] <= 0, "duration is not positive")
    flag(df["duration"] >= df["period"], "duration is not shorter than the period")
    flag(df["star_id"].isin(["", "nan"]), "star id is missing")
    for i, sid in df["star_id"].items():
        try:
            safe_id(sid, "star id")
        except TargetError as exc:
            flag(pd.Series(df.index == i, index=df.index), str(exc))
    bad = reasons != ""
    rejected = df.loc[bad, ["tce_id", "star_id"]].copy()
    rejected["stage"] = "catalog"
    rejected["error"] = reasons[bad].map(lambda r: f"{where}: {r}")
    dup = df.loc[~bad, "tce_id"].duplicated(keep=False)
    if dup.any():
        ids = sorted(df.loc[~bad & dup, "tce_id"].unique())[:10]
        raise CatalogError(f"{where}: duplicate TCE ids {', '.join(ids)} "
                           "(each star's tce_plnt_num must be unique)")
    return df.loc[~bad].reset_index(drop=True), rejected.reset_index(drop=True)


def finalize(df: pd.DataFrame, stellar: pd.DataFrame | None, labels: dict, where: str
             ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Attach labels and stellar parameters, validate, and order rows and columns stably."""
    df = df.copy()
    df["label"] = map_labels(df["disposition"], labels["positive"], labels["negative"])
    if stellar is not None and len(stellar):
        require_columns(stellar, ["star_id"], f"{where} stellar table")
        keep = ["star_id"] + [c for c in STELLAR_COLUMNS if c in stellar.columns]
        stellar = stellar[keep].drop_duplicates("star_id")
        df = df.merge(stellar, on="star_id", how="left")
    for col in STELLAR_COLUMNS:
        if col not in df.columns:
            df[col] = np.nan
    good, rejected = validate_rows(df, where)
    good = good.sort_values(["star_id", "tce_num"], kind="stable").reset_index(drop=True)
    return good[list(NORMALIZED_COLUMNS) + STELLAR_COLUMNS], rejected


def numeric_ids(values: pd.Series) -> pd.Series:
    """Archive star ids (KIC/TIC numbers, read as int or float) as strings; 'nan' when missing."""
    return pd.to_numeric(values, errors="coerce").map(lambda v: str(int(v)) if pd.notna(v) else "nan")


def tce_frame(raw: pd.DataFrame, fields: dict[str, str], star_id: pd.Series, tce_num: pd.Series, mission: str,
              disposition: pd.Series, *, duration_scale: float = 1 / 24, epoch_offset: float = 0.0,
              run: pd.Series | None = None) -> pd.DataFrame:
    """The normalized columns from a source table: ``fields`` names its period, epoch, duration
    and depth columns; ids are ``<star>_<num>``, or ``<star>_<run>_<num>`` when TCEs are per run."""
    num = lambda name: pd.to_numeric(raw[fields[name]], errors="coerce")  # noqa: E731
    middle = "_" if run is None else "_" + run.astype(str) + "_"
    return pd.DataFrame({
        "tce_id": star_id + middle + tce_num.astype(str),
        "star_id": star_id,
        "tce_num": tce_num,
        "mission": mission,
        "period": num("period"),
        "epoch": num("epoch") - epoch_offset,
        "duration": num("duration") * duration_scale,
        "depth": num("depth"),
        "disposition": disposition.fillna("UNK").astype(str).str.strip().replace({"nan": "UNK", "": "UNK"}),
    })


def normalize_columns(raw: pd.DataFrame, columns: dict, labels: dict, *, duration_unit: str = "hours",
                      epoch_offset: float = 0.0, mission: str = "kepler", where: str = "TCE table"):
    """Any CSV whose columns ``columns`` maps onto the normalized fields -> (table, rejected rows).
    TCEs without a ``tce_num`` column are numbered per star in file order."""
    require_columns(raw, list(columns.values()), f"{where} (catalog.columns)")
    col = lambda name: pd.to_numeric(raw[columns[name]], errors="coerce")  # noqa: E731
    star = raw[columns["star_id"]].map(lambda v: str(int(v)) if isinstance(v, float) and v.is_integer()
                                       else str(v).strip())
    num = (col("tce_num").fillna(-1).astype(int) if "tce_num" in columns
           else star.groupby(star).cumcount() + 1)
    disposition = raw[columns["disposition"]] if "disposition" in columns else pd.Series("UNK", index=raw.index)
    df = tce_frame(raw, columns, star, num, mission, disposition,
                   duration_scale=1 / 24 if duration_unit == "hours" else 1.0, epoch_offset=epoch_offset)
    stellar = pd.DataFrame({"star_id": star, **{c: col(c) for c in STELLAR_COLUMNS if c in columns}})
    return finalize(df, stellar, labels, where)


def write_normalized(df: pd.DataFrame, path: str | Path) -> None:
    with atomic_output(path, ".csv") as tmp:
        df.to_csv(tmp, index=False, float_format="%.10g")


def read_normalized(path: str | Path) -> pd.DataFrame:
    df = pd.read_csv(path, dtype={"tce_id": str, "star_id": str, "mission": str,
                                  "disposition": str})
    require_columns(df, list(NORMALIZED_COLUMNS), str(path))
    df["disposition"] = df["disposition"].fillna("")
    return df

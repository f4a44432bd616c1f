"""Kepler TCE tables in the NASA Exoplanet Archive's formats (Q1-Q17 DR24 and its kin)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..utils import damage_reason
from .table import CatalogError, finalize, numeric_ids, require_columns, tce_frame

DR24_REQUIRED = ["kepid", "tce_plnt_num", "tce_period", "tce_time0bk", "tce_duration",
                 "tce_depth"]
DR24_LABEL_COLUMN = "av_training_set"
DR24_FIELDS = {"period": "tce_period", "epoch": "tce_time0bk", "duration": "tce_duration", "depth": "tce_depth"}
KEPLER_STELLAR_COLUMNS = {"kepid": "star_id", "teff": "teff", "logg": "logg", "feh": "feh",
                          "radius": "radius", "mass": "mass", "dens": "dens"}


def read_archive_csv(path: str | Path) -> pd.DataFrame:
    """Read an Exoplanet Archive CSV export; its '#' header lines are comments."""
    path = Path(path)
    try:
        return pd.read_csv(path, comment="#", low_memory=False)
    except FileNotFoundError:
        raise CatalogError(f"catalog file {path} does not exist") from None
    except IsADirectoryError:
        raise CatalogError(f"catalog file {path} is a folder; give the table's CSV file") from None
    except Exception as exc:    # pandas' parser, a codec, a cut-off gzip: whatever the type, name the file
        raise CatalogError(f"catalog file {path} is not a readable CSV: {damage_reason(exc, 'table')}") from exc


def normalize_dr24(raw: pd.DataFrame, labels: dict, stellar: pd.DataFrame | None = None,
                   where: str = "DR24 TCE table") -> tuple[pd.DataFrame, pd.DataFrame]:
    """DR24-format TCE table -> (normalized table, rejected rows)."""
    require_columns(raw, DR24_REQUIRED, where)
    star_id = numeric_ids(raw["kepid"])
    tce_num = pd.to_numeric(raw["tce_plnt_num"], errors="coerce").fillna(-1).astype(int)
    disposition = (raw[DR24_LABEL_COLUMN] if DR24_LABEL_COLUMN in raw.columns
                   else pd.Series("UNK", index=raw.index))
    df = tce_frame(raw, DR24_FIELDS, star_id, tce_num, "kepler", disposition)
    if stellar is not None:
        stellar = normalize_kepler_stellar(stellar, f"{where} stellar table")
    return finalize(df, stellar, labels, where)


def normalize_kepler_stellar(raw: pd.DataFrame, where: str) -> pd.DataFrame:
    require_columns(raw, ["kepid"], where)
    keep = {k: v for k, v in KEPLER_STELLAR_COLUMNS.items() if k in raw.columns}
    out = raw[list(keep)].rename(columns=keep)
    out["star_id"] = numeric_ids(out["star_id"])
    return out


def load_dr24(path: str | Path, labels: dict, stellar_path: str | Path | None = None
              ) -> tuple[pd.DataFrame, pd.DataFrame]:
    raw = read_archive_csv(path)
    stellar = read_archive_csv(stellar_path) if stellar_path else None
    return normalize_dr24(raw, labels, stellar, where=f"TCE table {path}")

"""The normalized internal TCE table that every catalog source produces.

One row per TCE. Ephemerides are in days in the mission's own time system (BKJD for Kepler,
BTJD for TESS); depth in ppm. ``label`` is 1 (positive), 0 (negative) or -1 (unlabelled), mapped
from the source's ``disposition`` by the config's ``catalog.labels``.
"""

from __future__ import annotations

import re
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
# Columns that preprocessing never reads: shard target lists leave them out, so that relabelling
# TCEs changes no target list and reruns no preprocessing. Written last, so that a target list
# line is the catalog's line cut before its last two fields.
LABEL_COLUMNS = ("disposition", "label")
TABLE_COLUMNS = [c for c in NORMALIZED_COLUMNS if c not in LABEL_COLUMNS] + STELLAR_COLUMNS + list(LABEL_COLUMNS)


class CatalogError(ValueError):
    """A catalog as a whole cannot be used (missing column, duplicate ids, unreadable file)."""


def require_columns(df: pd.DataFrame, columns: list[str], where: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise CatalogError(f"{where}: missing required column(s) {', '.join(missing)}; "
                           f"found {', '.join(map(str, df.columns))}")


def map_labels(dispositions: pd.Series, positive: list, negative: list) -> pd.Series:
    """1, 0 or -1 per disposition; labels given as integers (1, 0) match their text."""
    positive, negative = [str(v) for v in positive], [str(v) for v in negative]
    disp = dispositions.fillna("").astype(str).str.strip()
    label = np.full(len(disp), -1, dtype=np.int8)
    label[disp.isin(positive).to_numpy()] = 1
    label[disp.isin(negative).to_numpy()] = 0
    return pd.Series(label, index=dispositions.index, name="label")


def validate_rows(df: pd.DataFrame, where: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split a normalized table into usable rows and rejected rows (with a reason each, naming the
    offending value).

    One bad TCE (a NaN period, a duration longer than its period, an unsafe id) must not sink
    the catalog: it is rejected, recorded, and the rest go on. Duplicated TCE ids are handled the
    same way in every source: a row identical to an earlier one is dropped as a repeat; rows that
    share an id but differ are all rejected, since nothing says which is right.
    """
    if df.empty:
        return df.reset_index(drop=True), pd.DataFrame(columns=["tce_id", "star_id", "stage", "error"])
    # Numpy arrays, not Series: a table has 10^5 rows and each check costs a comparison of them.
    bad = np.zeros(len(df), bool)
    reasons = np.full(len(df), "", dtype=object)

    def flag(mask, why) -> None:
        """Give the rows of ``mask`` not yet rejected the reason ``why``: a text, or a function
        of those rows returning one text each (built only for them)."""
        mask = np.asarray(mask, bool) & ~bad
        if mask.any():
            reasons[mask] = why if isinstance(why, str) else list(why(df[mask]))
            bad[mask] = True

    star = df["star_id"].astype(str)
    flag(star.isin(["", "nan"]), "star id is missing")
    odd = ~bad & ~np.char.isdecimal(star.to_numpy(dtype=str))      # what is not a plain number
    for sid in star[odd].unique():
        try:
            safe_id(sid, "star id")
            raise TargetError(f"star id {sid!r} is not a KIC or TIC number")
        except TargetError as exc:
            flag(star == sid, str(exc))
    flag(pd.to_numeric(df["tce_num"], errors="coerce").fillna(-1) < 0,
         "TCE number (tce_plnt_num) is missing or not a whole number")
    for col in ("period", "epoch", "duration", "depth"):
        value = pd.to_numeric(df[col], errors="coerce").astype(float)
        given = f"_given_{col}" if f"_given_{col}" in df.columns else col
        flag(~np.isfinite(value), lambda rows, c=col, g=given: (f"{c} is missing or not a number ({v!r})"
                                                                 for v in rows[g]))
    flag(df["period"] <= 0, lambda rows: (f"period is not positive ({v:g} d)" for v in rows["period"]))
    flag(df["duration"] <= 0, lambda rows: (f"duration is not positive ({v * 24:g} h)" for v in rows["duration"]))
    flag(df["duration"] >= df["period"],
         lambda rows: (f"duration is not shorter than the period ({d * 24:g} h against {p * 24:g} h)"
                       for d, p in zip(rows["duration"], rows["period"])))
    ok = pd.Series(~bad, index=df.index)
    shared = ok & df["tce_id"].where(ok).duplicated(keep=False)    # only these need comparing
    repeat = pd.Series(False, index=df.index)
    if shared.any():
        content = df[shared].drop(columns=["label"], errors="ignore").astype(str).agg("|".join, axis=1)
        repeat = shared & df.assign(_c=content.reindex(df.index)).duplicated(["tce_id", "_c"], keep="first")
    flag(repeat, "repeats an earlier identical row")
    ok = pd.Series(~bad, index=df.index)
    clash = ok & df["tce_id"].where(ok).duplicated(keep=False)
    counts = df.loc[clash, "tce_id"].value_counts().to_dict()
    flag(clash, lambda rows: (f"TCE id {t} appears in {counts[t]} rows with different values "
                              "(each star's tce_plnt_num must be unique); all are rejected" for t in rows["tce_id"]))
    rejected = df.loc[bad, ["tce_id", "star_id"]].copy()
    rejected["stage"] = "catalog"
    rejected["error"] = [f"{where}: {r}" for r in reasons[bad]]
    return df.loc[~bad].reset_index(drop=True), rejected.reset_index(drop=True)


def _refuse_if_empty(good: pd.DataFrame, rejected: pd.DataFrame, where: str) -> None:
    if len(good):
        return
    if not len(rejected):
        raise CatalogError(f"{where}: the table has no TCE rows (only a header?); give a table with rows")
    why = rejected.error.str.split(": ", n=1).str[-1].str.replace(r"\(.*\)", "(...)", regex=True).value_counts()
    summary = "; ".join(f"{n} x {reason}" for reason, n in why.head(3).items())
    raise CatalogError(f"{where}: none of its {len(rejected)} rows is a usable TCE ({summary}). Fix the table, or "
                       "its column mapping and units (catalog.columns, catalog.duration_unit); the first rejected "
                       f"rows: {', '.join(rejected.tce_id.astype(str).head(3))}")


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
    _refuse_if_empty(good, rejected, where)
    # np.lexsort on fixed-width strings: the stable order of sort_values(["star_id", "tce_num"]),
    # without pandas' object-column sort (0.5 s of the catalog step at 400,000 TCEs).
    good = good.iloc[np.lexsort((good["tce_num"].to_numpy(), good["star_id"].to_numpy(dtype=str)))]
    good = good.reset_index(drop=True)
    return good[TABLE_COLUMNS], rejected


def numeric_ids(values: pd.Series) -> pd.Series:
    """Archive star ids (KIC/TIC numbers, read as int or float) as strings; a value that is no
    whole number keeps its own text (so that the rejection names it), a missing one is ''."""
    numbers = pd.to_numeric(values, errors="coerce")
    whole = numbers.notna() & (numbers == np.floor(numbers))
    out = values.astype(str).str.strip().where(values.notna(), "").astype(object)
    small = whole & (numbers.abs() < 2**62)                      # vectorised; the rest one by one
    out[small] = numbers[small].astype(np.int64).astype(str)
    out[whole & ~small] = numbers[whole & ~small].map(lambda v: str(int(v)))
    return out


def tce_frame(raw: pd.DataFrame, fields: dict[str, str], star_id: pd.Series, tce_num: pd.Series, mission: str,
              disposition: pd.Series, *, duration_scale: float = 1 / 24, epoch_offset: float = 0.0,
              run: pd.Series | None = None) -> pd.DataFrame:
    """The normalized columns from a source table: ``fields`` names its period, epoch, duration
    and depth columns; ids are ``<star>_<num>``, or ``<star>_<run>_<num>`` when TCEs are per run."""
    num = lambda name: pd.to_numeric(raw[fields[name]], errors="coerce")  # noqa: E731
    middle = "_" if run is None else "_" + run.astype(str) + "_"
    frame = pd.DataFrame({
        "tce_id": star_id.astype(str) + middle + tce_num.astype(str),
        "star_id": star_id,
        "tce_num": tce_num,
        "mission": mission,
        "period": num("period"),
        "epoch": num("epoch") - epoch_offset,
        "duration": num("duration") * duration_scale,
        "depth": num("depth"),
        "disposition": disposition.fillna("UNK").astype(str).str.strip().replace({"nan": "UNK", "": "UNK"}),
    })
    for name in ("period", "epoch", "duration", "depth"):   # the source's own text, for rejection messages
        frame[f"_given_{name}"] = raw[fields[name]]
    return frame


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


def _csv_fields(values: pd.Series) -> list[str]:
    """A column's CSV fields as ``DataFrame.to_csv(float_format="%.10g")`` writes them: missing
    values empty, text quoted where it holds a comma or a quote; a run of line breaks inside a
    text (a hand-made table can hold one) becomes a space, so that every row is one line. A column
    at a time: 16 columns x 400,000 rows take 2.4 s here, pandas' to_csv 6.7 s."""
    if values.dtype.kind == "f":
        array = values.to_numpy()
        missing = np.isnan(array)
        if missing.all():
            return [""] * len(array)
        texts = list(map("{:.10g}".format, array.tolist()))
        for i in np.flatnonzero(missing):
            texts[i] = ""
        return texts
    if values.dtype.kind in "iub":
        return values.astype(str).tolist()
    texts = ["" if v is None or v != v else str(v) for v in values.tolist()]   # v != v: NaN
    joined = "".join(texts)
    if "\n" in joined or "\r" in joined:
        texts = [re.sub(r"[\r\n]+", " ", t) for t in texts]
    if "," in joined or '"' in joined:
        texts = ['"' + t.replace('"', '""') + '"' if ("," in t or '"' in t) else t for t in texts]
    return texts


def write_normalized(df: pd.DataFrame, path: str | Path) -> None:
    """The table as CSV, one line per row (shard assignment copies rows as lines), with the
    fields pandas' to_csv writes (tests/test_catalog.py compares the two)."""
    header = ",".join(_csv_fields(pd.Series(list(map(str, df.columns)), dtype=object)))
    columns = [_csv_fields(df[c]) for c in df.columns]
    with atomic_output(path, ".csv") as tmp:
        with open(tmp, "w", newline="") as fh:
            fh.write(header + "\n")
            fh.writelines(",".join(row) + "\n" for row in zip(*columns))


def read_normalized(path: str | Path) -> pd.DataFrame:
    df = pd.read_csv(path, dtype={"tce_id": str, "star_id": str, "mission": str,
                                  "disposition": str})
    require_columns(df, list(NORMALIZED_COLUMNS), str(path))
    df["disposition"] = df["disposition"].fillna("")
    return df

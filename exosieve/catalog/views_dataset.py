"""Bring-your-own views: an NPZ or HDF5 file of precomputed views (Astronet/ExoMiner-style
datasets) used in place of a catalog plus light curves.

Layout (all arrays share the first axis N, one entry per TCE):

- ``global_view`` (N, G) and ``local_view`` (N, L): required. Any other ``<name>_view`` array
  becomes the view array ``<name>`` (``odd_local_view``, ``secondary_view``, ``unfolded_view``
  (N, K, L), ...), so exominer gets every branch the file has.
- ``label``: the dispositions as strings, mapped by ``catalog.labels`` (anything else unlabelled).
- ``star_id``: groups the folds. Optional: ``tce_id`` (default ``<star_id>_<n>``), ``period``,
  ``epoch``, ``duration`` [d], ``depth`` [ppm].
- Scalar features: only the numeric 1-D arrays ``catalog.views_features`` names; every other
  array is ignored, so an id or a coded label in the file is never learned by accident.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..shards import ShardData
from ..utils import FAILURE_COLUMNS, TargetError, safe_id
from .table import STELLAR_COLUMNS, TABLE_COLUMNS, CatalogError, map_labels

REQUIRED = ("global_view", "local_view", "label", "star_id")
META = ("label", "star_id", "tce_id", "period", "epoch", "duration", "depth")


def _load_arrays(path: Path) -> dict[str, np.ndarray]:
    if not path.exists():
        raise CatalogError(f"views dataset {path} does not exist (catalog.path / evaluation.test_path)")
    try:
        if path.suffix.lower() == ".npz":
            with np.load(path, allow_pickle=False) as z:
                return {k: z[k] for k in z.files}
        import h5py
        with h5py.File(path, "r") as h5:
            out = {}
            for k, ds in h5.items():
                if isinstance(ds, h5py.Dataset):
                    out[k] = ds.asstr()[:] if ds.dtype.kind in "OS" else ds[:]
            return out
    except (OSError, ValueError) as exc:
        raise CatalogError(f"views dataset {path} cannot be read as NPZ or HDF5 ({exc})") from exc


def read_views_dataset(path: str | Path, labels: dict, features: list[str] = ()) -> ShardData:
    """The file as ShardData (meta with tce_id, star_id, disposition, label, ephemeris), with the
    arrays ``features`` names as its scalar features."""
    path = Path(path)
    arrays = _load_arrays(path)
    missing = [k for k in REQUIRED if k not in arrays]
    if missing:
        raise CatalogError(f"views dataset {path}: missing array(s) {', '.join(missing)}; it holds "
                           f"{', '.join(sorted(arrays))}")
    n = len(arrays["label"])
    wrong = [f"{k} {arrays[k].shape}" for k in arrays if arrays[k].shape[:1] != (n,)]
    if wrong:
        raise CatalogError(f"views dataset {path}: every array needs {n} rows like 'label'; "
                           f"these differ: {', '.join(wrong)}")
    star = np.array([str(s).strip() for s in arrays["star_id"]], dtype=object)
    for s in set(star):
        try:
            safe_id(s, "star id")
        except TargetError as exc:
            raise CatalogError(f"views dataset {path}: {exc}") from exc
    if "tce_id" in arrays:
        tce = np.array([str(t) for t in arrays["tce_id"]], dtype=object)
    else:
        tce = np.array([f"{s}_{k + 1}" for s, k in zip(star, pd.Series(star).groupby(star).cumcount())],
                       dtype=object)
    if len(set(tce)) != n:
        raise CatalogError(f"views dataset {path}: tce_id values are not unique")
    disp = pd.Series([str(v).strip() for v in arrays["label"]])
    meta = pd.DataFrame({"tce_id": tce, "star_id": star, "disposition": disp,
                         "label": map_labels(disp, labels["positive"], labels["negative"]).to_numpy()})
    for col in ("period", "epoch", "duration"):
        meta[col] = np.asarray(arrays[col], float) if col in arrays else np.nan
    views = {k[: -len("_view")]: np.asarray(v, np.float32) for k, v in arrays.items() if k.endswith("_view")}
    usable = sorted(k for k, v in arrays.items() if k not in META and not k.endswith("_view")
                    and v.ndim == 1 and v.dtype.kind in "fiub")
    unusable = [k for k in features if k not in usable]
    if unusable:
        raise CatalogError(f"views dataset {path}: catalog.views_features names {', '.join(unusable)}, which "
                           f"{'is' if len(unusable) == 1 else 'are'} not a numeric 1-D array of the file; "
                           f"the ones it has: {', '.join(usable) or 'none'}")
    scalar_names = list(features)
    scalars = np.column_stack([np.asarray(arrays[k], np.float32) for k in scalar_names]) if scalar_names \
        else np.zeros((n, 0), np.float32)
    bad = [k for k, v in views.items() if not np.isfinite(v).all()]
    if bad:
        raise CatalogError(f"views dataset {path}: view(s) {', '.join(bad)} hold NaN or infinite values")
    data = ShardData(meta=meta, views=views, scalars=scalars, scalar_names=scalar_names)
    data.attrs["depth"] = np.asarray(arrays["depth"], float) if "depth" in arrays else np.full(n, np.nan)
    return data


def views_catalog(path: str | Path, labels: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The normalized TCE table of a views dataset (ephemerides NaN where the file has none)."""
    data = read_views_dataset(path, labels)
    meta = data.meta
    table = pd.DataFrame({"tce_id": meta.tce_id, "star_id": meta.star_id,
                          "tce_num": meta.groupby("star_id").cumcount() + 1, "mission": "views",
                          "period": meta.period, "epoch": meta.epoch, "duration": meta.duration,
                          "depth": data.attrs["depth"], "disposition": meta.disposition,
                          "label": meta.label})
    for col in STELLAR_COLUMNS:
        table[col] = np.nan
    table = table.sort_values(["star_id", "tce_num"], kind="stable").reset_index(drop=True)
    return table[TABLE_COLUMNS], pd.DataFrame(
        columns=FAILURE_COLUMNS)


def write_views_shard(path: str | Path, targets_csv: str | Path, cfg: dict, shard: str, out_h5,
                      failures_csv) -> int:
    """The rows of one shard's TCEs, written as an ordinary ExoSieve shard (no preprocessing)."""
    from ..shards import provenance, write_shard
    from ..utils import atomic_output
    data = read_views_dataset(path, cfg["catalog"]["labels"], cfg["catalog"]["views_features"])
    wanted = pd.read_csv(targets_csv, dtype={"tce_id": str})["tce_id"]
    rows = np.flatnonzero(data.meta.tce_id.isin(set(wanted)).to_numpy())
    part = data.subset(rows)
    write_shard(out_h5, part, provenance(cfg, shard))
    with atomic_output(failures_csv, ".csv") as tmp:
        pd.DataFrame(columns=FAILURE_COLUMNS).to_csv(tmp, index=False)
    return len(part)

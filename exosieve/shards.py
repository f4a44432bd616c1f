"""Stars -> shards, and the HDF5 shard format.

Stars go to ``n_shards`` shards by a stable hash of the star id (never Python's salted ``hash``),
so a catalog update changes only the shards whose stars changed. Each shard is one HDF5 file:

=====================  ==============  ======================================================
path                   dtype, shape    meaning
=====================  ==============  ======================================================
``tce_id``             str (N,)        TCE id, ``<star_id>_<tce_num>``
``star_id``            str (N,)        star id
``disposition``        str (N,)        the source's label (PC, AFP, NTP, UNK, ...)
``label``              int8 (N,)       1 positive, 0 negative, -1 unlabelled
``ephemeris``          float64 (N, 3)  period [d], epoch [d], duration [d] (attrs ``columns``)
``views/<name>``       float32 (N,..)  one dataset per view array: ``global`` (N, 301),
                                       ``unfolded`` (N, K, L), ... (see exosieve/views.py)
``scalars``            float32 (N, F)  scalar features, names in attrs ``columns``
=====================  ==============  ======================================================

Root attributes: ``schema_version``, ``config_hash`` (hash of ``preprocessing``, the settings that
shaped the shard, as JSON), ``code_hash`` (of the code that shaped it, config.PREPROCESSING_CODE),
``source``, ``package_version``, ``shard``, ``n_tces`` and
``complete`` (written last). Files are written under a temporary name
and renamed, so a reader never sees a half-written shard; one without ``complete`` is refused.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from . import __version__
from .utils import atomic_output, write_text_if_changed

SCHEMA_VERSION = 2  # 2: diagnostic views (2D unfolded view), measured features
EPHEMERIS_COLUMNS = ["period", "epoch", "duration"]


class ShardError(RuntimeError):
    """A shard file is missing, truncated, corrupt, or of another schema or configuration."""


def provenance(cfg: dict, shard: str) -> dict:
    """The root attributes a shard built under ``cfg`` records about how it was made."""
    import json
    from .config import preprocessing_code_hash, preprocessing_hash, preprocessing_settings
    return {"config_hash": preprocessing_hash(cfg), "preprocessing": json.dumps(preprocessing_settings(cfg), sort_keys=True),
            "code_hash": preprocessing_code_hash(), "source": cfg["catalog"]["source"], "shard": shard,
            "exosieve_version": __version__}


def check_settings(attrs: dict, cfg: dict, where: str) -> None:
    """Refuse shards built under other preprocessing settings than ``cfg``'s, naming them."""
    import json
    from .config import preprocessing_mismatch
    if attrs.get("config_hash") is None:
        return
    recorded = json.loads(attrs["preprocessing"]) if "preprocessing" in attrs else None
    what = preprocessing_mismatch(attrs["config_hash"], recorded, cfg)
    if what is None:
        return
    raise ShardError(f"{where}: the shards were built with other preprocessing settings than this configuration's "
                     f"({what}). Rebuild them: snakemake --cores N --forcerun preprocess (or import_views)")


def shard_of(star_id: str, n_shards: int) -> int:
    digest = hashlib.blake2b(str(star_id).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % n_shards


def shard_names(n_shards: int) -> list[str]:
    width = max(3, len(str(n_shards - 1)))
    return [f"{i:0{width}d}" for i in range(n_shards)]


STARS_PER_SHARD = 400


def auto_shard_count(n_stars: int, stars_per_shard: int = STARS_PER_SHARD) -> int:
    """``shards: auto``: the power of two nearest to n_stars / stars_per_shard (200 to 570 stars
    a shard), at least 1. A power of two moves only when the catalog roughly doubles or halves:
    a new count reassigns every star, so it must not move with each catalog update."""
    if n_stars <= stars_per_shard:
        return 1
    return 2 ** int(round(np.log2(n_stars / stars_per_shard)))


def assign_shards(tces_csv: str | Path, n_shards: int | str, out_dir: str | Path) -> pd.DataFrame:
    """Write ``<out_dir>/<shard>.csv`` (the rows of ``tces_csv``, a normalized TCE table, that
    belong to each shard's stars, in (star_id, tce_num) order), rewriting a file only when its
    content changed; return a manifest with one row per shard. ``n_shards`` may be ``"auto"``
    (auto_shard_count). Rows are copied as text, never re-formatted: one pass, a few seconds for
    400,000 TCEs whatever the shard count."""
    path = Path(tces_csv)
    keys = pd.read_csv(path, usecols=["star_id", "tce_num"], dtype={"star_id": str})
    with open(path, newline="") as fh:
        header, *lines = fh.read().splitlines(keepends=True)
    if len(lines) != len(keys):   # write_normalized keeps every row on one line
        raise ShardError(f"{path}: {len(lines)} lines for {len(keys)} rows; a field spans lines. "
                         "Rebuild it: snakemake --forcerun catalog")
    n_shards = auto_shard_count(keys["star_id"].nunique()) if n_shards == "auto" else int(n_shards)
    hashed = {sid: shard_of(sid, n_shards) for sid in keys["star_id"].unique()}
    shard_idx = keys["star_id"].map(hashed).to_numpy()
    order = np.lexsort((keys["tce_num"].to_numpy(), keys["star_id"].to_numpy(dtype=str), shard_idx))
    bounds = np.searchsorted(shard_idx[order], np.arange(n_shards + 1))
    rows = []
    for i, name in enumerate(shard_names(n_shards)):
        part = order[bounds[i]:bounds[i + 1]]
        text = header + "".join(lines[j] for j in part)
        changed = write_text_if_changed(Path(out_dir) / f"{name}.csv", text)
        rows.append({"shard": name, "n_stars": keys["star_id"].iloc[part].nunique(), "n_tces": len(part),
                     "content_hash": hashlib.sha256(text.encode()).hexdigest()[:16],
                     "rewritten": changed})
    return pd.DataFrame(rows)


_MANIFESTS: dict[tuple[str, int], list[str]] = {}


def read_manifest_shards(manifest: str | Path) -> list[str]:
    """The shard names an assign_shards manifest lists (read once per version of the file:
    Snakemake asks for them once per job that takes every shard)."""
    path = Path(manifest)
    key = (str(path), path.stat().st_mtime_ns)
    if key not in _MANIFESTS:
        _MANIFESTS[key] = pd.read_csv(path, dtype={"shard": str}, usecols=["shard"])["shard"].tolist()
    return _MANIFESTS[key]


@dataclass
class ShardData:
    """The contents of one or more shards, concatenated."""
    meta: pd.DataFrame                          # tce_id, star_id, disposition, label, ephemeris
    views: dict[str, np.ndarray] = field(default_factory=dict)
    scalars: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    scalar_names: list[str] = field(default_factory=list)
    attrs: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.meta)

    def subset(self, index: np.ndarray) -> "ShardData":
        return ShardData(meta=self.meta.iloc[index].reset_index(drop=True),
                         views={k: v[index] for k, v in self.views.items()},
                         scalars=self.scalars[index], scalar_names=self.scalar_names,
                         attrs=self.attrs)


def _strings(values) -> np.ndarray:
    return np.array([str(v).encode() for v in values], dtype=h5py.string_dtype("utf-8"))


def write_shard(path: str | Path, data: ShardData, attrs: dict) -> None:
    n = len(data)
    with atomic_output(path, ".h5") as tmp:
        # track_times=False: identical inputs give byte-identical shards.
        with h5py.File(tmp, "w", track_order=True) as h5:
            kw = dict(track_times=False)
            h5.create_dataset("tce_id", data=_strings(data.meta["tce_id"]), **kw)
            h5.create_dataset("star_id", data=_strings(data.meta["star_id"]), **kw)
            h5.create_dataset("disposition", data=_strings(data.meta["disposition"]), **kw)
            h5.create_dataset("label", data=data.meta["label"].to_numpy(np.int8), **kw)
            eph = h5.create_dataset("ephemeris", data=data.meta[EPHEMERIS_COLUMNS].to_numpy(np.float64)
                                    .reshape(n, len(EPHEMERIS_COLUMNS)), **kw)
            eph.attrs["columns"] = EPHEMERIS_COLUMNS
            views = h5.create_group("views", track_order=True)
            for name, arr in data.views.items():
                views.create_dataset(name, data=np.asarray(arr, np.float32), **kw)
            sc = h5.create_dataset("scalars", data=np.asarray(data.scalars, np.float32)
                                   .reshape(n, len(data.scalar_names)), **kw)
            sc.attrs["columns"] = list(data.scalar_names)
            for key, value in attrs.items():
                h5.attrs[key] = value
            h5.attrs["schema_version"] = SCHEMA_VERSION
            h5.attrs["package_version"] = __version__
            h5.attrs["n_tces"] = n
            h5.attrs["complete"] = True


def read_shard(path: str | Path, views: list[str] | None = None) -> ShardData:
    path = Path(path)
    if not path.exists():
        raise ShardError(f"shard {path} does not exist; run the workflow's preprocess step")
    try:
        with h5py.File(path, "r") as h5:
            attrs = dict(h5.attrs)
            if not attrs.get("complete", False):
                raise ShardError(f"shard {path} is incomplete (no 'complete' mark); it was not "
                                 "written to the end. Delete it and rerun the workflow.")
            if attrs.get("schema_version") != SCHEMA_VERSION:
                raise ShardError(f"shard {path} has schema version {attrs.get('schema_version')}, "
                                 f"this ExoSieve reads version {SCHEMA_VERSION}; rebuild it")
            n = int(attrs["n_tces"])
            meta = pd.DataFrame({
                "tce_id": h5["tce_id"].asstr()[:], "star_id": h5["star_id"].asstr()[:],
                "disposition": h5["disposition"].asstr()[:], "label": h5["label"][:],
            })
            eph = h5["ephemeris"][:]
            for j, col in enumerate(EPHEMERIS_COLUMNS):
                meta[col] = eph[:, j] if n else np.zeros(0)
            names = list(h5["views"].keys()) if views is None else views
            missing = [v for v in names if v not in h5["views"]]
            if missing:
                raise ShardError(f"shard {path} has no view(s) {', '.join(missing)}; it holds "
                                 f"{', '.join(h5['views'].keys())}. Rerun preprocessing.")
            view_data = {v: h5["views"][v][:] for v in names}
            scalars = h5["scalars"][:]
            scalar_names = [str(s) for s in h5["scalars"].attrs["columns"]]
    except ShardError:
        raise
    except (OSError, KeyError, ValueError) as exc:
        raise ShardError(f"shard {path} is corrupt or truncated ({type(exc).__name__}: {exc}); "
                         "delete it and rerun the workflow") from exc
    lengths = {len(meta), scalars.shape[0], *(v.shape[0] for v in view_data.values())}
    if lengths != {n}:
        raise ShardError(f"shard {path} is inconsistent: datasets hold {sorted(lengths)} rows, "
                         f"attrs say {n}")
    return ShardData(meta=meta, views=view_data, scalars=scalars, scalar_names=scalar_names,
                     attrs=attrs)


def view_shapes(path: str | Path) -> dict[str, tuple[int, ...]]:
    """Per-TCE shape of every view array in a shard, e.g. {"global": (301,), "unfolded": (8, 31)}."""
    try:
        with h5py.File(path, "r") as h5:
            return {name: tuple(ds.shape[1:]) for name, ds in h5["views"].items()}
    except (OSError, KeyError) as exc:
        raise ShardError(f"shard {path} is unreadable ({exc}); delete it and rerun the workflow") from exc


def read_shards(paths: list[str | Path], views: list[str] | None = None) -> ShardData:
    """Read and concatenate shards, rows in TCE-id order; all must share schema and preprocessing config."""
    parts = [read_shard(p, views) for p in paths]
    hashes = {p.attrs.get("config_hash") for p in parts if len(p)}
    if len(hashes) > 1:
        raise ShardError(f"shards were built with different preprocessing settings {sorted(hashes)}; "
                         "rerun the workflow so that all are rebuilt")
    names = next((p.scalar_names for p in parts if p.scalar_names), [])
    view_names = views if views is not None else next((list(p.views) for p in parts if len(p)), [])
    meta = pd.concat([p.meta for p in parts], ignore_index=True)
    # In TCE-id order, whatever the shard count: training and scores must not depend on how the
    # stars were split into shards (shards: auto changes the count as the catalog grows). Each
    # array is reordered as it is joined, so only one array at a time exists twice.
    order = np.argsort(meta["tce_id"].to_numpy(dtype=str), kind="stable")
    filled = [p for p in parts if len(p)]

    def joined(arrays: list[np.ndarray], empty: np.ndarray) -> np.ndarray:
        return np.concatenate(arrays)[order] if filled else empty

    return ShardData(
        meta=meta.iloc[order].reset_index(drop=True),
        views={v: joined([p.views[v] for p in filled], np.zeros((0, 0), np.float32)) for v in view_names},
        scalars=joined([p.scalars for p in filled], np.zeros((0, len(names)), np.float32)),
        scalar_names=names,
        attrs=parts[0].attrs if parts else {},
    )


def failure_manifest(shard_path: str | Path) -> Path:
    """The failure manifest the preprocess rule writes beside a shard: ``NNN.h5`` -> ``NNN.failures.csv``."""
    path = Path(shard_path)
    return path.with_name(path.stem + ".failures.csv")


def read_failure_manifests(shard_paths: list[str | Path]) -> pd.DataFrame:
    """Every TCE failure recorded beside these shards (skipped files, which cost no TCE, left out)."""
    parts = [pd.read_csv(m, dtype=str).fillna("") for m in map(failure_manifest, shard_paths)
             if m.exists() and m.stat().st_size > 0]
    df = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["tce_id", "star_id", "stage", "error"])
    return df[df.tce_id != ""].reset_index(drop=True)


def read_tces(paths: list[str | Path], tce_ids: list[str]) -> ShardData:
    """Only the rows of the given TCEs (any order, missing ones skipped), every view array."""
    wanted = set(tce_ids)
    parts = []
    for path in paths:
        with h5py.File(path, "r") as h5:
            ids = h5["tce_id"].asstr()[:]
        rows = np.flatnonzero(np.isin(ids, list(wanted)))
        if rows.size:
            parts.append(read_shard(path).subset(rows))
    if not parts:
        return ShardData(meta=pd.DataFrame(columns=["tce_id"]))
    return ShardData(meta=pd.concat([p.meta for p in parts], ignore_index=True),
                     views={v: np.concatenate([p.views[v] for p in parts]) for v in parts[0].views},
                     scalars=np.concatenate([p.scalars for p in parts]), scalar_names=parts[0].scalar_names)

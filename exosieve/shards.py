"""Stars -> shards, and the HDF5 shard format.

Stars go to ``n_shards`` shards by a stable hash of the star id (never Python's salted ``hash``),
so a catalog update changes only the shards whose stars changed. Each shard is one HDF5 file:

=====================  ==============  ======================================================
path                   dtype, shape    meaning
=====================  ==============  ======================================================
``tce_id``             str (N,)        TCE id, ``<star_id>_<tce_num>``
``star_id``            str (N,)        star id
``input_digest``       str (N,)        digest of the star's catalog rows and light-curve files
                                       (preprocess.star_digest): a rerun keeps the rows of
                                       stars whose digest is unchanged instead of redoing them
``ephemeris``          float64 (N, 3)  period [d], epoch [d], duration [d] (attrs ``columns``)
``flag``               str (N,)        why a TCE's score is not to be trusted (empty when
                                       nothing is wrong): its transit did not reach its views
                                       (preprocess.transit_flag). Optional: a shard written
                                       before it existed reads as unflagged
``missing``            str (N,)        view arrays the light curve had no data for, comma-
                                       separated (centroid_global,centroid_local for a TGLC
                                       light curve, which has no centroids): scored as each
                                       model's occlusion value (evaluation.read_as_missing).
                                       Optional: written only when a row has one
``views/<name>``       float32 (N,..)  one dataset per view array: ``global`` (N, 301),
                                       ``unfolded`` (N, K, L), ... (see exosieve/views.py)
``scalars``            float32 (N, F)  scalar features, names in attrs ``columns``
=====================  ==============  ======================================================

Root attributes: ``schema_version``, ``config_hash`` (hash of ``preprocessing``, the settings that
shaped the shard, as JSON), ``code_hash`` (of the code that shaped it: config.preprocessing_code_hash),
``source``, ``package_version``, ``shard``, ``n_tces`` and
``complete`` (written last). Files are written under a temporary name
and renamed, so a reader never sees a half-written shard; one without ``complete`` is refused.

A shard holds no labels: they come from the catalog (the folds table) when a model trains or is
scored, so a new label mapping or a relabelled TCE retrains without preprocessing anything.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from . import __version__
from .catalog.table import LABEL_COLUMNS
from .utils import atomic_output, write_text_if_changed

# 2: diagnostic views (2D unfolded view), measured features; 3: labels left to the catalog,
# per-star input digests
SCHEMA_VERSION = 3
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
    return int(shards_of([star_id], n_shards)[0])


def shards_of(star_ids, n_shards: int) -> np.ndarray:
    """Each star's shard: a stable hash of its id (blake2b, not Python's salted hash()), so a star
    stays in its shard from run to run and machine to machine."""
    blake2b = hashlib.blake2b
    digests = b"".join([blake2b(str(s).encode(), digest_size=8).digest() for s in star_ids])
    return (np.frombuffer(digests, ">u8") % np.uint64(n_shards)).astype(np.int64)


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


def _without_columns(header: str, lines: list[str], drop: tuple[str, ...]) -> tuple[str, list[str]]:
    """``header`` and CSV ``lines`` without the columns named in ``drop``; fields are copied as
    text, never re-formatted. When they are the last columns (the normalized table's layout) and
    no line holds a quote, each line is cut before its last fields; otherwise line by line, through
    the csv module where a line holds a quote."""
    import csv
    import io
    names = next(csv.reader([header]))
    gone = [i for i, name in enumerate(names) if name in drop]
    if not gone:
        return header, lines
    keep = [i for i in range(len(names)) if i not in gone]
    n = len(gone)
    if gone == list(range(len(names) - n, len(names))) and not any('"' in line for line in lines):
        return (header.rstrip("\r\n").rsplit(",", n)[0] + "\n",
                [line.rsplit(",", n)[0] + "\n" for line in lines])

    def cut(line: str) -> str:
        if '"' not in line:
            fields = line.rstrip("\r\n").split(",")
            return ",".join(fields[i] for i in keep) + "\n"
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerow([f for i, f in enumerate(next(csv.reader([line]))) if i in keep])
        return out.getvalue()

    return cut(header), [cut(line) for line in lines]


def assign_shards(tces_csv: str | Path, n_shards: int | str, out_dir: str | Path) -> pd.DataFrame:
    """Write ``<out_dir>/<shard>.csv`` (the rows of ``tces_csv``, a normalized TCE table, that
    belong to each shard's stars, in (star_id, tce_num) order, without LABEL_COLUMNS), rewriting a
    file only when its content changed; return a manifest with one row per shard. ``n_shards`` may
    be ``"auto"`` (auto_shard_count). Rows are copied as text, never re-formatted: one pass, a few
    seconds for 400,000 TCEs whatever the shard count."""
    path = Path(tces_csv)
    keys = pd.read_csv(path, usecols=["star_id", "tce_num"], dtype={"star_id": str})
    with open(path, newline="") as fh:
        header, *lines = fh.read().splitlines(keepends=True)
    if len(lines) != len(keys):   # write_normalized keeps every row on one line
        raise ShardError(f"{path}: {len(lines)} lines for {len(keys)} rows; a field spans lines. "
                         "Rebuild it: snakemake --forcerun catalog")
    header, lines = _without_columns(header, lines, LABEL_COLUMNS)
    star_code, stars = pd.factorize(keys["star_id"])
    n_shards = auto_shard_count(len(stars)) if n_shards == "auto" else int(n_shards)
    star_shard = shards_of(stars, n_shards)
    shard_idx = star_shard[star_code]
    order = np.lexsort((keys["tce_num"].to_numpy(), keys["star_id"].to_numpy(dtype=str), shard_idx))
    bounds = np.searchsorted(shard_idx[order], np.arange(n_shards + 1))
    stars_per_shard = np.bincount(star_shard, minlength=n_shards)
    rows = []
    for i, name in enumerate(shard_names(n_shards)):
        part = order[bounds[i]:bounds[i + 1]].tolist()
        text = header + "".join([lines[j] for j in part])
        changed = write_text_if_changed(Path(out_dir) / f"{name}.csv", text)
        rows.append({"shard": name, "n_stars": int(stars_per_shard[i]), "n_tces": len(part),
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
    """TCEs with their view arrays in memory: a shard being written, or rows read from shards."""
    meta: pd.DataFrame                          # tce_id, star_id, ephemeris (and label where known)
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

    @staticmethod
    def concat(parts: list["ShardData"]) -> "ShardData":
        """Rows of ``parts`` one after the other (all with the same arrays and scalar names)."""
        filled = [p for p in parts if len(p)] or parts[:1]
        first = filled[0]
        return ShardData(meta=pd.concat([p.meta for p in filled], ignore_index=True),
                         views={v: np.concatenate([p.views[v] for p in filled]) for v in first.views},
                         scalars=np.concatenate([p.scalars for p in filled]), scalar_names=first.scalar_names,
                         attrs=first.attrs)


def _strings(values) -> np.ndarray:
    return np.array([str(v).encode() for v in values], dtype=h5py.string_dtype("utf-8"))


def write_shard(path: str | Path, data: ShardData, attrs: dict) -> None:
    n = len(data)
    digests = data.meta["input_digest"] if "input_digest" in data.meta else [""] * n
    with atomic_output(path, ".h5") as tmp:
        # track_times=False: identical inputs give byte-identical shards.
        with h5py.File(tmp, "w", track_order=True) as h5:
            kw = dict(track_times=False)
            h5.create_dataset("tce_id", data=_strings(data.meta["tce_id"]), **kw)
            h5.create_dataset("star_id", data=_strings(data.meta["star_id"]), **kw)
            h5.create_dataset("input_digest", data=_strings(digests), **kw)
            flags = data.meta["flag"].fillna("") if "flag" in data.meta else [""] * n
            h5.create_dataset("flag", data=_strings(flags), **kw)
            if "missing" in data.meta and (data.meta["missing"].fillna("") != "").any():
                h5.create_dataset("missing", data=_strings(data.meta["missing"].fillna("")), **kw)
            eph = h5.create_dataset("ephemeris", data=data.meta[EPHEMERIS_COLUMNS].to_numpy(np.float64)
                                    .reshape(n, len(EPHEMERIS_COLUMNS)), **kw)
            eph.attrs["columns"] = EPHEMERIS_COLUMNS
            views = h5.create_group("views", track_order=True)
            for name, arr in data.views.items():
                # Contiguous and uncompressed: a training batch reads its rows straight from disk.
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


def _corrupt(path: Path, exc: Exception) -> ShardError:
    return ShardError(f"shard {path} is corrupt or truncated ({type(exc).__name__}: {exc}); "
                      "delete it and rerun the workflow")


def _checked_attrs(h5: h5py.File, path: Path) -> dict:
    """An open shard's attributes, once it is known to be complete and of this schema."""
    attrs = dict(h5.attrs)
    if not attrs.get("complete", False):
        raise ShardError(f"shard {path} is incomplete (no 'complete' mark); it was not "
                         "written to the end. Delete it and rerun the workflow.")
    if attrs.get("schema_version") != SCHEMA_VERSION:
        raise ShardError(f"shard {path} has schema version {attrs.get('schema_version')}, "
                         f"this ExoSieve reads version {SCHEMA_VERSION}; rebuild it")
    return attrs


def _read_index(path: Path, views: list[str] | None):
    """(attrs, meta, scalars, scalar names, {view: per-TCE shape}) of one shard, every check made;
    the view arrays themselves are not read."""
    if not path.exists():
        raise ShardError(f"shard {path} does not exist; run the workflow's preprocess step")
    try:
        with h5py.File(path, "r") as h5:
            attrs = _checked_attrs(h5, path)
            n = int(attrs["n_tces"])
            meta = pd.DataFrame({"tce_id": h5["tce_id"].asstr()[:], "star_id": h5["star_id"].asstr()[:],
                                 "input_digest": h5["input_digest"].asstr()[:],
                                 "flag": h5["flag"].asstr()[:] if "flag" in h5 else np.full(n, "", object)})
            if "missing" in h5:
                meta["missing"] = h5["missing"].asstr()[:]
            eph = h5["ephemeris"][:]
            for j, col in enumerate(EPHEMERIS_COLUMNS):
                meta[col] = eph[:, j] if n else np.zeros(0)
            names = list(h5["views"].keys()) if views is None else list(views)
            missing = [v for v in names if v not in h5["views"]]
            if missing:
                raise ShardError(f"shard {path} has no view(s) {', '.join(missing)}; it holds "
                                 f"{', '.join(h5['views'].keys())}. Rerun preprocessing.")
            shapes = {v: h5["views"][v].shape for v in names}
            scalars = h5["scalars"][:]
            scalar_names = [str(s) for s in h5["scalars"].attrs["columns"]]
    except ShardError:
        raise
    except (OSError, KeyError, ValueError) as exc:
        raise _corrupt(path, exc) from exc
    lengths = {len(meta), scalars.shape[0], *(s[0] for s in shapes.values())}
    if lengths != {n}:
        raise ShardError(f"shard {path} is inconsistent: datasets hold {sorted(lengths)} rows, "
                         f"attrs say {n}")
    return attrs, meta, scalars, scalar_names, {v: tuple(s[1:]) for v, s in shapes.items()}


class ShardSet:
    """Every TCE of some shards: ids, ephemerides and scalar features in memory (about a hundred
    bytes a TCE), view arrays read from disk only for the rows asked for, so that training and
    scoring hold a batch of views at a time, not the catalog's.

    Rows are in TCE-id order whatever the shard count: training and scores must not depend on how
    the stars were split into shards (``shards: auto`` changes the count as the catalog grows).
    All shards must share schema and preprocessing settings. Use as a context manager, or call
    ``close``: the HDF5 files stay open between reads.
    """

    def __init__(self, paths: list[str | Path], views: list[str] | None = None):
        self.paths = [Path(p) for p in paths]
        parts = [_read_index(p, views) for p in self.paths]
        hashes = {attrs.get("config_hash") for attrs, meta, *_ in parts if len(meta)}
        if len(hashes) > 1:
            raise ShardError(f"shards were built with different preprocessing settings {sorted(hashes)}; "
                             "rerun the workflow so that all are rebuilt")
        filled = [p for p in parts if len(p[1])]
        self.attrs = parts[0][0] if parts else {}
        self.scalar_names = next((p[3] for p in parts if p[3]), [])
        self.view_shapes = filled[0][4] if filled else (parts[0][4] if parts else {})
        self.view_names = list(self.view_shapes)
        meta = pd.concat([p[1] for p in parts], ignore_index=True) if parts else pd.DataFrame(
            columns=["tce_id", "star_id", "input_digest", "flag", *EPHEMERIS_COLUMNS])
        shard = np.repeat(np.arange(len(parts)), [len(p[1]) for p in parts])
        row = np.concatenate([np.arange(len(p[1])) for p in parts]) if parts else np.zeros(0, int)
        order = np.argsort(meta["tce_id"].to_numpy(dtype=str), kind="stable")
        self.meta = meta.iloc[order].reset_index(drop=True)
        self._shard, self._row = shard[order], row[order]
        self.scalars = (np.concatenate([p[2] for p in filled])[order] if filled
                        else np.zeros((0, len(self.scalar_names)), np.float32))
        self._files: dict[int, h5py.File] = {}

    def __len__(self) -> int:
        return len(self.meta)

    def __enter__(self) -> "ShardSet":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        for h5 in self._files.values():
            h5.close()
        self._files.clear()

    def bytes_per_tce(self, names: list[str] | None = None) -> int:
        names = self.view_names if names is None else names
        return 4 * sum(int(np.prod(self.view_shapes[n])) for n in names)

    def views_of(self, index: np.ndarray, names: list[str] | None = None) -> dict[str, np.ndarray]:
        """The view arrays of the rows at ``index`` (positions in ``meta``, any order, repeats
        allowed), read shard by shard."""
        names = self.view_names if names is None else list(names)
        index = np.asarray(index, dtype=np.int64)
        out = {n: np.empty((index.size, *self.view_shapes[n]), np.float32) for n in names}
        shard, row = self._shard[index], self._row[index]
        order = np.lexsort((row, shard))
        for part in np.split(order, np.flatnonzero(np.diff(shard[order])) + 1):
            if not part.size:
                continue
            k, rows = int(shard[part[0]]), row[part]          # rows ascending
            if rows[-1] + 1 - rows[0] <= 8 * rows.size:        # dense: one contiguous read is cheapest
                sel, take = slice(int(rows[0]), int(rows[-1]) + 1), rows - rows[0]
            else:                                              # sparse: read only those rows
                sel = np.unique(rows)
                take = np.searchsorted(sel, rows)
            try:
                views = self._open(k)["views"]
                for n in names:
                    out[n][part] = views[n][sel][take]
            except (OSError, KeyError, ValueError) as exc:
                raise _corrupt(self.paths[k], exc) from exc
        return out

    def read(self, index: np.ndarray | None = None, names: list[str] | None = None) -> ShardData:
        """The rows at ``index`` (default: all) with their view arrays, in memory."""
        index = np.arange(len(self)) if index is None else np.asarray(index, dtype=np.int64)
        meta = self.meta.iloc[index].drop(columns="input_digest").reset_index(drop=True)
        return ShardData(meta=meta, views=self.views_of(index, names), scalars=self.scalars[index],
                         scalar_names=self.scalar_names, attrs=self.attrs)

    def chunks(self, index: np.ndarray, size: int = 4096, names: list[str] | None = None):
        """(rows, ``read(rows, names)``) in pieces of at most ``size`` rows of ``index``: memory
        stays that of one piece."""
        index = np.asarray(index, dtype=np.int64)
        for start in range(0, index.size, size):
            rows = index[start:start + size]
            yield rows, self.read(rows, names)

    def _open(self, k: int) -> h5py.File:
        if k not in self._files:
            self._files[k] = h5py.File(self.paths[k], "r")
        return self._files[k]


def read_shards(paths: list[str | Path], views: list[str] | None = None) -> ShardData:
    """Every row of these shards with its views, in memory, in TCE-id order."""
    with ShardSet(paths, views) as shards:
        return shards.read()


def read_shard(path: str | Path, views: list[str] | None = None) -> ShardData:
    return read_shards([path], views)


def view_shapes(path: str | Path) -> dict[str, tuple[int, ...]]:
    """Per-TCE shape of every view array in a shard, e.g. {"global": (301,), "unfolded": (8, 31)}."""
    try:
        with h5py.File(path, "r") as h5:
            return {name: tuple(ds.shape[1:]) for name, ds in h5["views"].items()}
    except (OSError, KeyError) as exc:
        raise ShardError(f"shard {path} is unreadable ({exc}); delete it and rerun the workflow") from exc


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


def write_shard_list(shard_paths: list[str | Path], out: str | Path) -> pd.DataFrame:
    """The run's built shards, one row each (path, TCEs, bytes): the one file that training (with
    its fold's scoring) and the report take as input instead of every shard.

    Why a file: a job listing all N shards costs Snakemake a walk of N dependencies each time the
    DAG is updated after the shard-assignment checkpoint; 41 such jobs (train, evaluate, report)
    made the dry run of a 200,000-star catalog O(jobs x shards). Only the shard_list rule lists
    them now."""
    rows = []
    for path in map(Path, shard_paths):
        try:
            with h5py.File(path, "r") as h5:
                n = int(_checked_attrs(h5, path)["n_tces"])
        except (OSError, KeyError) as exc:
            raise _corrupt(path, exc) from exc
        rows.append({"shard": str(path), "n_tces": n, "bytes": path.stat().st_size})
    table = pd.DataFrame(rows, columns=["shard", "n_tces", "bytes"])
    with atomic_output(out, ".csv") as tmp:
        table.to_csv(tmp, index=False)
    return table


def read_shard_list(path: str | Path) -> list[str]:
    """The shard paths a write_shard_list file names."""
    return pd.read_csv(path, dtype={"shard": str}, usecols=["shard"])["shard"].tolist()


def read_tces(paths: list[str | Path], tce_ids: list[str]) -> ShardData:
    """Only the rows of the given TCEs (missing ones skipped), every view array."""
    with ShardSet(paths) as shards:
        return shards.read(np.flatnonzero(shards.meta["tce_id"].isin(set(tce_ids)).to_numpy()))

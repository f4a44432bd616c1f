"""Bring-your-own views: precomputed views (Astronet/ExoMiner/DART-Vetter-style datasets) used in
place of a catalog plus light curves.

``catalog.path`` is one of:

- a TFRecord file of ``tf.train.Example`` records (``tfrecord.py``; no TensorFlow needed), plain
  or gzip/zlib-compressed as TensorFlow's writer options make them (told from the content), a glob
  of them (``data/train-*``), or a folder whose TFRecord files are read in natural name order
  (other files in it, such as a CSV or a LICENSE, are passed over);
- an NPZ or HDF5 file of arrays that share their first axis, one entry per TCE.

Which feature (or array) holds what is ``catalog.views_keys``; each key left null takes the first
of its defaults that the file has, so Astronet's DR24 layout (``kepid``, ``tce_plnt_num``,
``av_training_set``), DART-Vetter's (``tic`` = the kepid) and Yu et al.'s TESS layout (``tic_id``,
``Disposition``, ``Period``, ``Epoc``, ``Duration`` in days) read as they are:

=============  =====================================================  ==========================
field          defaults, first found                                  meaning
=============  =====================================================  ==========================
star_id        star_id, kepid, tic_id, tic                            groups the folds (required)
label          label, av_training_set, disposition, Disposition       mapped by catalog.labels
tce_num        tce_num, tce_plnt_num                                  else numbered per star in
                                                                      file order
tce_id         tce_id                                                 else <star_id>_<tce_num>
period         period, tce_period, Period                             [d]
epoch          epoch, tce_time0bk, tce_time0bt, Epoc                  [d, mission time]
duration       duration, Duration (days); tce_duration (hours)        [d]
depth          depth, tce_depth, Transit Depth                        [ppm]
=============  =====================================================  ==========================

Views: every ``<name>_view`` feature becomes the view array ``<name>`` (``global_view`` ->
``global``, ``odd_local_view``, ``unfolded_view`` (N, K, L), ...), or as ``views_keys.views``
maps them; ``global`` and ``local`` are required. Scalar features are only the numeric single
values that ``catalog.views_features`` names, so an id, a row number or a coded label is never
learned by accident.

Labels (strings or integers, both matched as text) map through ``catalog.labels``: a value in
``positive`` or ``negative`` trains; one in ``unlabelled`` is scored but never trained on; any
other is rejected. With ``catalog.labels_path`` (a TOI table), each record's disposition is
instead its TOI's (``catalog.toi_labels``): matched by TIC id and ephemeris as SPOC TCEs are, at
the same period or a harmonic, else the star's only TOI. One bad record never stops the rest: a record whose views hold NaN or infinite
values or have another length than the dataset's, whose label maps to nothing, whose star id is
missing or unsafe, or whose protobuf does not parse goes to ``rejected.csv`` with its reason and
place (file and byte offset). Records of one star that repeat an earlier record exactly, or as its
mirror image (every view reversed: an augmentation some datasets bake in, as DART-Vetter's does
for every PC), are dropped by default (``catalog.drop_repeats``), listed with stage ``repeat``
and counted in the log and the report: a copy in another fold than its original inflates every
metric. A TFRecord file whose framing is broken (a CRC that does not match, a truncated record)
is refused as a whole, naming the file and byte offset.

Damaged records are found, not learned. A views dataset made with a sigma clip before folding
(DART-Vetter's DR24 views: a two-sided, iterative 3-sigma clip) loses the in-transit cadences of
deep transits, and a record may keep its label but no transit. Every record that is otherwise
kept is checked in its global and local flux views (normalised with the out-of-transit level 0 and
the minimum -1, or in ExoSieve's own scale where the local depth is -1: the check uses neither
scale, only the view's own noise and deepest point). A view has lost its transit when both hold:

- no dip at the transit: the centre (local view: bins within half a duration of the centre, the
  view spanning +-2.5 durations as DART-Vetter's and ExoSieve's do; global view: the bins within
  the transit's half width, duration / period of the orbit where the dataset gives both, else the
  centre bin and its neighbours) is not at least 2 noise (1.4826 x the MAD of the bins beyond one
  duration, or 3 global bins, from the centre) below the out-of-transit median, or not at least
  0.2 of the view's deepest point (the local view's centre mean, the global view's lowest centre
  bin, as the transit may fill one global bin); and
- its cadences are gone: more than a third of the centre bins are empty, i.e. hold exactly the
  value of a neighbour or the line through both neighbours (an empty bin filled by interpolation
  or with a constant, to float32 rounding, which real flux never does), and at least twice the
  share of empty bins beyond the transit (a sparse light curve empties bins everywhere).

The second condition is what tells damage from information: an NTP or a false alarm often has no
dip at the centre because there is no transit there, but then its centre bins hold flux. The
dataset's depth is not used to decide, only to count: on the DR24 records, "no dip although the
DR24 depth is 3,000 ppm or more" would add 78 AFPs and 52 NTPs whose centre bins hold flux (variable
stars, junk TCEs: the absence is their label's evidence) for 2 PCs. The second condition also
keeps a sparse or synthetic view that is flat everywhere. A dataset whose transits point up
(most records whose local centre stands out stand above the level, as some published views do)
is read upside down, with a warning. A damaged record goes to rejected.csv with stage
``damaged`` and the reason (which view, its centre level in noise units, where its deepest bin
is, how many centre bins are empty), unless ``catalog.keep_damaged`` keeps it; the log and the
report count them per depth band (DEPTH_BANDS, 'unknown' where the dataset gives no depth: then
the rule is the same, as it needs no depth). On DART-Vetter's DR24 records (depths from the DR24
TCE table, benchmarks/dr24_views.py) it flags PCs 0 of 1,430 below 300 ppm, 5 of 1,426 at
300-1,000, 5 of 453 at 1,000-3,000, 34 of 188 at 3,000-10,000 and 12 of 103 above; AFPs 2 of
6,646, 1 of 928, 4 of 385, 10 of 331 and 281 of 1,305 (deep eclipsing binaries whose primary
eclipse the clip erased); NTPs 9 of 2,045, 20 of 300, 11 of 119, 1 of 34 and 6 of 43.
"""

from __future__ import annotations

import glob
import hashlib
import logging
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..shards import ShardData
from ..utils import FAILURE_COLUMNS, TargetError, atomic_output, damage_reason, safe_id
from .table import STELLAR_COLUMNS, TABLE_COLUMNS, CatalogError, map_labels

log = logging.getLogger(__name__)

DEFAULT_KEYS: dict[str, tuple[tuple[str, float], ...]] = {
    "star_id": (("star_id", 1), ("kepid", 1), ("tic_id", 1), ("tic", 1)),
    "label": (("label", 1), ("av_training_set", 1), ("disposition", 1), ("Disposition", 1)),
    "tce_num": (("tce_num", 1), ("tce_plnt_num", 1)),
    "tce_id": (("tce_id", 1),),
    "period": (("period", 1), ("tce_period", 1), ("Period", 1)),
    "epoch": (("epoch", 1), ("tce_time0bk", 1), ("tce_time0bt", 1), ("Epoc", 1)),
    "duration": (("duration", 1), ("Duration", 1), ("tce_duration", 1 / 24)),
    "depth": (("depth", 1), ("tce_depth", 1), ("Transit Depth", 1)),
}
REQUIRED_FIELDS = ("star_id", "label")
REQUIRED_VIEWS = ("global", "local")
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
REPEAT_STAGE = "repeat"
DAMAGED_STAGE = "damaged"
# Damage check (see the module docstring; thresholds measured on DART-Vetter's DR24 records).
LOCAL_HALF_WIDTH = 2.5    # durations either side of the centre in the local view (DART-Vetter, ExoSieve)
DIP_SIGMA = 2.0           # a dip: centre this many out-of-transit noise below the out-of-transit level ...
DIP_SHARE = 0.2           # ... and at least this share of the view's deepest point
EMPTY_SHARE = 1 / 3       # cadences lost: more than this share of the centre bins empty (and twice the share outside)
FLAT_TOL = 1e-5           # an empty bin's value: on its neighbours' line or equal to one, to float32 rounding
DEPTH_BANDS = ((300, "<300"), (1000, "300-1000"), (3000, "1000-3000"), (10000, "3000-10000"), (np.inf, ">10000"))
BAND_NAMES = [name for _, name in DEPTH_BANDS] + ["unknown"]


def _natural_key(path: Path):
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


def _is_tfrecord(path: Path) -> bool:
    """A file whose first 12 bytes are a TFRecord header (a length and its masked CRC), once
    decompressed if the file is gzip or zlib (TensorFlow's compressed TFRecords)."""
    from .tfrecord import is_tfrecord
    return is_tfrecord(path)


def views_paths(path: str | Path) -> list[Path]:
    """The files a views dataset path names: the file itself, a glob's matches, or a folder's
    TFRecord files (by content, in natural name order)."""
    text = str(path)
    expanded = Path(text).expanduser()
    if any(ch in text for ch in "*?["):
        found = sorted((Path(p) for p in glob.glob(str(expanded)) if Path(p).is_file()), key=_natural_key)
        if not found:
            raise CatalogError(f"views dataset {text}: the pattern matches no file")
        return found
    if expanded.is_dir():
        found = sorted((p for p in expanded.iterdir() if p.is_file() and _is_tfrecord(p)), key=_natural_key)
        if not found:
            raise CatalogError(f"views dataset {text}: the folder holds no TFRecord file (an NPZ or HDF5 dataset "
                               "is named as a file)")
        return found
    if not expanded.exists():
        raise CatalogError(f"views dataset {text} does not exist (catalog.path / evaluation.test_path)")
    return [expanded]


def _format(path: Path) -> str:
    if path.suffix.lower() == ".npz":
        return "npz"
    with open(path, "rb") as fh:
        if fh.read(8) == HDF5_SIGNATURE:
            return "hdf5"
    if _is_tfrecord(path):
        return "tfrecord"
    raise CatalogError(f"views dataset {path} is neither a TFRecord file, an NPZ file nor an HDF5 file")


@dataclass
class _Records:
    """Per-record values of every feature (None where a record lacks it) and where each record is."""
    values: dict[str, list] = field(default_factory=dict)
    where: list[str] = field(default_factory=list)
    unreadable: dict[int, str] = field(default_factory=dict)   # record -> why its protobuf did not parse

    def __len__(self) -> int:
        return len(self.where)


def _read_arrays(path: Path, kind: str) -> _Records:
    try:
        if kind == "npz":
            with np.load(path, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
        else:
            import h5py
            with h5py.File(path, "r") as h5:
                arrays = {k: (ds.asstr()[:] if ds.dtype.kind in "OS" else ds[:]) for k, ds in h5.items()
                          if isinstance(ds, h5py.Dataset)}
    except Exception as exc:    # numpy's and h5py's errors on a damaged file come in many types
        raise CatalogError(f"views dataset {path} cannot be read as {kind.upper()}: "
                           f"{damage_reason(exc, 'file')}") from exc
    lengths = {k: (v.shape[0] if v.ndim else None) for k, v in arrays.items()}
    n = max((n for n in lengths.values() if n is not None), default=0)
    wrong = [f"{k} {arrays[k].shape}" for k, m in lengths.items() if m != n]
    if wrong:
        raise CatalogError(f"views dataset {path}: every array needs {n} rows (one per TCE); these differ: "
                           f"{', '.join(wrong)}")
    return _Records(values={k: list(v) for k, v in arrays.items()}, where=[f"{path.name} row {i}" for i in range(n)])


def _read_tfrecords(paths: list[Path]) -> _Records:
    from .tfrecord import ExampleError, TFRecordError, compression, read_examples
    out = _Records()
    columns: dict[str, list] = {}
    for path in paths:
        inflated = " of its decompressed stream" if compression(path) else ""
        try:
            for offset, example in read_examples(path):
                i = len(out.where)
                out.where.append(f"{path.name} byte {offset}{inflated}")
                if isinstance(example, ExampleError):
                    out.unreadable[i] = f"not a tf.train.Example ({example})"
                    continue
                for name, value in example.items():
                    columns.setdefault(name, [None] * i).append(value)
                for name, values in columns.items():
                    if len(values) == i:
                        values.append(None)
        except TFRecordError as exc:
            raise CatalogError(f"views dataset: {exc}. The file is corrupt: fetch it again or leave it out of "
                               "catalog.path") from None
        except Exception as exc:    # the reader's own surprise on a damaged file: still name the file
            raise CatalogError(f"views dataset: {path}: {damage_reason(exc, 'file')}. Fetch it again or leave it "
                               "out of catalog.path") from exc
    n = len(out.where)
    out.values = {k: v + [None] * (n - len(v)) for k, v in columns.items()}
    return out


def read_records(paths: list[Path]) -> _Records:
    kinds = {p: _format(p) for p in paths}
    tables = [p for p, k in kinds.items() if k != "tfrecord"]
    if tables and len(paths) > 1:
        raise CatalogError(f"views dataset: {tables[0]} is an {kinds[tables[0]].upper()} file; only TFRecord "
                           "datasets may span several files")
    return _read_arrays(paths[0], kinds[paths[0]]) if tables else _read_tfrecords(paths)


def _choose_keys(records: _Records, keys: dict, where: str) -> tuple[dict[str, tuple[str, float]], dict[str, str]]:
    """(field -> (feature, scale), view name -> feature), from ``catalog.views_keys`` and the defaults."""
    have = set(records.values)
    chosen = {}
    for name, defaults in DEFAULT_KEYS.items():
        given = keys.get(name)
        if given is not None:
            if given not in have:
                raise CatalogError(f"{where}: catalog.views_keys.{name} names {given!r}, which the dataset lacks; "
                                   f"it holds {', '.join(sorted(have))}")
            chosen[name] = (given, 1 / 24 if name == "duration" and keys.get("duration_unit") == "hours" else 1.0)
            continue
        found = next(((n, s) for n, s in defaults if n in have), None)
        if found is not None:
            chosen[name] = found
        elif name in REQUIRED_FIELDS:
            raise CatalogError(f"{where}: no {name} feature (looked for {', '.join(n for n, _ in defaults)}); the "
                               f"dataset holds {', '.join(sorted(have))}. Name it in catalog.views_keys.{name}")
    views = keys.get("views") or {k[: -len("_view")]: k for k in sorted(have) if k.endswith("_view")}
    missing = [v for v in views.values() if v not in have]
    if missing:
        raise CatalogError(f"{where}: catalog.views_keys.views names {', '.join(missing)}, which the dataset lacks")
    absent = [v for v in REQUIRED_VIEWS if v not in views]
    if absent:
        raise CatalogError(f"{where}: no {' or '.join(f'{v}_view' for v in absent)} in the dataset (it holds "
                           f"{', '.join(sorted(have))}); map the views with catalog.views_keys.views")
    return chosen, views


def _text(value) -> str | None:
    """A record's id or label as text: 757450 for the integer or float 757450, 'PC' for b'PC'."""
    if value is None:
        return None
    if isinstance(value, list):            # a BytesList
        value = value[0] if len(value) == 1 else None
        return None if value is None else value.decode("utf-8", "replace").strip()
    array = np.asarray(value)
    if array.size != 1:
        return None
    item = array.reshape(-1)[0]
    if isinstance(item, (bytes, np.bytes_)):
        return item.decode("utf-8", "replace").strip()
    if isinstance(item, (str, np.str_)):
        return str(item).strip()
    if np.issubdtype(array.dtype, np.floating):
        return str(int(item)) if np.isfinite(item) and float(item).is_integer() else repr(float(item))
    return str(int(item))


def _number(value) -> float:
    if value is None or isinstance(value, list):
        return np.nan
    array = np.asarray(value, dtype=float) if np.asarray(value).dtype.kind in "fiub" else np.array([np.nan])
    return float(array.reshape(-1)[0]) if array.size == 1 else np.nan


def _describe(value) -> str:
    if value is None:
        return "missing"
    if isinstance(value, list):
        return "bytes"
    array = np.asarray(value)
    return f"{'integers' if array.dtype.kind in 'iub' else 'floats'} of shape {array.shape}"


def depth_bands(depth: np.ndarray) -> np.ndarray:
    """Each depth's band name (DEPTH_BANDS, ppm); 'unknown' where the depth is missing."""
    depth = np.asarray(depth, float)
    out = np.full(depth.shape, "unknown", dtype=object)
    known = np.isfinite(depth)
    edges = np.array([edge for edge, _ in DEPTH_BANDS])
    names = np.array([name for _, name in DEPTH_BANDS], dtype=object)
    out[known] = names[np.searchsorted(edges, depth[known], side="right")]
    return out


def _empty_bins(views: np.ndarray) -> np.ndarray:
    """Bins with no cadence of their own: equal to a neighbour or exactly on the line through both
    neighbours, as filling an empty bin by interpolation (DART-Vetter's, ExoSieve's) or with a
    constant (Astronet's) leaves it. A bin of real flux never lands there to float32 rounding."""
    v = views.astype(np.float64)
    tol = FLAT_TOL * np.maximum(np.abs(v).max(axis=1, keepdims=True), 1e-30)
    same = np.abs(np.diff(v, axis=1)) <= tol
    line = np.abs(v[:, :-2] - 2 * v[:, 1:-1] + v[:, 2:]) <= tol
    out = np.zeros(v.shape, bool)
    out[:, 1:] |= same
    out[:, :-1] |= same
    out[:, 1:-1] |= line
    return out


def _level_and_noise(views: np.ndarray, outside: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per record, the median of its bins where ``outside`` (a mask per record, or one for all) and
    their robust scatter (1.4826 x the MAD); NaN for a record with no such bin."""
    out_flux = np.where(np.broadcast_to(outside, views.shape), views, np.nan).astype(np.float64)
    with warnings.catch_warnings():        # a record with no bin outside is left unjudged by its caller
        warnings.simplefilter("ignore", RuntimeWarning)
        level = np.nanmedian(out_flux, axis=1)
        return level, 1.4826 * np.nanmedian(np.abs(out_flux - level[:, None]), axis=1)


def _lost_transit(views: np.ndarray, centre: np.ndarray, outside: np.ndarray, mean: bool) -> dict[str, np.ndarray]:
    """Per record (``centre``/``outside``: bin masks, one row per record or one for all): whether the
    view lost its transit (no dip at the centre, and the centre's cadences gone), with the figures
    a reason quotes. ``mean``: the centre's level is its bins' mean (local view) rather than its
    lowest bin (global view, whose transit may fill a single bin)."""
    centre, outside = np.broadcast_to(centre, views.shape), np.broadcast_to(outside, views.shape)
    level, noise = _level_and_noise(views, outside)
    rel = views - level[:, None]
    n_centre = centre.sum(axis=1)
    dip = ((rel * centre).sum(axis=1) / np.maximum(n_centre, 1) if mean
           else np.where(centre, rel, np.inf).min(axis=1))
    deepest = rel.min(axis=1)
    scale = np.maximum(noise, 1e-6 * np.abs(rel).max(axis=1)) + 1e-30
    has_dip = (-dip >= DIP_SIGMA * scale) & (dip <= DIP_SHARE * np.minimum(deepest, 0))
    empty = _empty_bins(views)
    n_empty = (empty & centre).sum(axis=1)
    empty_out = (empty & outside).sum(axis=1) / np.maximum(outside.sum(axis=1), 1)
    gone = (n_empty > EMPTY_SHARE * n_centre) & (n_empty >= 2 * empty_out * n_centre)
    judged = (n_centre > 0) & (outside.sum(axis=1) >= 2)
    return {"lost": judged & ~has_dip & gone, "dip": dip, "sigma": -dip / scale, "low": deepest,
            "deepest": np.argmin(views, axis=1), "empty": n_empty, "centre": n_centre}


def _points_up(local: np.ndarray, centre: np.ndarray, outside: np.ndarray) -> bool:
    """Whether the dataset's transits are bumps, not dips: most records whose local centre stands
    out from the out-of-transit level stand above it (some published views are flipped)."""
    level, noise = _level_and_noise(local, outside)
    z = (local[:, centre].mean(axis=1) - level) / (noise + 1e-30)
    return int((z >= DIP_SIGMA).sum()) > int((z <= -DIP_SIGMA).sum())


def find_damage(views: dict[str, np.ndarray], period: np.ndarray, duration: np.ndarray) -> tuple[np.ndarray, bool]:
    """(per record, why a flux view lost its transit, '' where none did; whether the dataset's
    transits point up, so that the views were read upside down): see the module docstring."""
    reasons = np.full(len(next(iter(views.values()))), "", dtype=object)
    local, up = views.get("local"), False
    if local is not None and local.ndim == 2 and local.shape[1] >= 5:
        n = local.shape[1]
        x = (np.arange(n) - (n - 1) / 2) * 2 * LOCAL_HALF_WIDTH / n         # durations from the centre
        up = _points_up(local, np.abs(x) <= 0.5, np.abs(x) > 1.0)
        if up:
            views = {k: -v for k, v in views.items()}
            local = views["local"]
        got = _lost_transit(local, np.abs(x) <= 0.5, np.abs(x) > 1.0, mean=True)
        for i in np.flatnonzero(got["lost"]):
            reasons[i] = (f"local view: no dip at the transit centre (centre bins at {got['dip'][i]:+.2f}, "
                          f"{-got['sigma'][i]:+.1f} noise; deepest bin {got['low'][i]:+.2f} at "
                          f"{x[got['deepest'][i]]:+.2f} durations) and {got['empty'][i]} of its {got['centre'][i]} "
                          "centre bins empty (interpolated or repeated, their cadences gone)")
    glob_ = views.get("global")
    if glob_ is not None and glob_.ndim == 2 and glob_.shape[1] >= 9:
        n = glob_.shape[1]
        offset = np.abs(np.arange(n) - (n - 1) / 2)                          # bins from the transit
        width = 0.5 * duration / period * n                                  # the transit's half width [bins]
        width = np.where(np.isfinite(width) & (width > 1), width, 1.0)[:, None]
        centre, outside = offset <= width, offset > np.maximum(3, 2 * width + 1)
        got = _lost_transit(glob_, centre, outside, mean=False)
        lost = got["lost"] & (outside.sum(axis=1) >= n // 4)               # a transit filling the orbit: unjudged
        for i in np.flatnonzero(lost):
            why = (f"global view: no dip at the transit phase (lowest centre bin at {got['dip'][i]:+.2f}, "
                   f"{-got['sigma'][i]:+.1f} noise; deepest bin {got['low'][i]:+.2f} at phase "
                   f"{(got['deepest'][i] - (n - 1) / 2) / n:+.3f}) and {got['empty'][i]} of its {got['centre'][i]} "
                   "centre bins empty")
            reasons[i] = f"{reasons[i]}; {why}" if reasons[i] else why
    if up:
        reasons[reasons != ""] = "(views read upside down: the dataset's transits point up) " + reasons[reasons != ""]
    return reasons, up


class ViewsDataset:
    """A views dataset read and checked: the kept TCEs (``data``), what was rejected or dropped as a
    repeat (``rejected``, FAILURE_COLUMNS), the records whose transit a view lost (``damage``, kept
    or not), and counts for the log and the report (``n_damaged`` and ``damaged_by_band`` beside
    ``n_repeats``/``n_mirrors``; ``n_rejected`` includes the damaged records it rejected)."""

    def __init__(self, path: str | Path, cat: dict):
        self.paths = views_paths(path)
        self.where = f"views dataset {path}"
        records = read_records(self.paths)
        n = len(records)
        if n == 0:
            raise CatalogError(f"{self.where} holds no record")
        keys, view_keys = _choose_keys(records, cat.get("views_keys") or {}, self.where)
        reasons = np.full(n, "", dtype=object)
        for i, why in records.unreadable.items():
            reasons[i] = why

        def reject(i: int, why: str) -> None:
            if not reasons[i]:
                reasons[i] = why

        star = np.array([_text(v) for v in records.values[keys["star_id"][0]]], dtype=object)
        for i, s in enumerate(star):
            if not s:
                reject(i, f"no {keys['star_id'][0]}")
            else:
                try:
                    safe_id(s, "star id")
                except TargetError as exc:
                    reject(i, str(exc))
        views = self._views(records, view_keys, reject)
        features = list(cat.get("views_features") or [])
        ids = {keys[k][0] for k in ("star_id", "label", "tce_num", "tce_id") if k in keys}
        scalars = self._scalars(records, features, ids, reject)

        label_text = [_text(v) or "" for v in records.values[keys["label"][0]]]
        original, mirrored = self._repeats(star, label_text, views, reasons, cat.get("drop_repeats", True))
        kept = np.flatnonzero((original < 0) & np.array([bool(s) for s in star]))
        if "tce_num" in keys:
            tce_num = np.array([_number(v) for v in records.values[keys["tce_num"][0]]])
            bad_num = ~np.isfinite(tce_num) | (tce_num < 0) | (tce_num != np.round(tce_num))
            for i in np.flatnonzero(bad_num):
                reject(i, f"{keys['tce_num'][0]} is missing or not a whole number")
            tce_num = np.where(bad_num, -1, tce_num).astype(np.int64)
        else:   # numbered per star in file order, counting every record but the repeats
            tce_num = np.full(n, -1, np.int64)
            tce_num[kept] = pd.Series(star[kept]).groupby(star[kept]).cumcount().to_numpy() + 1
        if "tce_id" in keys:
            tce_id = np.array([_text(v) or "" for v in records.values[keys["tce_id"][0]]], dtype=object)
        else:
            tce_id = np.array([f"{s}_{k}" if s and k > 0 else "" for s, k in zip(star, tce_num)], dtype=object)

        ephemeris = {}
        for name in ("period", "epoch", "duration", "depth"):
            if name in keys:
                feature, scale = keys[name]
                ephemeris[name] = np.array([_number(v) for v in records.values[feature]]) * scale
            else:
                ephemeris[name] = np.full(n, np.nan)
        disposition = pd.Series(label_text, dtype=object)
        labels = cat["labels"]
        known = {str(v) for v in [*labels["positive"], *labels["negative"], *labels.get("unlabelled", [])]}
        if cat.get("labels_path"):
            disposition = self._toi_dispositions(star, ephemeris, cat)
            known |= set(cat["toi_labels"].values())    # a TOI's disposition is never a bad record
        for i in np.flatnonzero(~disposition.isin(known).to_numpy()):
            value = disposition[i] or "missing"
            reject(i, f"label {value!r} ({keys['label'][0]}) maps to none of catalog.labels' positive, negative "
                      "and unlabelled lists")
        ok = (reasons == "") & (original < 0)
        clash = pd.Series(tce_id).where(ok).duplicated(keep=False).to_numpy() & ok
        for i in np.flatnonzero(clash):
            reject(i, f"TCE id {tce_id[i]} is given to several records that differ; all are rejected")
        ok = (reasons == "") & (original < 0)
        band = depth_bands(ephemeris["depth"])
        damage = np.full(n, "", dtype=object)
        checked = np.flatnonzero(ok)
        damage[checked], upward = find_damage({v: views[v][checked] for v in REQUIRED_VIEWS},
                                               ephemeris["period"][checked], ephemeris["duration"][checked])
        if upward:
            log.warning("%s: its transits point up (most records whose local view stands out at the centre stand "
                        "above their out-of-transit level); the damage check reads its views upside down",
                        self.where)
        damaged = np.flatnonzero(damage != "")
        keep_damaged = bool(cat.get("keep_damaged", False))
        if not keep_damaged:
            ok[damaged] = False

        meta = pd.DataFrame({"tce_id": tce_id, "star_id": star, "tce_num": tce_num,
                             "disposition": disposition.to_numpy(),
                             "label": map_labels(disposition, labels["positive"], labels["negative"]).to_numpy()})
        for name, values in ephemeris.items():
            meta[name] = values
        keep = np.flatnonzero(ok)
        self.data = ShardData(meta=meta.iloc[keep].drop(columns=["depth", "tce_num"]).reset_index(drop=True),
                              views={k: v[keep] for k, v in views.items()}, scalars=scalars[keep],
                              scalar_names=features)
        self.data.attrs["depth"] = meta["depth"].to_numpy()[keep]
        self.tce_num = meta["tce_num"].to_numpy()[keep]
        dropped = np.flatnonzero(original >= 0)
        bad = np.flatnonzero((reasons != "") & (original < 0))
        rows = [{"tce_id": tce_id[i], "star_id": star[i] or "", "stage": "catalog",
                 "error": f"{self.where}: record at {records.where[i]}: {reasons[i]}"} for i in bad]
        rows += [{"tce_id": "", "star_id": star[i], "stage": REPEAT_STAGE,
                  "error": f"{self.where}: record at {records.where[i]} repeats {tce_id[original[i]] or records.where[original[i]]}"
                           f"{' as its mirror image (views reversed)' if mirrored[i] else ' exactly'}; dropped "
                           "(catalog.drop_repeats)"} for i in dropped]
        if not keep_damaged:
            rows += [{"tce_id": tce_id[i], "star_id": star[i], "stage": DAMAGED_STAGE,
                      "error": f"{self.where}: record at {records.where[i]}: transit lost: {damage[i]}; "
                               f"{'depth unknown' if band[i] == 'unknown' else f'depth band {band[i]} ppm'}; "
                               "rejected (set catalog.keep_damaged to keep it)"} for i in damaged]
        self.rejected = pd.DataFrame(rows, columns=FAILURE_COLUMNS)
        self.damage = pd.DataFrame({"tce_id": tce_id[damaged], "star_id": star[damaged],
                                    "disposition": disposition.to_numpy()[damaged],
                                    "depth": ephemeris["depth"][damaged], "depth_band": band[damaged],
                                    "reason": damage[damaged]})
        self.n_records = n
        self.n_mirrors = int(mirrored.sum())
        self.n_repeats = int(dropped.size)
        self.n_damaged = int(damaged.size)          # found, whether rejected or kept (catalog.keep_damaged)
        self.damaged_by_band = self.damage.depth_band.value_counts().reindex(BAND_NAMES, fill_value=0)
        self.n_rejected = int(bad.size) + (0 if keep_damaged else self.n_damaged)
        if not len(keep):
            raise CatalogError(self._nothing_left())
        log.info("%s: %d records in %d file(s); %d kept on %d stars; %d dropped as repeats (%d mirror images); "
                 "%d rejected (%d of them damaged; see rejected.csv)", self.where, n, len(self.paths), len(keep),
                 len(set(self.data.meta.star_id)), self.n_repeats, self.n_mirrors, self.n_rejected,
                 0 if keep_damaged else self.n_damaged)
        if self.n_damaged:
            log.info("%s: %d record(s) lost their transit in a flux view (no dip at the centre, whose bins are "
                     "empty), by depth [ppm]: %s; %s", self.where, self.n_damaged,
                     ", ".join(f"{b} {c}" for b, c in self.damaged_by_band.items()),
                     "kept (catalog.keep_damaged)" if keep_damaged else "rejected (stage damaged)")

    def _toi_dispositions(self, star: np.ndarray, ephemeris: dict, cat: dict) -> pd.Series:
        """Dispositions from a TOI table (catalog.labels_path) instead of the dataset's own labels:
        each record's TOI is the one on its TIC whose ephemeris matches (catalog.toi_labels maps
        its TFOPWG disposition; no match is toi_labels.no_toi)."""
        from .kepler import read_archive_csv
        from .tess import signal_dispositions
        if np.isnan(ephemeris["period"]).all() or np.isnan(ephemeris["epoch"]).all():
            raise CatalogError(f"{self.where}: catalog.labels_path takes labels from a TOI table by ephemeris, "
                               "but the dataset has no period or epoch (catalog.views_keys.period, .epoch)")
        signals = pd.DataFrame({"star": pd.to_numeric(pd.Series(star), errors="coerce"), **{
            k: ephemeris[k] for k in ("period", "epoch", "duration")}})
        # A views dataset of TOIs: a period at a harmonic of today's, or a star's only TOI, is that TOI.
        out = signal_dispositions(signals, read_archive_csv(cat["labels_path"]), cat["toi_labels"],
                                  harmonics=(1.0, 2.0, 0.5, 3.0, 1 / 3), sole_toi=True)
        log.info("%s: labels from the TOI table %s: %s", self.where, cat["labels_path"],
                 ", ".join(f"{k} {v}" for k, v in out.value_counts().items()))
        return out.reset_index(drop=True)

    @staticmethod
    def _views(records: _Records, view_keys: dict[str, str], reject) -> dict[str, np.ndarray]:
        """Every view as one float32 array; records of another length or type than the dataset's
        commonest are rejected and left as NaN."""
        n = len(records)
        out = {}
        for name, feature in view_keys.items():
            values = records.values[feature]
            shapes = [np.shape(v) if v is not None and not isinstance(v, list) else None for v in values]
            common = pd.Series([s for s in shapes if s is not None], dtype=object).value_counts()
            if common.empty:
                raise CatalogError(f"views dataset: no record holds a numeric {feature}")
            shape = common.index[0]
            array = np.full((n, *shape), np.nan, np.float32)
            for i, (value, s) in enumerate(zip(values, shapes)):
                if s is None or np.asarray(value).dtype.kind != "f":
                    reject(i, f"{feature} is {_describe(value)}, not floats")
                elif s != shape:
                    reject(i, f"{feature} has shape {s}, the dataset's is {shape}")
                else:
                    array[i] = value
            bad = ~np.isfinite(array.reshape(n, -1)).all(axis=1)
            for i in np.flatnonzero(bad):
                reject(i, f"{feature} holds NaN or infinite values")
            out[name] = array
        return out

    @staticmethod
    def _scalars(records: _Records, features: list[str], ids: set[str], reject) -> np.ndarray:
        """The named features as columns; ids and labels never are (an id or a coded label must not
        be learned), while a period or a depth may be named."""
        n = len(records)

        def numeric(x) -> bool:
            return x is not None and not isinstance(x, list) and np.size(x) == 1 and np.asarray(x).dtype.kind in "fiub"

        usable = sorted(k for k, v in records.values.items() if not k.endswith("_view") and k not in ids
                        and any(numeric(x) for x in v))
        unusable = [k for k in features if k not in usable]
        if unusable:
            raise CatalogError(f"views dataset: catalog.views_features names {', '.join(unusable)}, which "
                               f"{'is' if len(unusable) == 1 else 'are'} not a numeric single value per record "
                               f"in the dataset; the ones it has: {', '.join(usable) or 'none'}")
        out = np.full((n, len(features)), np.nan, np.float32)
        for j, name in enumerate(features):
            for i, value in enumerate(records.values[name]):
                if not numeric(value):
                    reject(i, f"feature {name} is {_describe(value)}, not one number")
                else:
                    out[i, j] = float(np.asarray(value).reshape(-1)[0])
        return out

    @staticmethod
    def _repeats(star: np.ndarray, label: list[str], views: dict[str, np.ndarray], reasons: np.ndarray, drop: bool
                 ) -> tuple[np.ndarray, np.ndarray]:
        """(the earlier record of the same star and label that each record repeats, or -1; whether
        it is that record's mirror image, every view reversed, rather than an exact copy). A copy
        with another label is no repeat: it is judged on its own."""
        n = len(star)
        original, mirrored = np.full(n, -1, np.int64), np.zeros(n, bool)
        if not drop:
            return original, mirrored
        names = sorted(views)

        def digest(i: int, flip: bool) -> bytes:
            parts = (np.ascontiguousarray(views[v][i][..., ::-1] if flip else views[v][i]).tobytes() for v in names)
            return hashlib.blake2b(b"".join(parts), digest_size=16).digest()

        seen: dict[tuple[str, str, bytes], int] = {}
        for i, s in enumerate(star):
            if reasons[i] or not s:
                continue
            exact, mirror = (s, label[i], digest(i, False)), (s, label[i], digest(i, True))
            if exact in seen:
                original[i] = seen[exact]
            elif mirror in seen:
                original[i], mirrored[i] = seen[mirror], True
            else:
                seen[exact] = i
        return original, mirrored

    def _nothing_left(self) -> str:
        why = self.rejected[self.rejected.stage != REPEAT_STAGE].error.str.split(": ").str[-1].value_counts()
        summary = "; ".join(f"{k} x {r}" for r, k in why.head(3).items())
        hint = (" Map the dataset's labels with catalog.labels, e.g. {positive: [1], negative: [0]} for integer "
                "labels." if why.index.str.contains("maps to none").any() else "")
        return f"{self.where}: none of its {self.n_records} records is usable ({summary}).{hint}"

    def catalog(self) -> pd.DataFrame:
        """The kept TCEs as the normalized TCE table (ephemerides NaN where the dataset has none)."""
        meta = self.data.meta
        table = pd.DataFrame({"tce_id": meta.tce_id, "star_id": meta.star_id, "tce_num": self.tce_num,
                              "mission": "views", "period": meta.period, "epoch": meta.epoch,
                              "duration": meta.duration, "depth": self.data.attrs["depth"],
                              "disposition": meta.disposition, "label": meta.label})
        for col in STELLAR_COLUMNS:
            table[col] = np.nan
        return table.sort_values(["star_id", "tce_num"], kind="stable").reset_index(drop=True)[TABLE_COLUMNS]


def read_views_dataset(path: str | Path, cat: dict) -> ShardData:
    """The kept TCEs of a views dataset as ShardData (meta: tce_id, star_id, disposition, label,
    ephemeris), with the features ``cat['views_features']`` names as scalars. ``cat`` is the
    validated ``catalog`` section of the config."""
    return ViewsDataset(path, cat).data


def views_catalog(path: str | Path, cat: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(normalized TCE table, rejected and repeated records) of a views dataset."""
    dataset = ViewsDataset(path, cat)
    return dataset.catalog(), dataset.rejected


def view_names(path: str | Path, cat: dict) -> list[str]:
    """Names of the view arrays a dataset provides (``global_view`` -> ``global``), read from its
    first TFRecord record or the NPZ/HDF5 keys."""
    paths = views_paths(path)
    kind = _format(paths[0])
    if kind == "tfrecord":
        from .tfrecord import read_examples
        first = next((ex for _, ex in read_examples(paths[0]) if isinstance(ex, dict)), {})
        have = list(first)
    elif kind == "npz":
        import zipfile
        with zipfile.ZipFile(paths[0]) as z:
            have = [n[:-4] for n in z.namelist()]
    else:
        import h5py
        with h5py.File(paths[0], "r") as h5:
            have = list(h5.keys())
    mapping = (cat.get("views_keys") or {}).get("views")
    return list(mapping) if mapping else [k[: -len("_view")] for k in have if k.endswith("_view")]


def write_views_shard(path: str | Path, targets_csv: str | Path, cfg: dict, shard: str, out_h5, failures_csv) -> int:
    """The rows of one shard's TCEs, written as an ordinary ExoSieve shard (no preprocessing)."""
    from ..shards import provenance, write_shard
    data = read_views_dataset(path, cfg["catalog"])
    wanted = pd.read_csv(targets_csv, dtype={"tce_id": str})["tce_id"]
    rows = np.flatnonzero(data.meta.tce_id.isin(set(wanted)).to_numpy())
    part = data.subset(rows)
    write_shard(out_h5, part, provenance(cfg, shard))
    with atomic_output(failures_csv, ".csv") as tmp:
        pd.DataFrame(columns=FAILURE_COLUMNS).to_csv(tmp, index=False)
    return len(part)

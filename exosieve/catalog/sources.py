"""Catalog sources: the pluggable part that turns a data release into the normalized TCE table
and says where each star's light curves are (or obtains them).

Adding a source means adding a class with the three methods below and registering it in
``SOURCES``; nothing after the catalog stage changes.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pandas as pd

from ..config import survey_hash
from ..layout import RunLayout
from .kepler import load_dr24
from .table import CatalogError


class SimulatedSource:
    """The embedded simulated survey: a DR24-format catalog plus Kepler FITS generated per shard."""

    name = "simulated"

    def __init__(self, cfg: dict):
        self.cfg = cfg
        self.root = Path(RunLayout(cfg["results"]).survey_dir(survey_hash(cfg)))

    def raw_catalog_files(self) -> dict[str, Path]:
        if self.tess:
            from ..simulate.tess import catalog_files
            return catalog_files(self.root, self.cfg["survey"]["sectors"])
        return {"catalog": self.root / "q1_q17_dr24_tce.csv", "stellar": self.root / "keplerstellar.csv",
                "truth": self.root / "truth.csv", "stars": self.root / "stars_truth.csv"}

    @property
    def tess(self) -> bool:
        return self.cfg["survey"]["mission"] == "tess"

    def lightcurve_root(self) -> Path:
        return self.root / ("tid" if self.tess else "lightcurves")

    def write_raw_catalog(self) -> dict[str, Path]:
        from ..simulate import draw_survey, write_catalog_files
        s = self.cfg["survey"]
        survey = draw_survey(s["stars"], s["quarters"], s["seed"], s["mission"], s["sectors"])
        if self.tess:
            from ..simulate.tess import write_catalog_files as write_tess
            return write_tess(survey, self.root, s["sectors"], s["seed"])
        return write_catalog_files(survey, self.root)

    def normalize(self, files: dict[str, Path]) -> tuple[pd.DataFrame, pd.DataFrame]:
        cat = self.cfg["catalog"]
        if self.tess:      # the SPOC table labelled from the TOI table, as the tess_spoc source does
            from .tess import load_spoc
            return load_spoc(files["catalog"], cat["labels"], files["toi"], cat["toi_labels"])
        return load_dr24(files["catalog"], cat["labels"], files["stellar"])

    def obtain_lightcurves(self, star_ids: list[str], progress: bool = True):
        from ..lightcurves.obtain import generate_simulated
        return generate_simulated(star_ids, self.raw_catalog_files(), self.lightcurve_root(),
                                  self.cfg["survey"], progress)


class LocalSource:
    """A TCE table and FITS light curves that the user already has (bulk downloads in MAST's
    layout, or any folder of light-curve files, matched to stars by their headers): Kepler
    DR24/DR25 or TESS SPOC tables as the archives publish them, or any CSV whose columns
    ``catalog.columns`` maps (a TOI table, say)."""

    name = "local"

    def __init__(self, cfg: dict):
        self.cfg = cfg
        cat = cfg["catalog"]
        self._index: dict | None = None
        self.files = {"catalog": Path(cat["path"])}
        for key, path_key in (("stellar", "stellar_path"), ("labels", "labels_path")):
            if cat.get(path_key):
                self.files[key] = Path(cat[path_key])

    def raw_catalog_files(self) -> dict[str, Path]:
        return self.files

    def lightcurve_root(self) -> Path:
        return Path(self.cfg["catalog"]["lightcurve_dir"])

    def write_raw_catalog(self) -> dict[str, Path]:
        return self.files  # already on disk

    def normalize(self, files: dict[str, Path]) -> tuple[pd.DataFrame, pd.DataFrame]:
        return load_local_table(files, self.cfg["catalog"])

    def lightcurve_index(self) -> dict:
        """star id -> its files under ``catalog.lightcurve_dir``, any layout (``locate.index_folder``:
        MAST's file names, other FITS files by their headers); one walk of the folder per process."""
        from ..lightcurves.locate import index_folder
        if self._index is None:
            self._index = index_folder(self.lightcurve_root()) if self.lightcurve_root().is_dir() else {}
        return self._index

    def obtain_lightcurves(self, star_ids: list[str], progress: bool = True):
        from ..lightcurves.obtain import locate_local
        return locate_local(star_ids, self.lightcurve_root(), self._index)

    def lightcurve_listing_digest(self, targets_csv: str | Path) -> str:
        """Digest of the light-curve files (path, size, modification time) of a target list's
        stars: it changes when one of them is added, removed or replaced."""
        import hashlib
        self.lightcurve_index()            # one walk of the folder for every shard's digest
        if not self._index:
            return "no light curves"
        digest = hashlib.sha256()
        with open(targets_csv) as fh:      # star_id is the second column of a target list
            stars = {line.split(",", 2)[1].strip() for line in list(fh)[1:]}
        for sid in sorted(stars):
            for path in self._index.get(sid.lstrip("0") or sid, []):
                st = path.stat()
                digest.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        return digest.hexdigest()[:16]


def load_local_table(files: dict[str, Path], cat: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The local source's table, by its format: mapped columns, a SPOC TCE table, or a Kepler
    DR24/DR25 table (labels from ``labels`` when given: the TOI or KOI table)."""
    from .archive import dr25_dispositions
    from .kepler import DR24_REQUIRED, normalize_dr24, read_archive_csv
    from .table import normalize_columns
    from .tess import SPOC_REQUIRED, normalize_spoc, read_spoc_table
    path = files["catalog"]
    raw = read_archive_csv(path)
    labels_table = read_archive_csv(files["labels"]) if "labels" in files else None
    where = f"TCE table {path}"
    if cat["columns"]:
        return normalize_columns(raw, cat["columns"], cat["labels"], duration_unit=cat["duration_unit"],
                                 epoch_offset=cat["epoch_offset"], mission=cat["mission"], where=where)
    if set(SPOC_REQUIRED) <= set(raw.columns):
        return normalize_spoc(read_spoc_table(path, raw), cat["labels"], labels_table, cat["toi_labels"],
                              where=f"SPOC {where}")
    if set(DR24_REQUIRED) <= set(raw.columns):
        if labels_table is not None:
            # No exact TCE join: a local table may be of another delivery than the KOIs name.
            raw = raw.assign(av_training_set=dr25_dispositions(raw, labels_table, cat["koi_labels"], delivery=None))
        stellar = read_archive_csv(files["stellar"]) if "stellar" in files else None
        return normalize_dr24(raw, cat["labels"], stellar, where=where)
    raise CatalogError(f"{where} is neither a Kepler DR24/DR25 TCE table ({', '.join(DR24_REQUIRED)}) nor a "
                       f"TESS SPOC TCE table ({', '.join(SPOC_REQUIRED)}); its columns are "
                       f"{', '.join(map(str, raw.columns[:12]))}... Map them with catalog.columns "
                       "(star_id, period, epoch, duration, depth).")


class ViewsSource:
    """Precomputed views (TFRecord, NPZ or HDF5, see ``views_dataset``): no light curves, no
    preprocessing; the dataset's records go straight into shards, then the usual CV, models and
    report."""

    name = "views"

    def __init__(self, cfg: dict):
        self.cfg = cfg
        self.path = cfg["catalog"]["path"]

    def raw_catalog_files(self) -> dict[str, Path]:
        """Every file of the dataset (a glob or a folder names several), so that Snakemake tracks each."""
        from .views_dataset import views_paths
        paths = views_paths(self.path)
        return {"catalog": paths[0]} if len(paths) == 1 else {f"views_{i:04d}": p for i, p in enumerate(paths)}

    def lightcurve_root(self) -> None:
        return None

    def write_raw_catalog(self) -> dict[str, Path]:
        return self.raw_catalog_files()

    def normalize(self, files: dict[str, Path]) -> tuple[pd.DataFrame, pd.DataFrame]:
        from .views_dataset import views_catalog
        return views_catalog(self.path, self.cfg["catalog"])

    def view_arrays(self) -> list[str]:
        """Names of the view arrays in the dataset (``global_view`` -> ``global``), read cheaply."""
        from .views_dataset import view_names
        return view_names(self.path, self.cfg["catalog"])

    def obtain_lightcurves(self, star_ids, progress: bool = True):
        raise RuntimeError("the views source has no light curves: its shards come from the file")


def cache_dir(cfg: dict) -> Path:
    """The shared light-curve cache: archive.cache_dir, else $EXOSIEVE_CACHE, else ~/.cache/exosieve."""
    chosen = cfg["archive"]["cache_dir"] or os.environ.get("EXOSIEVE_CACHE") or "~/.cache/exosieve"
    return Path(chosen).expanduser()


class KeplerArchiveSource:
    """Kepler Q1-Q17 DR24 or DR25 TCEs from the Exoplanet Archive's TAP service, light curves
    from MAST into the shared cache."""

    def __init__(self, cfg: dict):
        self.cfg = cfg
        self.name = cfg["catalog"]["source"]
        self.root = Path(RunLayout(cfg["results"]).archive_dir(self.name))

    def raw_catalog_files(self) -> dict[str, Path]:
        from .archive import QUERIES
        return {key: self.root / f"{key}.csv" for key in QUERIES[self.name]}

    def lightcurve_root(self) -> Path:
        return cache_dir(self.cfg)

    def write_raw_catalog(self) -> dict[str, Path]:
        from ..http import RetryPolicy
        from .archive import download_tables
        return download_tables(self.name, self.raw_catalog_files(), self.cfg["archive"]["tap_url"],
                               RetryPolicy.from_config(self.cfg["archive"]))

    def normalize(self, files: dict[str, Path]) -> tuple[pd.DataFrame, pd.DataFrame]:
        cat = self.cfg["catalog"]
        if self.name == "kepler_dr25":
            from .archive import load_dr25
            return load_dr25(files["catalog"], files["koi"], cat["labels"], cat["koi_labels"], files.get("stellar"))
        return load_dr24(files["catalog"], cat["labels"], files.get("stellar"))

    def obtain_lightcurves(self, star_ids: list[str], progress: bool = True):
        from ..http import RetryPolicy
        from ..lightcurves.download import download_kepler
        a = self.cfg["archive"]
        return download_kepler(star_ids, self.lightcurve_root(), a["mast_url"], RetryPolicy.from_config(a),
                               offline=self.cfg["offline"], workers=a["workers"], progress=progress)


class TessArchiveSource:
    """TESS SPOC TCE tables from MAST (catalog.tess_runs), labelled from the Exoplanet Archive's
    TOI table; SPOC 2-min light curves of every sector those runs cover, from MAST into the cache."""

    name = "tess_spoc"

    def __init__(self, cfg: dict):
        self.cfg = cfg
        self.root = Path(RunLayout(cfg["results"]).archive_dir(self.name))
        self._sectors: dict[tuple, list[int]] = {}

    def raw_catalog_files(self) -> dict[str, Path]:
        return {"catalog": self.root / "spoc_tces.csv", "toi": self.root / "toi.csv"}

    def lightcurve_root(self) -> Path:
        return cache_dir(self.cfg)

    def write_raw_catalog(self) -> dict[str, Path]:
        from ..http import RetryPolicy
        from .archive import download_spoc_tables, download_tables
        a, files = self.cfg["archive"], self.raw_catalog_files()
        policy = RetryPolicy.from_config(a)
        download_tables(self.name, files, a["tap_url"], policy)
        download_spoc_tables(files["catalog"], self.cfg["catalog"]["tess_runs"], a["mast_url"],
                             cache_dir(self.cfg), policy)
        return files

    def normalize(self, files: dict[str, Path]) -> tuple[pd.DataFrame, pd.DataFrame]:
        from .tess import load_spoc
        cat = self.cfg["catalog"]
        return load_spoc(files["catalog"], cat["labels"], files["toi"], cat["toi_labels"])

    def sectors(self) -> list[int]:
        """Every sector the catalog's runs cover: a star's light curves come from all of them."""
        from .tess import run_sectors
        path = self.raw_catalog_files()["catalog"]
        key = (str(path), path.stat().st_mtime_ns)
        if key not in self._sectors:      # asked once per shard's job when Snakemake builds the DAG
            runs = pd.read_csv(path, usecols=["run"])["run"].unique()
            self._sectors[key] = sorted({s for run in runs for s in run_sectors(run)})
        return self._sectors[key]

    def obtain_lightcurves(self, star_ids: list[str], progress: bool = True):
        from ..http import RetryPolicy
        from ..lightcurves.download import download_tess
        a = self.cfg["archive"]
        return download_tess(star_ids, self.sectors(), self.lightcurve_root(), a["mast_url"],
                             RetryPolicy.from_config(a), offline=self.cfg["offline"], workers=a["workers"],
                             progress=progress)


SOURCES = {"simulated": SimulatedSource, "local": LocalSource, "views": ViewsSource,
           "kepler_dr24": KeplerArchiveSource, "kepler_dr25": KeplerArchiveSource,
           "tess_spoc": TessArchiveSource}
ARCHIVE_SOURCES = ("kepler_dr24", "kepler_dr25", "tess_spoc")


def get_source(cfg: dict):
    return SOURCES[cfg["catalog"]["source"]](cfg)


def target_ids(targets) -> set[str] | None:
    """catalog.targets as a set of star ids: a list, or a file with one id per line ('#' comments)."""
    if targets is None:
        return None
    if isinstance(targets, str):
        path = Path(targets).expanduser()
        if not path.exists():
            raise CatalogError(f"catalog.targets file {path} does not exist")
        lines = (line.split("#")[0].strip() for line in path.read_text().splitlines())
        targets = [line for line in lines if line]
    return {str(int(t)) if str(t).strip().isdigit() else str(t).strip() for t in targets}


def build_catalog(cfg: dict, files: dict[str, Path]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The source's normalized TCE table, restricted to catalog.targets when given, without the
    stars catalog.exclude names."""
    tces, rejected = get_source(cfg).normalize(files)
    unwanted = target_ids(cfg["catalog"]["exclude"])
    if unwanted:
        dropped = tces.star_id.isin(unwanted)
        logging.getLogger(__name__).info("catalog.exclude: %d TCEs on %d stars left out", int(dropped.sum()),
                                         tces.star_id[dropped].nunique())
        tces = tces[~dropped].reset_index(drop=True)
        rejected = rejected[~rejected.star_id.isin(unwanted)].reset_index(drop=True)
    wanted = target_ids(cfg["catalog"]["targets"])
    if wanted is not None:
        missing = sorted(wanted - set(tces.star_id))
        tces = tces[tces.star_id.isin(wanted)].reset_index(drop=True)
        rejected = rejected[rejected.star_id.isin(wanted)].reset_index(drop=True)
        if tces.empty:
            raise CatalogError(f"none of the {len(wanted)} catalog.targets has a TCE in this catalog "
                               f"(first: {sorted(wanted)[:5]})")
        if missing:
            logging.getLogger(__name__).warning("catalog.targets without any TCE in the catalog: %s",
                                                ", ".join(missing))
    return tces, rejected

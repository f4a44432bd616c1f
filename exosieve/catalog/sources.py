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
from .kepler import load_dr24
from .table import CatalogError


class SimulatedSource:
    """The embedded simulated survey: a DR24-format catalog plus Kepler FITS generated per shard."""

    name = "simulated"

    def __init__(self, cfg: dict):
        self.cfg = cfg
        self.root = Path(cfg["results"]) / "survey" / survey_hash(cfg)

    def raw_catalog_files(self) -> dict[str, Path]:
        return {"catalog": self.root / "q1_q17_dr24_tce.csv", "stellar": self.root / "keplerstellar.csv",
                "truth": self.root / "truth.csv", "stars": self.root / "stars_truth.csv"}

    def lightcurve_root(self) -> Path:
        return self.root / "lightcurves"

    def write_raw_catalog(self) -> dict[str, Path]:
        from ..simulate import draw_survey, write_catalog_files
        s = self.cfg["survey"]
        return write_catalog_files(draw_survey(s["stars"], s["quarters"], s["seed"]), self.root)

    def normalize(self, files: dict[str, Path]) -> tuple[pd.DataFrame, pd.DataFrame]:
        return load_dr24(files["catalog"], self.cfg["catalog"]["labels"], files["stellar"])

    def obtain_lightcurves(self, star_ids: list[str], progress: bool = True):
        from ..lightcurves.obtain import generate_simulated
        return generate_simulated(star_ids, self.raw_catalog_files(), self.lightcurve_root(),
                                  self.cfg["survey"], progress)


class LocalSource:
    """A DR24-format TCE table and Kepler FITS in MAST's layout that the user already has."""

    name = "local"

    def __init__(self, cfg: dict):
        self.cfg = cfg
        cat = cfg["catalog"]
        self.files = {"catalog": Path(cat["path"])}
        if cat.get("stellar_path"):
            self.files["stellar"] = Path(cat["stellar_path"])

    def raw_catalog_files(self) -> dict[str, Path]:
        return self.files

    def lightcurve_root(self) -> Path:
        return Path(self.cfg["catalog"]["lightcurve_dir"])

    def write_raw_catalog(self) -> dict[str, Path]:
        return self.files  # already on disk

    def normalize(self, files: dict[str, Path]) -> tuple[pd.DataFrame, pd.DataFrame]:
        return load_dr24(files["catalog"], self.cfg["catalog"]["labels"], files.get("stellar"))

    def obtain_lightcurves(self, star_ids: list[str], progress: bool = True):
        from ..lightcurves.obtain import locate_local
        return locate_local(star_ids, self.lightcurve_root())


class ViewsSource:
    """Precomputed views (NPZ or HDF5, see ``views_dataset``): no light curves, no preprocessing;
    the file's rows go straight into shards, then the usual CV, models and report."""

    name = "views"

    def __init__(self, cfg: dict):
        self.cfg = cfg
        self.files = {"catalog": Path(cfg["catalog"]["path"])}

    def raw_catalog_files(self) -> dict[str, Path]:
        return self.files

    def lightcurve_root(self) -> None:
        return None

    def write_raw_catalog(self) -> dict[str, Path]:
        return self.files

    def normalize(self, files: dict[str, Path]) -> tuple[pd.DataFrame, pd.DataFrame]:
        from .views_dataset import views_catalog
        return views_catalog(files["catalog"], self.cfg["catalog"]["labels"])

    def view_arrays(self) -> list[str]:
        """Names of the view arrays in the file (``global_view`` -> ``global``), read cheaply."""
        path = self.files["catalog"]
        if path.suffix.lower() == ".npz":
            import zipfile
            with zipfile.ZipFile(path) as z:
                keys = [n[:-4] for n in z.namelist()]
        else:
            import h5py
            with h5py.File(path, "r") as h5:
                keys = list(h5.keys())
        return [k[: -len("_view")] for k in keys if k.endswith("_view")]

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
        self.root = Path(cfg["results"]) / "archive" / self.name

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


SOURCES = {"simulated": SimulatedSource, "local": LocalSource, "views": ViewsSource,
           "kepler_dr24": KeplerArchiveSource, "kepler_dr25": KeplerArchiveSource}
ARCHIVE_SOURCES = ("kepler_dr24", "kepler_dr25")


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
    """The source's normalized TCE table, restricted to catalog.targets when given."""
    tces, rejected = get_source(cfg).normalize(files)
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

"""Catalog sources: the pluggable part that turns a data release into the normalized TCE table
and says where each star's light curves are (or obtains them).

Adding a source means adding a class with the three methods below and registering it in
``SOURCES``; nothing after the catalog stage changes.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..config import survey_hash
from .kepler import load_dr24


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


SOURCES = {"simulated": SimulatedSource, "local": LocalSource}


def get_source(cfg: dict):
    return SOURCES[cfg["catalog"]["source"]](cfg)

"""The embedded simulated survey, written in the archives' own formats.

``population`` draws stars and TCEs (with a separate ground-truth table), ``signals`` holds the
astrophysical and instrumental signal models, ``kepler_fits`` writes Kepler long-cadence
light-curve files exactly laid out as MAST serves them. The pipeline then reads them with the
same code that reads real Kepler data.
"""

from .population import KEPLER_QUARTERS, SimulatedSurvey, draw_survey, write_catalog_files

__all__ = ["KEPLER_QUARTERS", "SimulatedSurvey", "draw_survey", "write_catalog_files"]

"""Light curves: MAST's file layout (``mast``), the one FITS reader (``reader``) and per-shard
location or generation of each star's files (``obtain``)."""

from .reader import LightCurve, LightCurveError, read_kepler_lightcurve

__all__ = ["LightCurve", "LightCurveError", "read_kepler_lightcurve"]

"""ExoSieve: vetting transit signals (threshold crossing events) with a multi-branch CNN.

The package follows the data: ``catalog`` (TCE tables) -> ``lightcurves`` (reading and obtaining
light curves) -> ``detrend`` and ``views`` -> ``features`` -> ``shards`` and ``folds`` -> ``models``
-> ``training`` -> ``evaluation`` and ``report``. ``simulate`` writes the embedded simulated
survey in the archives' own formats. The Snakemake workflow around it lives in ``Snakefile`` and
``rules/``; this package never imports Snakemake.
"""

__version__ = "0.2.0"


def __getattr__(name: str):
    """``exosieve.score``, imported on first use: the workflow imports this package in every job,
    and scoring brings astropy, torch and the readers with it."""
    if name == "score":
        from .scoring import score
        return score
    raise AttributeError(f"module 'exosieve' has no attribute {name!r}")

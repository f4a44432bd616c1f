"""ExoSieve: vetting transit signals (threshold crossing events) with a multi-branch CNN.

The package follows the data: ``catalog`` (TCE tables) -> ``lightcurves`` (reading and obtaining
light curves) -> ``detrend`` and ``views`` -> ``features`` -> ``shards`` and ``folds`` -> ``models``
-> ``training`` -> ``evaluation`` and ``report``. ``simulate`` writes the embedded simulated
survey in the archives' own formats. The Snakemake workflow around it lives in ``Snakefile`` and
``rules/``; this package never imports Snakemake.
"""

__version__ = "0.2.0"
# The model-file format (exosieve.evaluation): 2 = weights-only file, trees as arrays, calibration,
# settings; 3 = raw_flux with one tower per channel. Here, light to import, because the
# workflow's training settings include it (a new format retrains).
MODEL_FORMAT = 3

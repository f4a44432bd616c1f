# Thin entry point: rule lightcurves -> exosieve.lightcurves.obtain.
import logging

from exosieve.catalog.sources import get_source
from exosieve.config import job_config
from exosieve.lightcurves.obtain import write_lightcurve_index
from exosieve.utils import setup_logging

setup_logging(snakemake.log[0])
counts = write_lightcurve_index(get_source(job_config(snakemake.params.settings, snakemake.params.operational)),
                                snakemake.input.targets,
                                snakemake.output.index, snakemake.output.failures)
logging.getLogger("exosieve").info("shard %s light curves: %s", snakemake.wildcards.shard, counts)

# Thin entry point: rules simulate_survey_catalog / download_catalog -> the source's raw catalog.
from exosieve.catalog.sources import get_source
from exosieve.utils import setup_logging

setup_logging(snakemake.log[0])
get_source(snakemake.config).write_raw_catalog()

# Thin entry point: rules simulate_survey_catalog / download_catalog -> the source's raw catalog.
from exosieve.catalog.sources import get_source
from exosieve.config import job_config
from exosieve.utils import setup_logging

setup_logging(snakemake.log[0])
get_source(job_config(snakemake.params.settings, snakemake.params.get("operational"))).write_raw_catalog()

# Thin entry point: rule catalog -> the source's normalizer -> results/catalog/tces.csv.
import logging
from pathlib import Path

from exosieve.catalog import write_normalized
from exosieve.catalog.sources import build_catalog
from exosieve.utils import setup_logging

setup_logging(snakemake.log[0])
files = {k: Path(v) for k, v in snakemake.input.items() if k not in ("targets", "exclude")}  # tracked, read via the settings
tces, rejected = build_catalog(snakemake.params.settings, files)
write_normalized(tces, snakemake.output.tces)
write_normalized(rejected, snakemake.output.rejected)
logging.getLogger("exosieve").info("catalog: %d TCEs on %d stars; %d rejected (see %s)", len(tces),
                                   tces.star_id.nunique(), len(rejected), snakemake.output.rejected)

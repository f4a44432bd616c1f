# Thin entry point: rule import_views -> exosieve.catalog.views_dataset.write_views_shard.
import logging

from exosieve.catalog.views_dataset import write_views_shard
from exosieve.utils import setup_logging

setup_logging(snakemake.log[0])
settings = snakemake.params.settings
n = write_views_shard(settings["catalog"]["path"], snakemake.input.targets, settings,
                      snakemake.wildcards.shard, snakemake.output.shard, snakemake.output.failures)
logging.getLogger("exosieve").info("shard %s: %d TCEs imported", snakemake.wildcards.shard, n)

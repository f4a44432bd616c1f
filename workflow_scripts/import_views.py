# Thin entry point: rule import_views -> exosieve.catalog.views_dataset.write_views_shard.
import logging

from exosieve.catalog.views_dataset import write_views_shard
from exosieve.utils import setup_logging

setup_logging(snakemake.log[0])
n = write_views_shard(snakemake.config["catalog"]["path"], snakemake.input.targets, snakemake.config,
                      snakemake.wildcards.shard, snakemake.output.shard, snakemake.output.failures)
logging.getLogger("exosieve").info("shard %s: %d TCEs imported", snakemake.wildcards.shard, n)

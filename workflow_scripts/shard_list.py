# Thin entry point: rule shard_list -> exosieve.shards.write_shard_list.
import logging

from exosieve.shards import write_shard_list
from exosieve.utils import setup_logging

setup_logging(snakemake.log[0])
table = write_shard_list(list(snakemake.input.shards), snakemake.output.shard_list)
logging.getLogger("exosieve").info("%d shards, %d TCEs, %.1f MB", len(table), table.n_tces.sum(),
                                   table.bytes.sum() / 2**20)

# Thin entry point: rule train -> exosieve.training.train_fold.
import logging

from exosieve.shards import read_shard_list
from exosieve.training import train_fold
from exosieve.utils import setup_logging

setup_logging(snakemake.log[0])
result = train_fold(read_shard_list(snakemake.input.shard_list), snakemake.input.folds, int(snakemake.wildcards.fold),
                    snakemake.config, snakemake.params.out_dir, model=snakemake.wildcards.model,
                    progress=False, scores_csv=snakemake.output.scores)
logging.getLogger("exosieve").info("trained: %s", result)

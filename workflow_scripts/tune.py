# Thin entry point: rule tune_fold -> exosieve.tuning.tune_fold.
import logging

from exosieve.config import job_config
from exosieve.shards import read_shard_list
from exosieve.tuning import tune_fold
from exosieve.utils import setup_logging

setup_logging(snakemake.log[0])
summary = tune_fold(read_shard_list(snakemake.input.shard_list), snakemake.input.folds, int(snakemake.wildcards.fold),
                    job_config(snakemake.params.settings, snakemake.params.operational), snakemake.wildcards.model, snakemake.params.out_dir)
logging.getLogger("exosieve").info("tuned: %s", summary)

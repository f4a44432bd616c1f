# Thin entry point: rule train -> exosieve.training.train_fold, with the fold's tuned settings when
# models.<name>.from_tuning asks for them.
import logging

from exosieve.config import job_config
from exosieve.shards import read_shard_list
from exosieve.training import train_fold
from exosieve.tuning import tuned_config
from exosieve.utils import setup_logging

setup_logging(snakemake.log[0])
model, fold = snakemake.wildcards.model, int(snakemake.wildcards.fold)
cfg = tuned_config(job_config(snakemake.params.settings, snakemake.params.operational), model, fold)
result = train_fold(read_shard_list(snakemake.input.shard_list), snakemake.input.folds, fold, cfg,
                    snakemake.params.out_dir, model=model, progress=False, scores_csv=snakemake.output.scores)
logging.getLogger("exosieve").info("trained: %s", result)

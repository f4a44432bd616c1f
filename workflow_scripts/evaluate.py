# Thin entry point: rule evaluate -> exosieve.evaluation.evaluate_fold.
from exosieve.evaluation import evaluate_fold
from exosieve.utils import setup_logging

setup_logging(snakemake.log[0])
evaluate_fold(snakemake.input.model, list(snakemake.input.shards), snakemake.input.folds,
              int(snakemake.wildcards.fold), snakemake.output.scores, snakemake.config)

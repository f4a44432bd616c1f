# Thin entry point: rule score_with_models -> exosieve.evaluation.score_fold_with (models.from).
from exosieve.evaluation import score_fold_with
from exosieve.model_files import load_models
from exosieve.shards import read_shard_list
from exosieve.utils import setup_logging

setup_logging(snakemake.log[0])
models = load_models(snakemake.params.source, [snakemake.wildcards.model]).fold_models(snakemake.wildcards.model)
score_fold_with(models, read_shard_list(snakemake.input.shard_list), snakemake.input.folds,
                int(snakemake.wildcards.fold), snakemake.output.scores, snakemake.params.settings)

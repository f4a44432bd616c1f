# Thin entry point: rule score_test_set -> exosieve.evaluation.score_test_set.
from exosieve.evaluation import score_test_set
from exosieve.utils import setup_logging

setup_logging(snakemake.log[0])
score_test_set(list(snakemake.input.models), snakemake.config["evaluation"]["test_path"], snakemake.output.scores,
               snakemake.config)

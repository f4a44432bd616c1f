# Thin entry point: rule folds -> exosieve.folds.assign_folds.
from exosieve.catalog import read_normalized
from exosieve.folds import assign_folds
from exosieve.utils import atomic_output, setup_logging

setup_logging(snakemake.log[0])
folds = assign_folds(read_normalized(snakemake.input.tces), snakemake.params.folds, snakemake.params.seed,
                     snakemake.params.trains)
with atomic_output(snakemake.output.folds, ".csv") as tmp:
    folds.to_csv(tmp, index=False)

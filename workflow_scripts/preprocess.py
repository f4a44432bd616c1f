# Thin entry point: rule preprocess -> exosieve.preprocess.preprocess_shard.
from exosieve.preprocess import preprocess_shard
from exosieve.utils import setup_logging

setup_logging(snakemake.log[0])
preprocess_shard(snakemake.input.targets, snakemake.input.index, snakemake.params.settings,
                 snakemake.wildcards.shard, snakemake.output.shard, snakemake.output.failures,
                 lightcurve_failures=snakemake.input.lc_failures)

# Thin entry point: checkpoint assign_shards -> exosieve.shards.assign_shards.
from exosieve.shards import assign_shards
from exosieve.utils import atomic_output, setup_logging

setup_logging(snakemake.log[0])
manifest = assign_shards(snakemake.input.tces, snakemake.params.shards,
                         snakemake.params.targets_dir)
with atomic_output(snakemake.output.manifest, ".csv") as tmp:
    manifest.to_csv(tmp, index=False)

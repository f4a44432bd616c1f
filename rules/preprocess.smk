# Preprocess stage: per shard, detrend, fold and bin every TCE into views and scalar features.


if config["catalog"]["source"] != "views":

    rule preprocess:
        input:
            targets=shard_targets,
            index=f"{R}/lightcurves/{{shard}}.csv",
            lc_failures=f"{R}/lightcurves/{{shard}}.failures.csv",
        # update(): Snakemake keeps the shard it replaces (and restores it if the job fails), so a
        # rerun keeps the rows of stars whose inputs did not change (exosieve/preprocess.py).
        output:
            shard=update(f"{R}/shards/{{shard}}.h5"),
            failures=update(f"{R}/shards/{{shard}}.failures.csv"),
        params:
            code=CODE["preprocess"],
            settings=PREPROCESS_SETTINGS,
        group: "shard"
        log:
            f"{R}/logs/preprocess/{{shard}}.log",
        benchmark:
            f"{R}/benchmarks/preprocess/{{shard}}.tsv"
        threads: 1
        resources:
            mem_mb=config["resources"]["preprocess_mem_mb"],
            # One star at a time, so memory stays flat; time grows with the shard's TCEs.
            runtime=lambda wc, input: cluster.shard_job_runtime(input.targets, RUNTIME, download=False),
        conda:
            ENV
        script:
            "../workflow_scripts/preprocess.py"

else:

    # Precomputed views: each shard takes its TCEs' rows of the file as they are.
    rule import_views:
        input:
            targets=shard_targets,
            views=list(SOURCE.raw_catalog_files().values()),
        output:
            shard=f"{R}/shards/{{shard}}.h5",
            failures=f"{R}/shards/{{shard}}.failures.csv",
        params:
            code=CODE["import_views"],
            settings=PREPROCESS_SETTINGS,
        group: "shard"
        log:
            f"{R}/logs/import_views/{{shard}}.log",
        benchmark:
            f"{R}/benchmarks/import_views/{{shard}}.tsv"
        threads: 1
        resources:
            mem_mb=config["resources"]["preprocess_mem_mb"],
            runtime=RUNTIME,
        conda:
            ENV
        script:
            "../workflow_scripts/import_views.py"

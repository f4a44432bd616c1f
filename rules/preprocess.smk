# Preprocess stage: per shard, detrend, fold and bin every TCE into views and scalar features.


if config["catalog"]["source"] != "views":

    rule preprocess:
        input:
            targets=shard_targets,
            index=L.lightcurve_index("{shard}"),
            lc_failures=L.lightcurve_failures("{shard}"),
        # update(): Snakemake keeps the shard it replaces (and restores it if the job fails), so a
        # rerun keeps the rows of stars whose inputs did not change (exosieve/preprocess.py).
        output:
            shard=update(L.shard("{shard}")),
            failures=update(L.shard_failures("{shard}")),
        params:
            code=CODE["preprocess"],
            settings=settings("preprocess"),
        group: "shard"
        log:
            L.log("preprocess", "{shard}"),
        benchmark:
            L.benchmark("preprocess", "{shard}")
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
            shard=L.shard("{shard}"),
            failures=L.shard_failures("{shard}"),
        params:
            code=CODE["import_views"],
            settings=settings("import_views"),
        group: "shard"
        log:
            L.log("import_views", "{shard}"),
        benchmark:
            L.benchmark("import_views", "{shard}")
        threads: 1
        resources:
            mem_mb=config["resources"]["preprocess_mem_mb"],
            runtime=RUNTIME,
        conda:
            ENV
        script:
            "../workflow_scripts/import_views.py"

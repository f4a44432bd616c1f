# Light-curve stage: per shard, locate (local), generate (simulated) or download (archive sources,
# into the shared cache) every star's FITS files.


# The views source has no light curves.
if config["catalog"]["source"] != "views":

    rule lightcurves:
        input:
            unpack(lightcurve_inputs),
        output:
            index=L.lightcurve_index("{shard}"),
            failures=L.lightcurve_failures("{shard}"),
        params:
            code=CODE["lightcurves"],
            # With offline among them: going online after an offline run fetches what the cache lacked.
            settings=settings("lightcurves"),
            operational=operational,
            root=str(SOURCE.lightcurve_root()),
            sectors=lightcurve_sectors,
            files=lightcurve_files_digest,
        # Archive downloads run on the submitting host unless compute nodes have internet; otherwise
        # (and for local or simulated light curves) each shard's light curves and preprocessing are one
        # cluster job.
        localrule: DOWNLOAD_LOCALLY
        group: None if DOWNLOAD_LOCALLY else "shard"
        log:
            L.log("lightcurves", "{shard}"),
        benchmark:
            L.benchmark("lightcurves", "{shard}")
        threads: 1
        resources:
            mem_mb=1000,
            runtime=lambda wc, input: cluster.shard_job_runtime(
                input.targets, RUNTIME, download=config["catalog"]["source"] in ARCHIVE_SOURCES
            ),
        conda:
            ENV
        script:
            "../workflow_scripts/lightcurves.py"

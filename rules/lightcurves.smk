# Light-curve stage: per shard, locate (local), generate (simulated) or download (archive sources,
# into the shared cache) every star's FITS files.


# The views source has no light curves.
if config["catalog"]["source"] != "views":

    def lightcurve_inputs(wildcards):
        inputs = {"targets": shard_targets(wildcards)}
        if config["catalog"]["source"] == "simulated":
            files = SOURCE.raw_catalog_files()
            inputs.update(stars=str(files["stars"]), truth=str(files["truth"]))
        if config["catalog"]["source"] == "tess_spoc":
            # its sector runs say which sectors' light curves each star has
            inputs["runs"] = str(SOURCE.raw_catalog_files()["catalog"])
        return inputs


    rule lightcurves:
        input:
            unpack(lightcurve_inputs),
        output:
            index=f"{R}/lightcurves/{{shard}}.csv",
            failures=f"{R}/lightcurves/{{shard}}.failures.csv",
        params:
            root=str(SOURCE.lightcurve_root()),
            # Going online after an offline run must fetch what the cache lacked.
            offline=config["offline"],
        # Archive downloads run on the submitting host unless compute nodes have internet; otherwise
        # (and for local or simulated light curves) each shard's light curves and preprocessing are one
        # cluster job.
        localrule: DOWNLOAD_LOCALLY
        group: None if DOWNLOAD_LOCALLY else "shard"
        log:
            f"{R}/logs/lightcurves/{{shard}}.log",
        benchmark:
            f"{R}/benchmarks/lightcurves/{{shard}}.tsv"
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

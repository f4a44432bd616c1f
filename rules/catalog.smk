# Catalog stage: the source's raw catalog becomes the normalized internal TCE table.

if config["catalog"]["source"] == "simulated":

    rule simulate_survey_catalog:
        output:
            **{k: str(v) for k, v in SOURCE.raw_catalog_files().items()},
        params:
            code=CODE["raw_catalog"],
            settings=settings("simulate_survey"),
        # Seconds of work: run on the submitting host, not as a cluster job.
        localrule: True
        log:
            L.log("simulate_survey_catalog"),
        benchmark:
            L.benchmark("simulate_survey_catalog")
        threads: 1
        resources:
            mem_mb=1000,
            runtime=RUNTIME,
        conda:
            ENV
        script:
            "../workflow_scripts/raw_catalog.py"


if config["catalog"]["source"] in ARCHIVE_SOURCES:

    # The archive's tables, fetched once; rerun with `--forcerun download_catalog` after a
    # catalog update at the archive.
    rule download_catalog:
        output:
            **{k: str(v) for k, v in SOURCE.raw_catalog_files().items()},
        params:
            code=CODE["raw_catalog"],
            settings=settings("download_catalog"),
            operational=operational,
        # Downloads run where the internet is (resources.nodes_have_internet).
        localrule: DOWNLOAD_LOCALLY
        log:
            L.log("download_catalog"),
        benchmark:
            L.benchmark("download_catalog")
        threads: 1
        resources:
            mem_mb=2000,
            runtime=RUNTIME,
        conda:
            ENV
        script:
            "../workflow_scripts/raw_catalog.py"


rule catalog:
    input:
        **{k: str(v) for k, v in SOURCE.raw_catalog_files().items() if k not in ("truth", "stars")},
        # A catalog.targets file is an input: editing it reruns the catalog (and what changed after).
        **({"targets": config["catalog"]["targets"]} if isinstance(config["catalog"]["targets"], str) else {}),
        **({"exclude": config["catalog"]["exclude"]} if isinstance(config["catalog"]["exclude"], str) else {}),
    output:
        tces=L.tces(),
        rejected=L.rejected(),
    params:
        code=CODE["catalog"],
        settings=settings("catalog"),
    # Seconds of work: run on the submitting host, not as a cluster job.
    localrule: True
    log:
        L.log("catalog"),
    benchmark:
        L.benchmark("catalog")
    threads: 1
    resources:
        mem_mb=2000,
        runtime=RUNTIME,
    conda:
        ENV
    script:
        "../workflow_scripts/catalog.py"

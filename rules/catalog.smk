# Catalog stage: the source's raw catalog becomes the normalized internal TCE table.

if config["catalog"]["source"] == "simulated":

    rule simulate_survey_catalog:
        output:
            **{k: str(v) for k, v in SOURCE.raw_catalog_files().items()},
        params:
            survey=config["survey"],
        log:
            f"{R}/logs/simulate_survey_catalog.log",
        benchmark:
            f"{R}/benchmarks/simulate_survey_catalog.tsv"
        threads: 1
        resources:
            mem_mb=1000,
            runtime=RUNTIME,
        conda:
            ENV
        script:
            "../workflow_scripts/simulate_catalog.py"


rule catalog:
    input:
        **{k: str(v) for k, v in SOURCE.raw_catalog_files().items() if k in ("catalog", "stellar")},
    output:
        tces=f"{R}/catalog/tces.csv",
        rejected=f"{R}/catalog/rejected.csv",
    params:
        source=config["catalog"]["source"],
        labels=config["catalog"]["labels"],
    log:
        f"{R}/logs/catalog.log",
    benchmark:
        f"{R}/benchmarks/catalog.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=RUNTIME,
    conda:
        ENV
    script:
        "../workflow_scripts/catalog.py"

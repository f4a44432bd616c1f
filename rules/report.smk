# Report stage: metrics, curves, vetted catalog and index.html in results/report/.


def report_extras(wildcards):
    extras = {}
    if config["catalog"]["source"] == "simulated":
        extras["truth"] = str(SOURCE.raw_catalog_files()["truth"])
    if config["evaluation"]["test_path"]:
        extras["test_scores"] = expand(f"{R}/test_set/{{model}}/scores.csv", model=MODELS)
    return extras


rule report:
    input:
        unpack(report_extras),
        tces=f"{R}/catalog/tces.csv",
        rejected=f"{R}/catalog/rejected.csv",
        folds=f"{R}/folds/folds.csv",
        scores=expand(f"{R}/scores/{{model}}/fold_{{fold}}.csv", model=MODELS, fold=FOLDS),
        # Trained here: each fold's per-epoch history (none with models.from).
        histories=[] if FROM else expand(f"{R}/models/{{model}}/fold_{{fold}}/metrics.csv", model=MODELS, fold=FOLDS),
        shard_list=f"{R}/shards/shard_list.csv",
    output:
        REPORT_FILES,
    params:
        report=config["report"],
        # The primary model is behind the vetted catalog, the explanations and the sheets.
        primary=PRIMARY,
        out_dir=f"{R}/report",
    # A few plots from small tables: run on the submitting host.
    localrule: True
    log:
        f"{R}/logs/report.log",
    benchmark:
        f"{R}/benchmarks/report.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=RUNTIME,
    conda:
        ENV
    script:
        "../workflow_scripts/report.py"

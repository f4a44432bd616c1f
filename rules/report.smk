# Report stage: metrics, curves, vetted catalog and index.html in results/report/.


def report_truth(wildcards):
    if config["catalog"]["source"] == "simulated":
        return {"truth": str(SOURCE.raw_catalog_files()["truth"])}
    return {}


rule report:
    input:
        unpack(report_truth),
        tces=f"{R}/catalog/tces.csv",
        rejected=f"{R}/catalog/rejected.csv",
        folds=f"{R}/folds/folds.csv",
        scores=expand(f"{R}/scores/fold_{{fold}}.csv", fold=FOLDS),
        histories=expand(f"{R}/models/fold_{{fold}}/metrics.csv", fold=FOLDS),
        failures=expand(f"{R}/shards/{{shard}}.failures.csv", shard=SHARDS),
    output:
        REPORT_FILES,
    params:
        report=config["report"],
        out_dir=f"{R}/report",
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

# Folds stage: k folds stratified by label and grouped by star, deterministic from cv.seed.


rule folds:
    input:
        tces=L.tces(),
    output:
        folds=L.folds(),
    params:
        code=CODE["folds"],
        folds=config["cv"]["folds"],
        seed=config["cv"]["seed"],
        # models.from: nothing trains, the folds only split the scoring (a one-class catalog is fine)
        trains=not config["models"].get("from"),
    # Seconds of work: run on the submitting host, not as a cluster job.
    localrule: True
    log:
        L.log("folds"),
    benchmark:
        L.benchmark("folds")
    threads: 1
    resources:
        mem_mb=1000,
        runtime=RUNTIME,
    conda:
        ENV
    script:
        "../workflow_scripts/folds.py"

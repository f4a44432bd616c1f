# Scoring named targets with a finished run: `snakemake --cores 2 predict --config 'predict={targets: [757450]}'`.


rule predict:
    input:
        models=[f for m in MODELS for f in FROM_FILES[m]] if FROM else expand(L.model_file("{model}", "{fold}"), model=MODELS, fold=FOLDS),
    output:
        scores=L.predictions(),
    params:
        code=CODE["predict"],
        settings=settings("predict"),
        operational=operational,
        targets=config["predict"]["targets"],
    # It may download light curves: it runs where the internet is (resources.nodes_have_internet).
    localrule: DOWNLOAD_LOCALLY
    log:
        L.log("predict"),
    benchmark:
        L.benchmark("predict")
    threads: 1
    resources:
        mem_mb=2000,
        runtime=RUNTIME,
    conda:
        ENV
    script:
        "../workflow_scripts/predict.py"

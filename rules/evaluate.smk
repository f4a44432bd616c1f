# Evaluate stage: each fold's model scores its test fold and every unlabelled TCE.


rule evaluate:
    input:
        model=f"{R}/models/fold_{{fold}}/model.pt",
        shards=expand(f"{R}/shards/{{shard}}.h5", shard=SHARDS),
        folds=f"{R}/folds/folds.csv",
    output:
        scores=f"{R}/scores/fold_{{fold}}.csv",
    log:
        f"{R}/logs/evaluate/fold_{{fold}}.log",
    benchmark:
        f"{R}/benchmarks/evaluate/fold_{{fold}}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=RUNTIME,
    conda:
        ENV
    script:
        "../workflow_scripts/evaluate.py"

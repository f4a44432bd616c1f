# Train stage: one job per fold; GPU with mixed precision when present, CPU otherwise.


rule train:
    input:
        shards=expand(f"{R}/shards/{{shard}}.h5", shard=SHARDS),
        folds=f"{R}/folds/folds.csv",
    output:
        model=f"{R}/models/fold_{{fold}}/model.pt",
        history=f"{R}/models/fold_{{fold}}/metrics.csv",
    params:
        settings=TRAIN_SETTINGS,
        out_dir=f"{R}/models/fold_{{fold}}",
    log:
        f"{R}/logs/train/fold_{{fold}}.log",
    benchmark:
        f"{R}/benchmarks/train/fold_{{fold}}.tsv"
    threads: config["training"]["threads"]
    resources:
        mem_mb=config["resources"]["train_mem_mb"],
        runtime=RUNTIME,
        gpu=config["resources"]["train_gpus"],
    conda:
        ENV
    script:
        "../workflow_scripts/train.py"

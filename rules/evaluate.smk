# Evaluate stage: each (model, fold) scores its test fold and every unlabelled TCE, with branch
# attributions by occlusion for the CNNs.


rule evaluate:
    input:
        model=f"{R}/models/{{model}}/fold_{{fold}}/model.pt",
        shards=shard_paths(f"{R}/shards/{{shard}}.h5"),
        folds=f"{R}/folds/folds.csv",
    output:
        scores=f"{R}/scores/{{model}}/fold_{{fold}}.csv",
    wildcard_constraints:
        model="|".join(MODELS),
    log:
        f"{R}/logs/evaluate/{{model}}/fold_{{fold}}.log",
    benchmark:
        f"{R}/benchmarks/evaluate/{{model}}/fold_{{fold}}.tsv"
    threads: 1
    resources:
        mem_mb=lambda wc, input: cluster.evaluate_mem_mb(cluster.count_rows(input.folds), 2000),
        runtime=RUNTIME,
    conda:
        ENV
    script:
        "../workflow_scripts/evaluate.py"


# An external test set (evaluation.test_path): each model's fold ensemble scores it.
rule score_test_set:
    input:
        models=expand(f"{R}/models/{{{{model}}}}/fold_{{fold}}/model.pt", fold=FOLDS),
        test=config["evaluation"]["test_path"] or [],
    output:
        scores=f"{R}/test_set/{{model}}/scores.csv",
    wildcard_constraints:
        model="|".join(MODELS),
    log:
        f"{R}/logs/score_test_set/{{model}}.log",
    benchmark:
        f"{R}/benchmarks/score_test_set/{{model}}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=RUNTIME,
    conda:
        ENV
    script:
        "../workflow_scripts/score_test_set.py"

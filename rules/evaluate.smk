# Evaluate stage: out-of-fold scores come from the train jobs (each scores its test fold and the
# unlabelled TCEs); an external test set is scored here.


# An external test set (evaluation.test_path): each model's fold ensemble scores it.
rule score_test_set:
    input:
        models=(lambda wc: FROM_FILES[wc.model]) if FROM else expand(f"{R}/models/{{{{model}}}}/fold_{{fold}}/model.pt", fold=FOLDS),
        test=views_paths(config["evaluation"]["test_path"]) if config["evaluation"]["test_path"] else [],
    output:
        scores=f"{R}/test_set/{{model}}/scores.csv",
    params:
        code=CODE["score_test_set"],
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

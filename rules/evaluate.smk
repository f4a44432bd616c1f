# Evaluate stage: out-of-fold scores come from the train jobs (each scores its test fold and the
# unlabelled TCEs); an external test set is scored here.


# An external test set (evaluation.test_path): each model's fold ensemble scores it.
rule score_test_set:
    input:
        models=(lambda wc: FROM_FILES[wc.model]) if FROM else expand(L.model_file("{{model}}", "{fold}"), fold=FOLDS),
        test=views_paths(config["evaluation"]["test_path"]) if config["evaluation"]["test_path"] else [],
    output:
        scores=L.test_set_scores("{model}"),
    params:
        code=CODE["score_test_set"],
        settings=settings("score_test_set"),
    wildcard_constraints:
        model="|".join(MODELS),
    log:
        L.log("score_test_set", "{model}"),
    benchmark:
        L.benchmark("score_test_set", "{model}")
    threads: 1
    resources:
        mem_mb=2000,
        runtime=RUNTIME,
    conda:
        ENV
    script:
        "../workflow_scripts/score_test_set.py"
